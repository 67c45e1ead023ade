/**
 * Several trackers and the DHT together, as a swarm with no single point of
 * failure: seeders register with two trackers and a loopback DHT; one
 * tracker dies during a download, which finishes; a new leecher still gets
 * the file through the other tracker; then both trackers die and the DHT
 * alone carries a new download.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

/** Twelve chunks: about 6 s at the first leecher's 1 MB/s cap. */
const SIZE = 12 * 512 * 1024 + 321;

Deno.test("a swarm with two trackers survives one dying mid-download, and the DHT alone carries a download once both are gone", async () => {
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const a = await h.startTracker();
  const b = await h.startTracker();
  const trackerFlags = [
    "--tracker",
    `${a.host}:${a.port}`,
    "--tracker",
    `udp://${b.host}:${b.port}/announce`,
  ];
  const file = join(dir.path, "swarm.bin");
  await h.makeFile(file, SIZE, 9);
  const seeders = await Promise.all(
    [0, 1].map((i) =>
      h.startSeeder(null, [file], join(dir.path, `seed${i}`), [
        ...trackerFlags,
        ...dht.seederArgs,
      ])
    ),
  );
  try {
    const serving = seeders[0]!.lines.find((l) => l.startsWith("serving"))!;
    assert.match(
      serving,
      new RegExp(
        `trackers 127\\.0\\.0\\.1:${a.port}, 127\\.0\\.0\\.1:${b.port}`,
      ),
    );
    // Both trackers list the seeders.
    assert.equal(a.handler.registry.stats.peers, 2);
    assert.equal(b.handler.registry.stats.peers, 2);

    // 1. Tracker A dies while a leecher (both trackers, DHT) downloads.
    const first = h.spawnLeecher(
      null,
      "swarm.bin",
      join(dir.path, "out1"),
      30,
      [
        ...trackerFlags,
        ...dht.args,
        "--json",
        "--max-download",
        "1M",
      ],
    );
    await first.waitFor(
      /"type":"progress".*"state":"downloading".*"chunksDone":[1-9]\b/,
      60_000,
    );
    await a.stop();
    const firstDone = await first.done(90_000);
    assert.equal(firstDone.code, 0, `${firstDone.stdout}\n${firstDone.stderr}`);
    await h.assertSameFile(join(dir.path, "out1", "swarm.bin"), file);

    // 2. A new leecher, trackers only (no DHT): A is down, B answers.
    const second = await h.spawnLeecher(
      null,
      "swarm.bin",
      join(dir.path, "out2"),
      30,
      trackerFlags,
    ).done(90_000);
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
    await h.assertSameFile(join(dir.path, "out2", "swarm.bin"), file);

    // 3. Both trackers gone: the DHT alone finds the seeders (by id; a
    //    name needs a tracker).
    await b.stop();
    const id = seeders[0]!.lines.find((l) => l.startsWith("seeding swarm.bin"))!
      .match(/ id ([0-9a-f]{64})$/)![1]!;
    const third = await h.spawnLeecher(
      null,
      id,
      join(dir.path, "out3"),
      30,
      [...trackerFlags, ...dht.args],
    ).done(90_000);
    assert.equal(third.code, 0, `${third.stdout}\n${third.stderr}`);
    await h.assertSameFile(join(dir.path, "out3", "swarm.bin"), file);
  } finally {
    for (const seeder of seeders) await seeder.stop();
    await a.stop();
    await b.stop();
  }
});

Deno.test("--list asks every tracker at once and prints the first one that answers", async () => {
  await using dir = await h.tempDir();
  await using live = await h.startTracker();
  // A UDP port with nothing behind it: the first tracker never answers.
  const dead = await h.startTracker();
  await dead.stop();
  const file = join(dir.path, "listed.bin");
  const seeder = await h.seedNewFile(live, file, 1000, 3, { out: "seed" });
  try {
    const listed = await h.spawnPeer(null, [
      "--tracker",
      `127.0.0.1:${dead.port}`,
      "--tracker",
      `127.0.0.1:${live.port}`,
      "--list",
    ]).done(60_000);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^listed\.bin\s+1\.0 KB\s+1\s+[0-9a-f]{8}$/m);
  } finally {
    await seeder.stop();
  }
});
