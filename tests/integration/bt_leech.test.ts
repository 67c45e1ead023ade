/**
 * A Shoal leecher downloads from BitTorrent peers: libtorrent seeders on
 * loopback, listed on a Shoal tracker as any peer is (a BitTorrent client
 * registered by BEP 15 looks the same to the leecher). The leecher asks in
 * Shoal first and, as libtorrent says nothing to that, again in BitTorrent
 * (peer/download/protocol_fallback.ts).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { magnetLink, parseTorrent } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { startLtSeeder } from "../_helpers/bittorrent.ts";
import { hasLibtorrent, LT_PYTHON, ltFixture } from "../_helpers/libtorrent.ts";

/** Three pieces and a bit, the last block short (not a multiple of 16 KiB). */
const SIZE = 3 * 512 * 1024 + 5664;

/**
 * A libtorrent seeder of `file`, from the v2-only torrent libtorrent itself
 * makes of it (512 KiB pieces), written to `torrentPath`.
 */
async function ltSeed(file: string, torrentPath: string) {
  const made = await h.runToExit(LT_PYTHON, [
    ltFixture("lt_make_torrent.py"),
    String(512 * 1024),
    file,
    torrentPath,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const seeder = await startLtSeeder(torrentPath, dirname(file));
  return Object.assign(seeder, {
    infohash: made.stdout.trim(),
    [Symbol.asyncDispose]: async () => {
      await seeder.stop();
    },
  });
}

/** The leecher's `done` JSON line. */
function doneOf(stdout: string): { chunksByPeer: Record<string, number> } {
  const line = stdout.trim().split("\n").map((l) => JSON.parse(l)).find((
    event,
  ) => event.type === "done");
  assert.ok(line, stdout);
  return line;
}

Deno.test("Shoal downloads a file that libtorrent seeds, from the torrent libtorrent made, byte-identical", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "lt.bin");
  await h.makeFile(file, SIZE, 21);
  const torrentPath = join(dir.path, "lt.bin.torrent");
  await using lt = await ltSeed(file, torrentPath);
  const torrent = parseTorrent(await Deno.readFile(torrentPath));
  h.listOnTracker(tracker, lt.port, {
    id: torrent.id,
    name: torrent.manifest.name,
    size: torrent.manifest.size,
    chunkCount: torrent.manifest.chunkCount,
  });
  const out = join(dir.path, "out");
  const result = await h.spawnLeecher(tracker, torrentPath, out, 30, [
    "--json",
  ]).done(60_000);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  await h.assertSameFile(join(out, "lt.bin"), file);
  assert.deepEqual(doneOf(result.stdout).chunksByPeer, {
    [`127.0.0.1:${lt.port}`]: 4,
  });
});

Deno.test("Shoal downloads a file that libtorrent seeds from a magnet link alone: metadata and piece layer from libtorrent", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "magnet.bin");
  await h.makeFile(file, SIZE, 22);
  const torrentPath = join(dir.path, "lt.torrent");
  await using lt = await ltSeed(file, torrentPath);
  const torrent = parseTorrent(await Deno.readFile(torrentPath));
  h.listOnTracker(tracker, lt.port, {
    id: torrent.id,
    name: torrent.manifest.name,
    size: torrent.manifest.size,
    chunkCount: torrent.manifest.chunkCount,
  });
  // The .torrent is not used: only the id, in the link.
  const link = magnetLink(torrent.id, "magnet.bin", []);
  const out = join(dir.path, "out");
  const result = await h.spawnLeecher(tracker, link, out, 30, ["--json"])
    .done(60_000);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  await h.assertSameFile(join(out, "magnet.bin"), file);
  assert.deepEqual(doneOf(result.stdout).chunksByPeer, {
    [`127.0.0.1:${lt.port}`]: 4,
  });
});

Deno.test("a mixed swarm: a Shoal leecher gets chunks from a Shoal seeder and from a libtorrent seeder of the same torrent", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "mixed.bin");
  await h.makeFile(file, 48 * 512 * 1024 + 1000, 23);
  const torrentPath = join(dir.path, "mixed.bin.torrent");
  await using lt = await ltSeed(file, torrentPath);
  const torrent = parseTorrent(await Deno.readFile(torrentPath));
  h.listOnTracker(tracker, lt.port, {
    id: torrent.id,
    name: torrent.manifest.name,
    size: torrent.manifest.size,
    chunkCount: torrent.manifest.chunkCount,
  });
  // Slowed down, so it cannot serve the whole file before the leecher has
  // found out that the libtorrent peer speaks only BitTorrent.
  const shoal = await h.startSeeder(tracker, [file], join(dir.path, "s"), [
    "--max-upload",
    "2M",
  ]);
  try {
    const seeding = shoal.lines.find((l) => l.startsWith("seeding mixed.bin"));
    // One file, one id: libtorrent's torrent and Shoal's manifest agree.
    assert.match(seeding ?? "", new RegExp(` id ${lt.infohash}$`));
    const out = join(dir.path, "out");
    const result = await h.spawnLeecher(tracker, torrentPath, out, 30, [
      "--json",
    ]).done(90_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    await h.assertSameFile(join(out, "mixed.bin"), file);
    const byPeer = doneOf(result.stdout).chunksByPeer;
    const fromShoal = byPeer[`127.0.0.1:${shoal.port}`] ?? 0;
    const fromLt = byPeer[`127.0.0.1:${lt.port}`] ?? 0;
    assert.ok(fromShoal > 0 && fromLt > 0, JSON.stringify(byPeer));
    assert.equal(fromShoal + fromLt, torrent.manifest.chunkCount);
  } finally {
    await shoal.stop();
  }
});
