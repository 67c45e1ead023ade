/**
 * One swarm, two protocols: a Shoal seeder and a libtorrent seeder of the
 * same file (the v2 torrent Shoal's `--make-torrent` wrote), a Shoal leecher
 * and a libtorrent leecher downloading at the same time. Every leecher ends
 * with the seeded file, byte for byte, and each got pieces from both kinds
 * of seeder, as its own statistics count them: the Shoal leecher's `done`
 * line (`chunksByPeer`), libtorrent's block_finished alerts per peer (one per
 * 16 KiB block received; tests/fixtures/lt_leech.py). Each seeder's upload
 * is capped, so neither can serve both leechers alone before the other has
 * its turn. libtorrent is given its peers directly (connect_peer); the Shoal
 * leecher finds both seeders on the Shoal tracker. Skipped, with a note,
 * without python3-libtorrent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import {
  fileWithShoalTorrent,
  listTorrentPeer,
  ltBlocksByPeer,
  startLtLeecher,
  startLtSeeder,
} from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the mixed-swarm test");

/** 24 pieces and a bit: a short last piece and a short last block. */
const SIZE = 24 * 512 * 1024 + 5664;
/**
 * Each seeder's upload cap, bytes per second: both leechers want 24 MiB in
 * all, which one seeder alone would take about 25 s to send. The Shoal
 * leecher asks libtorrent in Shoal first and turns to BitTorrent after 5 s
 * of silence (peer/download/protocol_fallback.ts): it cannot have the whole
 * file from the Shoal seeder by then.
 */
const RATE = 1_000_000;
/** A bound on each download, far above the ~15 s it takes. */
const TIMEOUT_S = 50;

Deno.test({
  name:
    "a mixed swarm: a Shoal and a libtorrent leecher each get the file from a Shoal seeder and a libtorrent seeder together",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const file = join(dir.path, "mixed.bin");
    const { torrentPath, torrent } = await fileWithShoalTorrent(file, SIZE, 31);

    const lt = await startLtSeeder(torrentPath, dir.path, RATE);
    const shoal = await h.startSeeder(tracker, [file], join(dir.path, "s"), [
      "--host",
      "127.0.0.1",
      "--max-upload",
      String(RATE),
      // Peer exchange would send each leecher to the other leecher, and
      // this test is about what each seeder kind serves (PEX with
      // libtorrent: bt_pex_libtorrent.test.ts).
      "--no-pex",
    ]);
    const ltOut = join(dir.path, "lt-out");
    await Deno.mkdir(ltOut);
    const shoalOut = join(dir.path, "shoal-out");
    try {
      // The libtorrent seeder as a BitTorrent client's announce would list it.
      listTorrentPeer(tracker, lt.port, torrent);
      const shoalLeecher = h.spawnLeecher(
        tracker,
        torrentPath,
        shoalOut,
        TIMEOUT_S,
        ["--json", "--no-pex"],
      );
      const ltLeecher = startLtLeecher(
        torrentPath,
        ltOut,
        [shoal.port, lt.port],
        TIMEOUT_S,
      );
      const [fromShoalLeecher, fromLtLeecher] = await Promise.all([
        shoalLeecher.done((TIMEOUT_S + 10) * 1000),
        ltLeecher.done((TIMEOUT_S + 10) * 1000),
      ]);
      assert.equal(
        fromShoalLeecher.code,
        0,
        fromShoalLeecher.stderr + fromShoalLeecher.stdout,
      );
      assert.equal(
        fromLtLeecher.code,
        0,
        fromLtLeecher.stderr + fromLtLeecher.stdout,
      );
      await h.assertSameFile(join(shoalOut, "mixed.bin"), file);
      await h.assertSameFile(join(ltOut, "mixed.bin"), file);

      const shoalAt = `127.0.0.1:${shoal.port}`;
      const ltAt = `127.0.0.1:${lt.port}`;
      // The Shoal leecher: whole pieces, each from one peer.
      const chunks = h.doneEvent(fromShoalLeecher.stdout).chunksByPeer;
      assert.ok(
        (chunks[shoalAt] ?? 0) > 0 && (chunks[ltAt] ?? 0) > 0,
        JSON.stringify(chunks),
      );
      assert.equal(
        (chunks[shoalAt] ?? 0) + (chunks[ltAt] ?? 0),
        torrent.manifest.chunkCount,
      );
      // The libtorrent leecher: 16 KiB blocks, at least a piece's worth from
      // each, and it saw Shoal's client name on the Shoal seeder's address.
      const blocks = ltBlocksByPeer(fromLtLeecher.stdout);
      const blocksPerPiece = 512 / 16;
      assert.ok(
        (blocks[shoalAt] ?? 0) >= blocksPerPiece &&
          (blocks[ltAt] ?? 0) >= blocksPerPiece,
        fromLtLeecher.stdout,
      );
      assert.match(
        fromLtLeecher.stdout,
        new RegExp(`^from ${shoalAt} \\d+ Shoal`, "m"),
      );
    } finally {
      await Promise.all([shoal.stop(), lt.stop()]);
    }
  },
});
