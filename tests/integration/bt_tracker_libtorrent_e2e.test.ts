/**
 * A BitTorrent user's whole path through Shoal: a Shoal seeder registers a
 * file with the Shoal tracker, and libtorrent (python3-libtorrent 2.0),
 * given only the `.torrent` Shoal wrote or the magnet link the seeder
 * printed, finds the seeder through that tracker alone: it announces over
 * BEP 15 to the `udp://` URL the torrent or link names (no peer given to
 * it, DHT and local discovery off), connects to the address the tracker
 * listed, and downloads the file byte for byte. Skipped, with a note,
 * without python3-libtorrent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import {
  type BtSource,
  fileWithShoalTorrent,
  ltDownload,
  seededMagnet,
  torrentAndMagnetTests,
} from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent(
  "the libtorrent download found through the Shoal tracker",
);

/** 12 pieces and a bit: a piece layer, a short last piece and block. */
const SIZE = 12 * 512 * 1024 + 777;

async function findThroughTracker(source: BtSource): Promise<void> {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const announce = `udp://127.0.0.1:${tracker.port}/announce`;
  const file = join(dir.path, "show.bin");
  const { torrentPath } = await fileWithShoalTorrent(
    file,
    SIZE,
    source === "torrent" ? 31 : 32,
    ["--tracker", announce],
  );
  const seeder = await h.startSeeder(tracker, [file], join(dir.path, "s"), [
    "--host",
    "127.0.0.1",
    "--no-dht",
  ]);
  try {
    const magnet = seededMagnet(seeder.lines, "show.bin");
    // Both name the Shoal tracker, which is all libtorrent is given.
    assert.ok(
      magnet.includes(`tr=${encodeURIComponent(announce)}`),
      magnet,
    );
    const out = join(dir.path, "lt");
    await Deno.mkdir(out);
    const result = await ltDownload(
      source === "torrent" ? torrentPath : magnet,
      out,
      [],
    );
    // The tracker's BEP 15 reply listed the seeder, and the seeder is the
    // peer that sent the blocks.
    assert.match(result.stdout, /^tracker [1-9]\d*$/m);
    assert.match(
      result.stdout,
      new RegExp(`^from 127\\.0\\.0\\.1:${seeder.port} \\d+ .*Shoal`, "m"),
    );
    await h.assertSameFile(join(out, "show.bin"), file);
  } finally {
    await seeder.stop();
  }
}

torrentAndMagnetTests(!HAS_LIBTORRENT, {
  torrent:
    "libtorrent finds a Shoal seeder only through the Shoal tracker named in the .torrent Shoal wrote, and downloads the file",
  magnet:
    "libtorrent finds a Shoal seeder only through the Shoal tracker named in the magnet link the seeder printed, and downloads the file",
}, findThroughTracker);
