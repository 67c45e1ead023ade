/**
 * End to end on loopback: a real tracker, seeders as real processes, and
 * leechers as processes (as a user runs them) or in-process (to read their
 * statistics). Every file is checked with SHA-256 against the original.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import {
  assertDownloads,
  startNodeLeecher,
  startSeeders,
} from "../_helpers/swarm.ts";

const CHUNK = 512 * 1024;

Deno.test("three seeders give a leecher a file that is not a multiple of the chunk size", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "odd.bin");
  await h.makeFile(source, 5 * CHUNK + 12_345, 7);
  const seeders = await startSeeders(tracker, source, dir.path, 3);
  try {
    const out = join(dir.path, "leech");
    const result = await assertDownloads(tracker, source, out);
    assert.match(result.stdout, /checked .*odd\.bin/);
    assert.deepEqual(await h.partFilesIn(out), []);
  } finally {
    await Promise.all(seeders.map((s) => s.stop()));
  }
});

Deno.test("a lone seeder sends each chunk once: the leecher's two connections to it never both ask for one", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "once.bin");
  // Six chunks: the endgame starts at once, where doubling up used to ask
  // the seeder's second connection for every chunk again.
  await h.makeFile(source, 6 * CHUNK - 1_000, 21);
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "seed"));
  try {
    await assertDownloads(tracker, source, join(dir.path, "leech"));
  } finally {
    await seeder.stop();
  }
  // What the seeder says it uploaded (printed as it exits): the file once.
  assert.match(seeder.lines.join("\n"), /uploaded 3\.1 MB to 1 peer\b/);
});

Deno.test("a leecher fetches chunks from several seeders at once", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "wide.bin");
  await h.makeFile(source, 48 * CHUNK, 3);
  // 4 MB/s each, with a burst of one second: one seeder alone would need
  // 6 s, so however loaded the machine, the leecher reaches the other two
  // long before the end (it asks the tracker again every 2 s meanwhile).
  const seeders = await startSeeders(tracker, source, dir.path, 3, [
    "--max-upload",
    "4M",
  ]);
  // A seeder says it serves after its first registration round, even one
  // that failed: the swarm this test is about must be there.
  assert.equal(tracker.handler.registry.stats.peers, 3);
  const node = await startNodeLeecher(tracker, join(dir.path, "leech"));
  try {
    const result = await node.download({ name: "wide.bin" }, {
      pipelineDepth: 2,
    });
    await h.assertSameFile(result.path, source);
    const sources = Object.values(result.chunksByPeer);
    assert.equal(sources.reduce((a, b) => a + b, 0), 48);
    assert.ok(
      sources.length >= 2,
      `chunks came from ${JSON.stringify(result.chunksByPeer)}`,
    );
  } finally {
    await node.close();
    await Promise.all(seeders.map((s) => s.stop()));
  }
});

Deno.test("a one-byte file and an empty file download and check", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const one = join(dir.path, "one.txt");
  const empty = join(dir.path, "empty.txt");
  await Deno.writeFile(one, new Uint8Array([42]));
  await Deno.writeFile(empty, new Uint8Array());
  const seeder = await h.startSeeder(
    tracker,
    [one, empty],
    join(dir.path, "seed"),
  );
  try {
    const out = join(dir.path, "leech");
    for (const name of ["one.txt", "empty.txt"]) {
      const result = await h.getFile(tracker, name, out);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        await Deno.readFile(join(out, name)),
        await Deno.readFile(join(dir.path, name)),
      );
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("a leecher seeds what it got, and a second leecher gets it after the first seeders stopped", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "relay.bin");
  await h.makeFile(source, 3 * CHUNK + 1, 11);
  const first = await h.startSeeder(tracker, [source], join(dir.path, "seed"));
  const relay = h.spawnPeer(tracker, [
    "--get",
    "relay.bin",
    "--out",
    join(dir.path, "relay"),
  ]);
  try {
    await relay.waitFor(/^checked /, 30_000);
    await relay.waitFor(/^seeding relay\.bin/, 10_000);
    assert.equal(await first.stop(), 0);
    await assertDownloads(tracker, source, join(dir.path, "second"));
  } finally {
    await first.stop();
    await relay.stop();
  }
});

Deno.test("a download completes when one seeder is killed in the middle", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "survive.bin");
  await h.makeFile(source, 96 * CHUNK, 5);
  const seeders = await startSeeders(tracker, source, dir.path, 2);
  const node = await startNodeLeecher(tracker, join(dir.path, "leech"));
  let killed: Promise<void> | null = null;
  let chunksAtKill = -1;
  try {
    const result = await node.download({ name: "survive.bin" }, {
      pipelineDepth: 2,
      onChunk: () => {
        chunksAtKill++;
        if (chunksAtKill === 8) killed = seeders[0]!.kill();
      },
    });
    await killed;
    assert.ok(chunksAtKill >= 8);
    await h.assertSameFile(result.path, source);
  } finally {
    await node.close();
    await Promise.all(seeders.map((s) => s.stop().catch(() => 0)));
  }
});

Deno.test("a restarted peer seeds again what it seeded before, from its --out state", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "again.bin");
  await h.makeFile(source, 2 * CHUNK + 7, 13);
  const state = join(dir.path, "seed");
  const first = await h.startSeeder(tracker, [source], state);
  assert.equal(await first.stop(), 0);
  // No --seed this time: the peer's state folder remembers the file.
  const again = await h.startSeeder(tracker, [], state);
  try {
    assert.ok(
      again.lines.some((line) => line.startsWith("seeding again.bin again")),
      again.lines.join("\n"),
    );
    await assertDownloads(tracker, source, join(dir.path, "leech"));
  } finally {
    await again.stop();
  }
});
