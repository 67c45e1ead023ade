/**
 * BEP 11 `ut_pex` between Shoal and libtorrent, both ways: a libtorrent
 * leecher given only a Shoal seeder's address connects to a Shoal peer
 * that only the seeder's ut_pex named; a Shoal leecher given only a
 * libtorrent seeder connects to a libtorrent peer that only the seeder's
 * ut_pex named. Skipped with a note when python3-libtorrent is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseTorrent } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import {
  listTorrentPeer,
  seededMagnet,
  startLtLeecher,
  startLtSeeder,
} from "../_helpers/bittorrent.ts";
import { fileWithLtTorrent, hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the libtorrent ut_pex test");

/** 16 pieces: 4 s at the seeder's 2 MB/s cap, time for a PEX message or two. */
const SIZE = 16 * 512 * 1024 + 99;

/**
 * The magnet link a seeder prints on the line after "seeding NAME ...",
 * without its trackers: libtorrent must hear of no peer but the seeder.
 */
function magnetOf(lines: string[], name: string): string {
  return seededMagnet(lines, name).replace(/&tr=[^&]*/g, "");
}

Deno.test({
  name:
    "libtorrent reads a Shoal seeder's ut_pex and connects to the peer it names",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const file = join(dir.path, "ltpex.bin");
    const seeder = await h.seedNewFile(tracker, file, SIZE, 11, {
      out: "a",
      args: ["--host", "127.0.0.1", "--max-upload", "2M"],
    });
    // A Shoal leecher connected to the seeder while it downloads slowly;
    // it serves what it has (BitTorrent too) on its own port. Its own PEX
    // is off: it must not hear of libtorrent and connect to it first.
    const middle = h.spawnSlowLeecher(
      tracker,
      "ltpex.bin",
      join(dir.path, "middle"),
      ["--no-pex"],
    );
    try {
      const serving = await middle.waitFor(/"type":"serving".*"port":(\d+)/);
      const middlePort = Number(serving[1]);
      await middle.waitFor(/"type":"progress".*"chunksDone":[1-9]/, 30_000);
      // libtorrent is told of the seeder only (no tracker, no DHT).
      const lt = await startLtLeecher(
        magnetOf(seeder.lines, "ltpex.bin"),
        join(dir.path, "lt"),
        seeder.port,
        30,
      ).done(45_000);
      assert.equal(lt.code, 0, `${lt.stdout}\n${lt.stderr}`);
      await h.assertSameFile(join(dir.path, "lt", "ltpex.bin"), file);
      // Its "link" lines name every peer it was connected to.
      assert.match(
        lt.stdout,
        new RegExp(`^link 127\\.0\\.0\\.1:${middlePort} `, "m"),
        lt.stdout,
      );
    } finally {
      await middle.stop();
      await seeder.stop();
    }
  },
});

Deno.test({
  name:
    "a Shoal leecher reads a libtorrent seeder's ut_pex and connects to the peer it names",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const file = join(dir.path, "ltseed.bin");
    const { torrentPath } = await fileWithLtTorrent(file, SIZE, 12);
    // 1 MB/s for everyone together: both leechers are still at it when
    // the seeder's first ut_pex comes (it sends one a minute).
    const seeder = await startLtSeeder(torrentPath, dir.path, 1_000_000);
    const torrent = parseTorrent(await Deno.readFile(torrentPath));
    // The tracker knows the libtorrent seeder only.
    listTorrentPeer(tracker, seeder.port, torrent);
    // A libtorrent leecher connected to the seeder (no tracker, no DHT):
    // the seeder's ut_pex is the only way to hear of it.
    const other = startLtLeecher(
      torrentPath,
      join(dir.path, "lt"),
      seeder.port,
    );
    const shoal = h.spawnLeecher(
      tracker,
      torrentPath,
      join(dir.path, "out"),
      30,
      [
        "--json",
      ],
    );
    try {
      const seen = await shoal.waitFor(
        new RegExp(
          `"type":"progress".*"peerList":\\[.*"address":"127\\.0\\.0\\.1:(?!${seeder.port}")\\d+"`,
        ),
        20_000,
      );
      assert.ok(seen[0]);
    } finally {
      await shoal.stop();
      await other.stop();
      await seeder.stop();
    }
  },
});
