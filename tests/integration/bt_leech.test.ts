/**
 * A Shoal leecher downloads from BitTorrent peers: libtorrent seeders on
 * loopback, listed on a Shoal tracker as any peer is (a BitTorrent client
 * registered by BEP 15 looks the same to the leecher). The leecher asks in
 * Shoal first and, as libtorrent says nothing to that, again in BitTorrent
 * (peer/download/protocol_fallback.ts).
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { magnetLink, parseTorrent } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { listTorrentPeer, startLtSeeder } from "../_helpers/bittorrent.ts";
import { fileWithLtTorrent, hasLibtorrent } from "../_helpers/libtorrent.ts";

/** Three pieces and a bit, the last block short (not a multiple of 16 KiB). */
const SIZE = 3 * 512 * 1024 + 5664;

/**
 * A libtorrent seeder of a file of `size` bytes (from `seed`) called `name`
 * in `dir`, from the v2-only torrent libtorrent itself makes of it (512 KiB
 * pieces), written beside it as `torrentName` (NAME.torrent unless given);
 * listed on `tracker` as a BitTorrent client's announce would list it.
 */
async function ltSeed(
  tracker: h.RunningTracker,
  dir: string,
  { name, size = SIZE, seed, torrentName = `${name}.torrent` }: {
    name: string;
    size?: number;
    seed: number;
    torrentName?: string;
  },
) {
  const file = join(dir, name);
  const { torrentPath, infohash } = await fileWithLtTorrent(
    file,
    size,
    seed,
    join(dir, torrentName),
  );
  const torrent = parseTorrent(await Deno.readFile(torrentPath));
  const seeder = await startLtSeeder(torrentPath, dir);
  listTorrentPeer(tracker, seeder.port, torrent);
  return Object.assign(seeder, {
    file,
    torrentPath,
    infohash,
    torrent,
    [Symbol.asyncDispose]: async () => {
      await seeder.stop();
    },
  });
}

/**
 * Downloads `query` with a `--json` Shoal leecher into `out`, which must
 * end with the seeded file whole; returns its chunks by peer.
 */
async function leech(
  tracker: h.RunningTracker,
  query: string,
  out: string,
  file: string,
  timeoutMs = 60_000,
): Promise<Record<string, number>> {
  const result = await h.spawnLeecher(tracker, query, out, 30, ["--json"])
    .done(timeoutMs);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  await h.assertSameFile(join(out, basename(file)), file);
  return h.doneEvent(result.stdout).chunksByPeer;
}

for (
  const { test, file, query } of [
    {
      test:
        "Shoal downloads a file that libtorrent seeds, from the torrent libtorrent made, byte-identical",
      file: { name: "lt.bin", seed: 21 },
      query: (lt: { torrentPath: string }) => lt.torrentPath,
    },
    {
      test:
        "Shoal downloads a file that libtorrent seeds from a magnet link alone: metadata and piece layer from libtorrent",
      file: { name: "magnet.bin", seed: 22, torrentName: "lt.torrent" },
      // The .torrent is not used: only the id, in the link.
      query: (lt: { torrent: { id: Uint8Array } }) =>
        magnetLink(lt.torrent.id, "magnet.bin", []),
    },
  ]
) {
  Deno.test(test, async (t) => {
    if (!(await hasLibtorrent(t.name))) return;
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    await using lt = await ltSeed(tracker, dir.path, file);
    const out = join(dir.path, "out");
    assert.deepEqual(await leech(tracker, query(lt), out, lt.file), {
      [`127.0.0.1:${lt.port}`]: 4,
    });
  });
}

Deno.test("a mixed swarm: a Shoal leecher gets chunks from a Shoal seeder and from a libtorrent seeder of the same torrent", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  await using lt = await ltSeed(tracker, dir.path, {
    name: "mixed.bin",
    size: 48 * 512 * 1024 + 1000,
    seed: 23,
  });
  // Slowed down, so it cannot serve the whole file before the leecher has
  // found out that the libtorrent peer speaks only BitTorrent.
  const shoal = await h.startSeeder(tracker, [lt.file], join(dir.path, "s"), [
    "--max-upload",
    "2M",
  ]);
  try {
    const seeding = shoal.lines.find((l) => l.startsWith("seeding mixed.bin"));
    // One file, one id: libtorrent's torrent and Shoal's manifest agree.
    assert.match(seeding ?? "", new RegExp(` id ${lt.infohash}$`));
    const out = join(dir.path, "out");
    const byPeer = await leech(tracker, lt.torrentPath, out, lt.file, 90_000);
    const fromShoal = byPeer[`127.0.0.1:${shoal.port}`] ?? 0;
    const fromLt = byPeer[`127.0.0.1:${lt.port}`] ?? 0;
    assert.ok(fromShoal > 0 && fromLt > 0, JSON.stringify(byPeer));
    assert.equal(fromShoal + fromLt, lt.torrent.manifest.chunkCount);
  } finally {
    await shoal.stop();
  }
});
