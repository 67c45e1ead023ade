/**
 * BitTorrent clients download from a Shoal seeder: libtorrent 2.0 (as
 * qBittorrent and Deluge use it) gets a file a real Shoal seeder process
 * seeds, given the seeder's address directly (no tracker, no DHT), once from
 * the `.torrent` `--make-torrent` wrote and once from the magnet link the
 * seeder printed alone (the info dictionary over BEP 9, the piece layer over
 * BEP 52 hash requests). The file libtorrent writes is byte for byte the
 * seeded one, and libtorrent names Shoal as the peer that sent it, over the
 * connection it opened with an MSE handshake (its default). Skipped, with a
 * note, without python3-libtorrent.
 */
import assert from "node:assert/strict";
import {
  type BtSource,
  ltLeechFromShoal,
  torrentAndMagnetTests,
} from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent(
  "the libtorrent downloads from a Shoal seeder",
);

/** 20 pieces and a bit: a piece layer, a short last piece, a short last block. */
const SIZE = 20 * 512 * 1024 + 12_345;

async function seedAndLeech(source: BtSource): Promise<void> {
  const seed = source === "torrent" ? 11 : 12;
  const { stdout, port } = await ltLeechFromShoal(source, {
    name: "film.bin",
    size: SIZE,
    seed,
  });
  assert.match(stdout, /^done \d+ .*Shoal/m);
  // libtorrent, encryption allowed (its default), opens with an MSE
  // handshake: answered, so that first connection is the one it kept.
  assert.match(stdout, new RegExp(`^link 127\\.0\\.0\\.1:${port} mse$`, "m"));
}

torrentAndMagnetTests(!HAS_LIBTORRENT, {
  torrent:
    "libtorrent downloads a file a Shoal seeder seeds, from the .torrent Shoal wrote",
  magnet:
    "libtorrent downloads a file a Shoal seeder seeds, from the magnet link alone",
}, seedAndLeech);
