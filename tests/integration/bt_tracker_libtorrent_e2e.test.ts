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
import {
  type BtSource,
  ltLeechFromShoal,
  torrentAndMagnetTests,
} from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent(
  "the libtorrent download found through the Shoal tracker",
);

/** 12 pieces and a bit: a piece layer, a short last piece and block. */
const SIZE = 12 * 512 * 1024 + 777;

async function findThroughTracker(source: BtSource): Promise<void> {
  const seed = source === "torrent" ? 31 : 32;
  const file = { name: "show.bin", size: SIZE, seed };
  // libtorrent is given no peer: only the tracker the torrent or link names.
  const { stdout, port, magnet, announce } = await ltLeechFromShoal(
    source,
    file,
    true,
  );
  // Both name the Shoal tracker, which is all libtorrent is given.
  assert.ok(magnet.includes(`tr=${encodeURIComponent(announce)}`), magnet);
  // The tracker's BEP 15 reply listed the seeder, and the seeder is the
  // peer that sent the blocks.
  assert.match(stdout, /^tracker [1-9]\d*$/m);
  assert.match(
    stdout,
    new RegExp(`^from 127\\.0\\.0\\.1:${port} \\d+ .*Shoal`, "m"),
  );
}

torrentAndMagnetTests(!HAS_LIBTORRENT, {
  torrent:
    "libtorrent finds a Shoal seeder only through the Shoal tracker named in the .torrent Shoal wrote, and downloads the file",
  magnet:
    "libtorrent finds a Shoal seeder only through the Shoal tracker named in the magnet link the seeder printed, and downloads the file",
}, findThroughTracker);
