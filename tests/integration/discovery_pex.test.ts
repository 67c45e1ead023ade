/**
 * Peer exchange (PEX) between real peer processes: a leecher whose only
 * source of peers (a tracker that knows one seeder; no DHT) names a single
 * seeder still finds the rest of the swarm through what the peers it
 * connects to tell it, and downloads from a seeder nobody else named.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

/**
 * 48 chunks: the middle leecher (256 KB/s) stays connected throughout, and
 * chunks are left to ask B for once the leecher hears of it (it asks its
 * first peer for up to 16 at once).
 */
const SIZE = 48 * 512 * 1024 + 77;

Deno.test("a leecher told of one seeder finds a second one by PEX and downloads from it", async () => {
  await using dir = await h.tempDir();
  // Tracker "all" knows everyone; tracker "one" knows only seeder A.
  await using all = await h.startTracker();
  await using one = await h.startTracker();
  const file = join(dir.path, "pex.bin");
  await h.makeFile(file, SIZE, 18);
  // A serves slowly (300 KB/s): a leecher that knew only A would take 14 s.
  const a = await h.startSeeder(null, [file], join(dir.path, "a"), [
    "--tracker",
    `${all.host}:${all.port}`,
    "--tracker",
    `${one.host}:${one.port}`,
    "--host",
    "127.0.0.1",
    "--max-upload",
    "300K",
  ]);
  const b = await h.startSeeder(all, [file], join(dir.path, "b"), [
    "--host",
    "127.0.0.1",
  ]);
  // A middle leecher, connected to A and B while it downloads slowly; it
  // serves (no --no-seed), so A knows where it listens.
  const middle = h.spawnSlowLeecher(all, "pex.bin", join(dir.path, "middle"));
  try {
    await middle.waitFor(/"type":"progress".*"peers":2\b/, 30_000);
    // The leecher asks tracker "one" only: it hears of A and nobody else.
    const leecher = await h.spawnLeecher(
      one,
      "pex.bin",
      join(dir.path, "out"),
      30,
      [
        "--json",
      ],
    ).done(60_000);
    assert.equal(leecher.code, 0, `${leecher.stdout}\n${leecher.stderr}`);
    await h.assertSameFile(join(dir.path, "out", "pex.bin"), file);
    const byPeer = h.doneEvent(leecher.stdout).chunksByPeer;
    // B was named by no tracker the leecher asked: PEX brought it.
    assert.ok(
      (byPeer[`127.0.0.1:${b.port}`] ?? 0) > 0,
      `no chunk from B (${b.port}): ${JSON.stringify(byPeer)}`,
    );
  } finally {
    await middle.stop();
    await a.stop();
    await b.stop();
  }
});
