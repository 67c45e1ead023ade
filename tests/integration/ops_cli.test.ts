/**
 * The tracker and peer command lines as operators and scripts use them:
 * --version, the statistics endpoints and the minute line, JSON logs on
 * stderr, a clean stop, and `--json` output on stdout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOAL_VERSION } from "../../version.ts";
import { TrackerClient } from "../../peer/tracker_client.ts";
import * as h from "../_helpers/mod.ts";

Deno.test("tracker and peer --version print the version and exit 0", async () => {
  const tracker = await h.spawnDeno(h.TRACKER_MAIN, ["--version"], {
    permissions: ["--allow-net"],
  }).done(20_000);
  assert.equal(tracker.code, 0);
  assert.equal(tracker.stdout.trim(), `shoal-tracker ${SHOAL_VERSION}`);
  const peer = await h.spawnDeno(h.PEER_MAIN, ["--version"]).done(20_000);
  assert.equal(peer.code, 0);
  assert.equal(peer.stdout.trim(), `shoal-peer ${SHOAL_VERSION}`);
});

Deno.test("tracker --stats-port serves /stats and /metrics on loopback, logs JSON stats lines, stops cleanly", async () => {
  const tracker = h.spawnDeno(h.TRACKER_MAIN, [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--stats-port",
    "0",
    "--stats-every",
    "1",
    "--log-format",
    "json",
  ], { permissions: ["--allow-net"] });
  let stderr = "";
  try {
    const [, udpPort] = await tracker.waitFor(/udp:\/\/127\.0\.0\.1:(\d+)/);
    const [, base] = await tracker.waitFor(
      /^stats on (http:\/\/127\.0\.0\.1:\d+)\/stats and /,
    );
    await using client = await TrackerClient.open({
      host: "127.0.0.1",
      port: Number(udpPort),
    });
    const file = {
      id: crypto.getRandomValues(new Uint8Array(32)),
      name: "stats.bin",
      size: 2_000_000,
      chunkCount: 4,
      complete: true,
    };
    await client.register(crypto.getRandomValues(new Uint8Array(16)), 7100, [
      file,
    ]);
    await client.register(crypto.getRandomValues(new Uint8Array(16)), 7101, [
      { ...file, complete: false },
    ]);

    const stats = await (await fetch(`${base}/stats`)).json();
    assert.equal(stats.version, SHOAL_VERSION);
    assert.equal(stats.files, 1);
    assert.equal(stats.peers, 2);
    assert.equal(stats.seeders, 1);
    assert.equal(stats.leechers, 1);
    assert.equal(stats.requests.register, 2);
    assert.ok(stats.requests.connect >= 1);
    assert.deepEqual(stats.topFiles.map((f: { name: string }) => f.name), [
      "stats.bin",
    ]);
    assert.equal(typeof stats.uptimeSeconds, "number");

    const metrics = await fetch(`${base}/metrics`);
    assert.match(metrics.headers.get("content-type")!, /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^shoal_tracker_files 1$/m);
    assert.match(text, /^shoal_tracker_peers 2$/m);
    assert.match(text, /^shoal_tracker_requests_total\{type="register"\} 2$/m);
    assert.match(text, /^# TYPE shoal_tracker_drops_total counter$/m);

    const missing = await fetch(`${base}/nothing`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    // Let one statistics line reach the log, then stop.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    tracker.child.kill("SIGINT");
    const result = await tracker.done(10_000);
    stderr = result.stderr;
    assert.equal(result.code, 0, stderr);
  }
  const logs = h.jsonEvents(stderr);
  const statsLine = logs.find((log) =>
    typeof log.message === "string" && log.message.startsWith("Stats: ")
  );
  assert.ok(statsLine, stderr);
  assert.equal(statsLine.level, "INFO");
  assert.equal(statsLine.logger, "shoal.tracker");
  assert.match(String(statsLine.message), /1 file, 2 peers/);
  assert.ok(logs.some((log) => log.message === "Tracker stopped"), stderr);
});

Deno.test("tracker rejects a bad --log-format and --stats-port with exit 2", async () => {
  for (const args of [["--log-format", "xml"], ["--stats-port", "99999"]]) {
    const result = await h.spawnDeno(h.TRACKER_MAIN, args, {
      permissions: ["--allow-net"],
    }).done(20_000);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^Cannot start tracker: /);
  }
});

/**
 * Downloads a file of `size` bytes (from `seed`) called `name` from a real
 * seeder with `--get NAME` and `flags`; the leecher must exit 0. `check`
 * looks at its output while the files are still there.
 */
async function leechOne(
  name: string,
  size: number,
  seed: number,
  flags: string[],
  check: (
    result: { stdout: string; stderr: string },
    source: string,
  ) => Promise<void> | void,
): Promise<void> {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, name);
  const seeder = await h.seedNewFile(tracker, source, size, seed);
  try {
    const result = await h.spawnLeecher(
      tracker,
      name,
      join(dir.path, "l"),
      null,
      flags,
    ).done(60_000);
    assert.equal(result.code, 0, result.stderr);
    await check(result, source);
  } finally {
    await seeder.stop();
  }
}

Deno.test("peer --get --json prints only JSON lines: progress, then done", async () => {
  const flags = ["--json", "--log-level", "debug", "--log-format", "json"];
  const size = 5 * 512 * 1024 + 3;
  await leechOne("script.bin", size, 5, flags, async (result, source) => {
    const events = h.jsonEvents(result.stdout);
    assert.ok(events.length >= 2);
    assert.ok(events.some((event) => event.type === "progress"));
    for (const event of events.slice(0, -1)) {
      assert.equal(event.type, "progress");
      for (const key of ["state", "chunksDone", "chunkCount", "peers"]) {
        assert.ok(key in event, `progress lacks ${key}`);
      }
    }
    // One seeder is one peer, however many connections go to it.
    const counts = events.slice(0, -1).map((event) => event.peers);
    assert.ok(counts.every((peers) => peers === 0 || peers === 1), `${counts}`);
    assert.ok(counts.includes(1), `${counts}`);
    const done = events.at(-1)!;
    assert.equal(done.type, "done");
    assert.equal(done.name, "script.bin");
    assert.equal(done.chunkCount, 6);
    assert.equal(done.resumedChunks, 0);
    await h.assertFileHash(String(done.path), await h.sha256File(source));
    // Debug logs went to stderr, as JSON lines with peer categories.
    const logs = h.jsonEvents(result.stderr);
    assert.ok(
      logs.every((log) => String(log.logger).startsWith("shoal.peer")),
      result.stderr,
    );
  });
});

Deno.test("peer --get --json reports each state as it begins: finding, downloading, checking, done", async () => {
  // Small: done long before the first progress tick (500 ms).
  await leechOne("states.bin", 3 * 512 * 1024 + 7, 9, ["--json"], (result) => {
    const states = h.jsonEvents(result.stdout)
      .filter((event) => event.type === "progress")
      .map((event) => String(event.state))
      // Repeats are ticks of the same state.
      .filter((state, i, all) => state !== all[i - 1]);
    assert.deepEqual(states, ["finding", "downloading", "checking", "done"]);
  });
});

Deno.test("peer --json reports failures as one JSON error line with the exit code", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const unknown = await h.spawnLeecher(tracker, "nothing.bin", dir.path, null, [
    "--json",
  ]).done(30_000);
  assert.equal(unknown.code, 3, unknown.stderr);
  const events = h.jsonEvents(unknown.stdout);
  assert.deepEqual(events.filter((event) => event.type !== "progress"), [{
    type: "error",
    code: "unknown_file",
    exitCode: 3,
    message: events.at(-1)!.message,
  }]);
  assert.match(String(events.at(-1)!.message), /nothing\.bin/);

  const usage = await h.spawnDeno(h.PEER_MAIN, ["--json", "--bogus"]).done(
    20_000,
  );
  assert.equal(usage.code, 2);
  const [error] = h.jsonEvents(usage.stdout);
  assert.equal(error?.type, "error");
  assert.equal(error?.code, "usage");
  assert.equal(error?.exitCode, 2);
});

Deno.test("peer --seed --json prints seeding and serving events, then exits 0 on SIGTERM", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "events.bin");
  await h.makeFile(source, 1234, 8);
  const seeder = h.spawnPeer(tracker, [
    "--seed",
    source,
    "--out",
    join(dir.path, "s"),
    "--json",
  ]);
  await seeder.waitFor(/"type":"serving"/);
  await h.waitUntil(
    "registration",
    () => tracker.handler.registry.stats.peers === 1 || null,
    10_000,
  );
  assert.equal(await seeder.stop(), 0);
  const events = h.jsonEvents(seeder.lines.join("\n"));
  const types = events.map((event) => event.type);
  assert.ok(types.includes("seeding"), types.join());
  assert.ok(types.includes("serving"), types.join());
  const serving = events.find((event) => event.type === "serving")!;
  assert.equal(typeof serving.port, "number");
  assert.equal(tracker.handler.registry.stats.peers, 0);
});
