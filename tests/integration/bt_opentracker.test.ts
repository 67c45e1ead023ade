/**
 * Shoal on a BitTorrent tracker: opentracker speaks only BEP 15, so a Shoal
 * peer told `--tracker` opentracker finds it answers BEP 15 and not Shoal's
 * CONNECT, and asks it in BEP 15 (peer/tracker_client/bep15_client.ts).
 * A leecher finds a libtorrent seeder there; a Shoal seeder lists itself
 * there so a libtorrent leecher finds it.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fromHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { ltDownload, startLtSeeder } from "../_helpers/bittorrent.ts";
import { fileWithLtTorrent, hasLibtorrent } from "../_helpers/libtorrent.ts";
import { hasOpentracker, startOpentracker } from "../_helpers/opentracker.ts";

/** Two pieces and a bit. */
const SIZE = 2 * 512 * 1024 + 7000;

/**
 * A file of SIZE bytes (from `seed`) called `name` in `dir`, the v2 torrent
 * libtorrent makes of it beside it (NAME.torrent), and an opentracker that
 * takes announces of that torrent.
 */
async function fileOnOpentracker(dir: string, name: string, seed: number) {
  const file = join(dir, name);
  const { torrentPath, infohash } = await fileWithLtTorrent(file, SIZE, seed);
  const id = fromHex(infohash)!;
  const tracker = await startOpentracker(dir, [id]);
  return Object.assign(tracker, { file, torrentPath, id });
}

Deno.test("Shoal downloads a file that libtorrent seeds, found through opentracker (BEP 15 only), byte-identical", async (t) => {
  if (!(await hasLibtorrent(t.name)) || !(await hasOpentracker(t.name))) {
    return;
  }
  await using dir = await h.tempDir();
  await using tracker = await fileOnOpentracker(dir.path, "ot.bin", 31);
  const { file, torrentPath } = tracker;
  const lt = await startLtSeeder(
    torrentPath,
    dirname(file),
    0,
    `udp://127.0.0.1:${tracker.port}/announce`,
  );
  try {
    const out = join(dir.path, "out");
    const result = await h.spawnLeecher(tracker, torrentPath, out, 30)
      .done(60_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    await h.assertSameFile(join(out, "ot.bin"), file);
  } finally {
    await lt.stop();
  }
});

Deno.test("a Shoal leecher asking opentracker for a file by name is told, in one line, to give its id or torrent", async (t) => {
  if (!(await hasOpentracker(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await startOpentracker(dir.path, []);
  const result = await h.spawnLeecher(
    tracker,
    "some-name.bin",
    join(dir.path, "out"),
    5,
  ).done(30_000);
  assert.notEqual(result.code, 0);
  assert.match(
    result.stderr + result.stdout,
    /by name at BitTorrent tracker 127\.0\.0\.1:\d+: give the file's id, magnet link or \.torrent/,
  );
});

Deno.test("a Shoal seeder lists itself on opentracker, and a libtorrent leecher downloads from it", async (t) => {
  if (!(await hasLibtorrent(t.name)) || !(await hasOpentracker(t.name))) {
    return;
  }
  await using dir = await h.tempDir();
  await using tracker = await fileOnOpentracker(dir.path, "seed.bin", 32);
  const { file, torrentPath, id } = tracker;
  const seeder = await h.startSeeder(tracker, [file], join(dir.path, "s"));
  try {
    // opentracker lists the Shoal seeder: a BEP 15 announce returns it.
    const probe = new h.Bep15Client("127.0.0.1", tracker, 1);
    let seen: string[] = [];
    try {
      await probe.connect();
      for (let round = 0; round < 50 && seen.length === 0; round++) {
        const reply = await probe.announce(id, { numWant: 50, left: 1n });
        if (reply?.action === "announce") {
          seen = reply.peers.filter((peer) => peer.port !== 1).map((peer) =>
            `${peer.host}:${peer.port}`
          );
        }
        if (seen.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await probe.probe.close();
    }
    assert.deepEqual(seen, [`127.0.0.1:${seeder.port}`]);
    const save = join(dir.path, "lt");
    await Deno.mkdir(save);
    // The address opentracker gave (checked equal to the seeder's above).
    await ltDownload(torrentPath, save, seeder.port, 30);
    await h.assertSameFile(join(save, "seed.bin"), file);
  } finally {
    await seeder.stop();
  }
});
