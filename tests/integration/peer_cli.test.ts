/**
 * The peer and tracker command lines, run as a user runs them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("peer --help prints the usage and exits 0", async () => {
  const result = await h.spawnDeno(h.PEER_MAIN, ["--help"]).done();
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--tracker HOST:PORT --seed FILE/);
  assert.match(result.stdout, /--get NAME\|ID/);
});

Deno.test("peer with an unknown flag exits 2 with one line", async () => {
  const result = await h.spawnDeno(h.PEER_MAIN, ["--frobnicate"]).done();
  assert.equal(result.code, 2);
  assert.equal(result.stderr.trim().split("\n").length, 1);
  assert.match(result.stderr, /^error: .*frobnicate/);
});

Deno.test("peer --get of a name the tracker does not know exits 3", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const result = await h.spawnLeecher(
    tracker,
    "nothing-here.iso",
    dir.path,
    null,
  ).done();
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /No file called nothing-here\.iso/);
});

Deno.test("peer --get of a name that two files share exits 4 and lists both ids", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  await Deno.mkdir(join(dir.path, "a"));
  await Deno.mkdir(join(dir.path, "b"));
  await h.makeFile(join(dir.path, "a", "same.bin"), 1000, 1);
  await h.makeFile(join(dir.path, "b", "same.bin"), 2000, 2);
  const seeder = await h.startSeeder(tracker, [
    join(dir.path, "a", "same.bin"),
    join(dir.path, "b", "same.bin"),
  ], join(dir.path, "s"));
  try {
    const result = await h.spawnLeecher(
      tracker,
      "same.bin",
      join(dir.path, "out"),
      null,
    ).done();
    assert.equal(result.code, 4, result.stderr);
    const ids = seeder.lines.flatMap((line) =>
      line.match(/id ([0-9a-f]{64})/)?.[1] ?? []
    );
    assert.equal(ids.length, 2);
    for (const id of ids) {
      assert.ok(
        result.stderr.includes(id),
        `${id} missing from: ${result.stderr}`,
      );
    }
    // Asking by id picks one of them.
    const byId = await h.spawnLeecher(
      tracker,
      ids[1]!,
      join(dir.path, "out"),
      null,
    ).done();
    assert.equal(byId.code, 0, byId.stderr);
    await h.assertSameFile(
      join(dir.path, "out", "same.bin"),
      join(dir.path, "b", "same.bin"),
    );
  } finally {
    await seeder.stop();
  }
});

Deno.test("peer --get with no tracker listening exits 7 with a clear reason", async () => {
  await using dir = await h.tempDir();
  const silent = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const port = (silent.addr as Deno.NetAddr).port;
  const result = await h.spawnDeno(h.PEER_MAIN, [
    "--tracker",
    `127.0.0.1:${port}`,
    "--get",
    "x.bin",
    "--out",
    dir.path,
    "--no-seed",
  ]).done(30_000).finally(() => silent.close());
  assert.equal(result.code, 7, result.stderr);
  assert.match(result.stderr, /tracker/i);
});

Deno.test("deno task peer works from another folder with relative paths", async () => {
  await using dir = await h.tempDir();
  await h.makeFile(join(dir.path, "hello.txt"), 70_000, 9);
  // deno task sets INIT_CWD to the caller's folder; paths must resolve there.
  const tracker = h.spawnDeno(h.TRACKER_MAIN, [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], { permissions: ["--allow-net"] });
  try {
    const [, port] = await tracker.waitFor(/udp:\/\/127\.0\.0\.1:(\d+)/);
    const seeder = runTask(dir.path, [
      "peer",
      "--tracker",
      `127.0.0.1:${port}`,
      "--seed",
      "hello.txt",
      "--out",
      "seedstate",
    ]);
    try {
      await seeder.waitFor(/serving peers on port/);
      const leecher = runTask(dir.path, [
        "peer",
        "--tracker",
        `127.0.0.1:${port}`,
        "--get",
        "hello.txt",
        "--out",
        "got",
        "--no-seed",
      ]);
      const result = await leecher.done(60_000);
      assert.equal(result.code, 0, result.stderr);
      await h.assertSameFile(
        join(dir.path, "got", "hello.txt"),
        join(dir.path, "hello.txt"),
      );
      await Deno.stat(join(dir.path, "seedstate", ".shoal", "seeds.json"));
    } finally {
      await seeder.stop();
    }
  } finally {
    await tracker.stop();
  }
});

function runTask(cwd: string, args: string[]) {
  // A clean environment: deno task keeps an INIT_CWD it inherits (from an outer `deno task test`).
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  const home = Deno.env.get("HOME");
  if (home) env.HOME = home;
  return h.spawnDenoWith(
    ["task", "--config", join(ROOT, "deno.json"), ...args],
    {
      cwd,
      env,
      clearEnv: true,
    },
  );
}
