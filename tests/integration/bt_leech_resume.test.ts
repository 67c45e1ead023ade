/**
 * Resume from BitTorrent peers: a Shoal leecher downloading from two
 * libtorrent seeders (found, as a user's swarm finds them, through their
 * BEP 15 announces to the Shoal tracker) is stopped with SIGTERM mid-way,
 * then run again with the same command. The second run re-checks the
 * chunks on disk, fetches only the rest from the seeders, and the file is
 * byte for byte the seeded one. Skipped, with a note, without
 * python3-libtorrent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { startLtSeeder } from "../_helpers/bittorrent.ts";
import { hasLibtorrent, LT_PYTHON, ltFixture } from "../_helpers/libtorrent.ts";

const PIECE = 512 * 1024;
/** 24 pieces and a bit, the last block short. */
const SIZE = 24 * PIECE + 4321;
/** Each seeder's upload cap: the download lasts seconds, long enough to stop. */
const SEEDER_RATE = 1_500_000;

Deno.test("a Shoal leecher stopped with SIGTERM mid-way through a download from libtorrent seeders resumes with the same command and fetches only what it lacked", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const announce = `udp://127.0.0.1:${tracker.port}/announce`;
  const file = join(dir.path, "resume.bin");
  await h.makeFile(file, SIZE, 41);
  const torrentPath = join(dir.path, "resume.bin.torrent");
  const made = await h.runToExit(LT_PYTHON, [
    ltFixture("lt_make_torrent.py"),
    String(PIECE),
    file,
    torrentPath,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const chunkCount = parseTorrent(await Deno.readFile(torrentPath)).manifest
    .chunkCount;
  const seeders = [
    await startLtSeeder(torrentPath, dir.path, SEEDER_RATE, announce),
    await startLtSeeder(torrentPath, dir.path, SEEDER_RATE, announce),
  ];
  let leecher: h.RunningProcess | null = null;
  try {
    const out = join(dir.path, "out");
    const args = ["--json"];
    leecher = h.spawnLeecher(tracker, torrentPath, out, 30, args);
    const { line } = await h.stopOnceSeen(
      leecher,
      /"type":"progress".*"chunksDone":([4-9]|1\d)\b/,
      { timeoutMs: 60_000 },
    );
    leecher = null;
    const before = JSON.parse(line) as { chunksDone: number };

    const second = await h.spawnLeecher(tracker, torrentPath, out, 30, args)
      .done(60_000);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    await h.assertSameFile(join(out, "resume.bin"), file);
    const done = h.doneEvent<{
      resumedChunks: number;
      bytesFetched: number;
      chunksByPeer: Record<string, number>;
    }>(second.stdout);
    assert.ok(
      done.resumedChunks >= before.chunksDone &&
        done.resumedChunks < chunkCount,
      `resumed ${done.resumedChunks}, had ${before.chunksDone} of ${chunkCount}`,
    );
    // Only the rest came from the seeders, every chunk of it from libtorrent.
    const fetched = Object.values(done.chunksByPeer).reduce((a, b) => a + b, 0);
    assert.equal(fetched, chunkCount - done.resumedChunks);
    assert.deepEqual(
      Object.keys(done.chunksByPeer).sort(),
      Object.keys(done.chunksByPeer).filter((peer) =>
        seeders.some((s) => peer === `127.0.0.1:${s.port}`)
      ).sort(),
    );
    assert.ok(
      done.bytesFetched <= SIZE - (done.resumedChunks - 1) * PIECE,
      `fetched ${done.bytesFetched} bytes again`,
    );
  } finally {
    if (leecher) await leecher.kill();
    for (const seeder of seeders) await seeder.stop();
  }
});
