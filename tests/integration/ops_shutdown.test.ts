/**
 * Clean shutdown of real peer processes: SIGTERM or SIGINT makes a peer
 * leave the tracker at once (not after the TTL) and exit 0, and a download
 * stopped in the middle resumes from its checked chunks.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { partPathFor } from "../../peer/storage/part_file.ts";
import * as h from "../_helpers/mod.ts";
import { Bitfield, ManifestBuilder } from "@shoal/protocol";
import {
  loadResume,
  resumePath,
  saveResume,
} from "../../peer/storage/resume.ts";

const CHUNK_BYTES = 512 * 1024;

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`a seeder stopped with ${signal} leaves the tracker's peer list at once and exits 0`, async () => {
    await using dir = await h.tempDir();
    // A long TTL: only LEAVE can remove the peer within this test.
    await using tracker = await h.startTracker({ peerTtlMs: 600_000 });
    const source = join(dir.path, "leaving.bin");
    const seeder = await h.seedNewFile(tracker, source, 1000, 3);
    let code: number;
    try {
      assert.equal(tracker.handler.registry.stats.peers, 1);
      seeder.child.kill(signal);
    } finally {
      code = (await seeder.done(10_000)).code;
    }
    assert.equal(code, 0);
    assert.equal(tracker.handler.registry.stats.peers, 0);
    assert.equal(tracker.handler.registry.stats.files, 0);
    assert.ok(tracker.handler.counters.requests.leave >= 1);
  });
}

Deno.test("a seeder stopped with SIGINT while it hashes a large file stops at once, exits 0 and seeds nothing", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // Sparse: 32 GiB of zeros that take no disk space and a long time to hash.
  const huge = join(dir.path, "huge.bin");
  await Deno.writeFile(huge, new Uint8Array());
  await Deno.truncate(huge, 32 * 1024 ** 3);
  const seeder = h.spawnPeer(tracker, [
    "--seed",
    huge,
    "--out",
    join(dir.path, "s"),
  ]);
  await seeder.waitFor(/^hashing .*huge\.bin: [1-9]\d*%$/, 30_000);
  seeder.child.kill("SIGINT");
  // Far less than the hash would still take: a stop that waited for it fails.
  const result = await seeder.done(10_000);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^stopped hashing .*huge\.bin; /m);
  assert.doesNotMatch(result.stdout, /^seeding /m);
  assert.equal(tracker.handler.registry.stats.files, 0);
});

/** Copies bytes one way, at most `bytesPerSecond`; never throws. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  bytesPerSecond: number,
): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  const startMs = performance.now();
  let sent = 0;
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
      sent += n;
      const aheadMs = (sent / bytesPerSecond) * 1000 -
        (performance.now() - startMs);
      if (aheadMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, aheadMs));
      }
    }
  } catch {
    // The other side closed: the proxy closes both ends below.
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/**
 * A TCP proxy on 127.0.0.1 that slows the target's answers down, so a
 * download on loopback lasts long enough to be stopped in the middle.
 */
function slowProxy(targetPort: number, bytesPerSecond: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const accepting = (async () => {
    try {
      for await (const inbound of listener) {
        let outbound: Deno.Conn;
        try {
          outbound = await Deno.connect({
            hostname: "127.0.0.1",
            port: targetPort,
          });
        } catch {
          inbound.close();
          continue;
        }
        conns.add(inbound);
        conns.add(outbound);
        const stop = () => {
          closeQuietly(inbound);
          closeQuietly(outbound);
          conns.delete(inbound);
          conns.delete(outbound);
        };
        const task: Promise<void> = Promise.race([
          pump(inbound, outbound, Infinity),
          pump(outbound, inbound, bytesPerSecond),
        ]).then(stop);
        // Both pumps end once both ends are closed.
        const both = task.then(() => {}).finally(() => tasks.delete(both));
        tasks.add(both);
      }
    } catch {
      // Listener closed.
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      for (const conn of conns) closeQuietly(conn);
      await accepting;
      await Promise.all([...tasks]);
    },
  };
}

Deno.test("a leecher stopped with SIGTERM mid-download exits 0 and resumes from its checked chunks", async () => {
  await using dir = await h.tempDir();
  const size = 32 * CHUNK_BYTES + 12_345;
  const chunkCount = Math.ceil(size / CHUNK_BYTES);
  const source = join(dir.path, "resume.bin");
  await h.makeFile(source, size, 11);
  // The seeder registers with one tracker; the leecher asks another, which
  // lists only the slow proxy in front of the seeder.
  await using seederTracker = await h.startTracker();
  await using leecherTracker = await h.startTracker();
  const seeder = await h.startSeeder(
    seederTracker,
    [source],
    join(dir.path, "s"),
  );
  const proxy = slowProxy(seeder.port, 8_000_000);
  let leecher: h.RunningProcess | null = null;
  try {
    const id = seeder.lines.join("\n").match(/id ([0-9a-f]{64})/)![1]!;
    await using announcer = await h.openTrackerClient(leecherTracker);
    await announcer.register(
      crypto.getRandomValues(new Uint8Array(16)),
      proxy.port,
      [{
        id: Uint8Array.from(id.match(/../g)!, (byte) => parseInt(byte, 16)),
        name: "resume.bin",
        size,
        chunkCount,
        complete: true,
      }],
    );
    const leech = () =>
      h.spawnLeecher(leecherTracker, "resume.bin", join(dir.path, "l"), null, [
        "--json",
      ]);
    leecher = leech();
    const { line, events } = await h.stopOnceSeen(
      leecher,
      /"type":"progress".*"chunksDone":([4-9]|[12]\d)\b/,
    );
    leecher = null;
    const before = JSON.parse(line) as { chunksDone: number };
    assert.ok(events.every((event) => typeof event.type === "string"));
    assert.ok(before.chunksDone < chunkCount);

    const second = await leech().done(60_000);
    assert.equal(second.code, 0, second.stderr);
    const secondEvents = h.jsonEvents(second.stdout);
    // The chunks on disk are re-checked first, shown as "checking" with the
    // good ones counted, before any is downloaded.
    const progress = secondEvents.filter((event) =>
      event.type === "progress"
    ) as unknown as { state: string; chunksDone: number }[];
    const firstDownloading = progress.findIndex((p) =>
      p.state === "downloading"
    );
    const rechecked = progress.slice(0, firstDownloading).filter((p) =>
      p.state === "checking"
    );
    assert.ok(
      rechecked.some((p) => p.chunksDone >= before.chunksDone),
      second.stdout,
    );
    const done = h.doneEvent<{ resumedChunks: number; path: string }>(
      second.stdout,
    );
    assert.ok(
      done.resumedChunks >= before.chunksDone,
      `resumed ${done.resumedChunks}, had ${before.chunksDone}`,
    );
    assert.ok(done.resumedChunks < chunkCount);
    const expected = await h.sha256File(source);
    assert.equal(done.path, join(dir.path, "l", "resume.bin"));
    await h.assertFileHash(done.path, expected);
  } finally {
    if (leecher) await leecher.kill();
    await proxy.close();
    await seeder.stop();
  }
});

Deno.test("a leecher stopped with SIGTERM while it re-checks its chunks on disk exits 0 and keeps them all", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // Zeros, made at once: 600 MiB takes several rounds of re-checking (128
  // MiB each), so the signal lands in the middle of them.
  const size = 600 * 1024 * 1024;
  const source = join(dir.path, "recheck.bin");
  await Deno.writeFile(source, new Uint8Array(0));
  await Deno.truncate(source, size);
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
  let leecher: h.RunningProcess | null = null;
  try {
    // A download that got every chunk but the last before it stopped: the
    // part file and its resume state, as the leecher leaves them.
    const builder = new ManifestBuilder(CHUNK_BYTES);
    builder.update(new Uint8Array(size));
    const { bytes: manifestBytes, id, manifest } = builder.finish(
      "recheck.bin",
    );
    const out = join(dir.path, "l");
    await Deno.mkdir(join(out, ".shoal", "resume"), { recursive: true });
    const partPath = partPathFor(join(out, ".shoal"), id);
    await Deno.mkdir(dirname(partPath), { recursive: true });
    await Deno.writeFile(partPath, new Uint8Array(0));
    await Deno.truncate(partPath, size);
    const claimed = new Bitfield(manifest.chunkCount);
    for (let i = 0; i < manifest.chunkCount - 1; i++) claimed.set(i);
    const statePath = resumePath(join(out, ".shoal"), id);
    await saveResume(statePath, { manifestBytes, have: claimed });

    const leech = () =>
      h.spawnLeecher(tracker, "recheck.bin", out, null, ["--json"]);
    leecher = leech();
    const { result: stopped, events } = await h.stopOnceSeen(
      leecher,
      /"state":"checking"/,
    );
    leecher = null;
    // Stopped while re-checking: nothing was downloaded, and the saved state
    // still lists every chunk it listed before.
    assert.ok(
      events.every((event) => event.state !== "downloading"),
      stopped.stdout,
    );
    assert.equal(
      (await loadResume(statePath, id))!.have.count,
      claimed.count,
    );

    const second = await leech().done(60_000);
    assert.equal(second.code, 0, second.stderr);
    const done = h.doneEvent<{ resumedChunks: number }>(second.stdout);
    assert.equal(done.resumedChunks, claimed.count);
    await h.assertSameFile(join(out, "recheck.bin"), source);
  } finally {
    if (leecher) await leecher.kill();
    await seeder.stop();
  }
});

Deno.test("SIGHUP to deno task peer alone (a closed terminal or SSH session) stops the seeder it started: it leaves the tracker", async () => {
  await using dir = await h.tempDir();
  // A long TTL: only LEAVE can remove the peer within this test.
  await using tracker = await h.startTracker({ peerTtlMs: 600_000 });
  const source = join(dir.path, "hup.bin");
  await h.makeFile(source, 3 * CHUNK_BYTES, 29);
  const task = h.spawnDenoWith([
    "task",
    "peer",
    "--tracker",
    `${tracker.host}:${tracker.port}`,
    "--seed",
    source,
    "--out",
    "s",
  ], { env: { INIT_CWD: dir.path }, processGroup: true });
  try {
    await task.waitFor(/^serving peers on port/);
    assert.equal(tracker.handler.registry.stats.peers, 1);
    // To deno task alone: a peer it leaves running (orphaned) stays listed.
    task.child.kill("SIGHUP");
    await h.waitUntil(
      "the peer to leave the tracker",
      () => tracker.handler.registry.stats.peers === 0 || null,
      10_000,
    );
    const result = await task.done(10_000);
    assert.match(result.stdout, /^stopped; uploaded 0 B to 0 peers$/m);
  } finally {
    // The whole group: nothing outlives the test, even if the peer was left.
    await task.kill();
  }
});

Deno.test("Ctrl+C in a terminal (SIGINT to the whole process group of deno task peer) stops a download cleanly, and the same command resumes", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const size = 24 * CHUNK_BYTES + 999;
  const source = join(dir.path, "ctrlc.bin");
  await h.makeFile(source, size, 17);
  // A slow seeder, so the download is still going when Ctrl+C comes.
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"), [
    "--max-upload",
    "3M",
  ]);
  let leecher: h.RunningProcess | null = null;
  try {
    // As a user types it, from their own folder: deno task, the launcher,
    // then the peer, all in the terminal's foreground process group.
    const args = [
      "task",
      "peer",
      "--tracker",
      `${tracker.host}:${tracker.port}`,
      "--get",
      "ctrlc.bin",
      "--out",
      "dl",
      "--no-seed",
      "--json",
    ];
    const run = () =>
      h.spawnDenoWith(args, {
        env: { INIT_CWD: dir.path },
        processGroup: true,
      });
    leecher = run();
    const { result: first, events } = await h.stopOnceSeen(
      leecher,
      /"type":"progress".*"state":"downloading".*"chunksDone":[2-9]\b/,
      { signal: "SIGINT", group: true },
    );
    leecher = null;
    const last = events.at(-1);
    assert.match(
      String(last?.message),
      /^Stopped downloading ctrlc\.bin; run the same command to resume$/,
    );

    leecher = run();
    const second = await leecher.done(60_000);
    leecher = null;
    assert.equal(second.code, 0, second.stderr);
    const done = h.doneEvent<{ resumedChunks: number; path: string }>(
      second.stdout,
    );
    assert.ok(
      done.resumedChunks >= 2,
      `first run:\n${first.stdout}\n${first.stderr}\nsecond run:\n${second.stdout}`,
    );
    await h.assertFileHash(done.path, await h.sha256File(source));
  } finally {
    if (leecher) await leecher.kill();
    await seeder.stop();
  }
});
