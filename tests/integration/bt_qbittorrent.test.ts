/**
 * qBittorrent downloads from a Shoal seeder on loopback (issue 17,
 * optional): qbittorrent-nox (Debian) is given the `.torrent` Shoal wrote and
 * the seeder's address through its web API (no tracker, no DHT), and ends
 * with the file byte for byte, having named Shoal as the peer that sent it.
 * qBittorrent offers RC4 only in its MSE handshake (its default): the
 * seeder declines that quietly, with no "Dropped peer" warning, and
 * qBittorrent connects again in plain text. Skipped, with a note, without
 * qbittorrent-nox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { fileWithShoalTorrent } from "../_helpers/bittorrent.ts";
import { hasQbittorrent, startQbittorrent } from "../_helpers/qbittorrent.ts";

const HAS_QBITTORRENT = await hasQbittorrent("the qBittorrent interop test");

/** 24 pieces and a bit: a short last piece and a short last block. */
const SIZE = 24 * 512 * 1024 + 777;

Deno.test({
  name:
    "qBittorrent downloads a file a Shoal seeder seeds, through its web API, byte-identical",
  ignore: !HAS_QBITTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const file = join(dir.path, "qbt.bin");
    const { torrentPath, torrent } = await fileWithShoalTorrent(file, SIZE, 41);
    // qBittorrent names a v2-only torrent by its infohash cut to 20 bytes.
    const hash = toHex(torrent.id).slice(0, 40);
    const seeder = await h.startSeeder(tracker, [file], join(dir.path, "s"), [
      "--host",
      "127.0.0.1",
    ]);
    const save = join(dir.path, "qbt-save");
    await Deno.mkdir(save);
    try {
      await using qbt = await startQbittorrent(join(dir.path, "qbt"), save);
      const add = new FormData();
      add.append(
        "torrents",
        new Blob([await Deno.readFile(torrentPath)]),
        "qbt.torrent",
      );
      add.append("savepath", save);
      // About 3 s at 4 MB/s: long enough to see the peer list mid-download.
      add.append("dlLimit", String(4_000_000));
      assert.equal(await qbt.api("torrents/add", add), "Ok.");
      // Added in the background: wait (at most 10 s) until it is listed.
      let listed = false;
      for (let i = 0; i < 100 && !listed; i++) {
        listed = JSON.parse(await qbt.api(`torrents/info?hashes=${hash}`))
          .length === 1;
        if (!listed) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(listed, "qBittorrent did not list the torrent");
      await qbt.api(
        "torrents/addPeers",
        new URLSearchParams({
          hashes: hash,
          peers: `127.0.0.1:${seeder.port}`,
        }),
      );
      const senders = new Set<string>();
      const lookAtPeers = async () => {
        const peers = JSON.parse(
          await qbt.api(`sync/torrentPeers?hash=${hash}`),
        ).peers ?? {};
        for (const [at, peer] of Object.entries(peers)) {
          const { client, downloaded } = peer as {
            client: string;
            downloaded: number;
          };
          if (downloaded > 0) senders.add(`${at} ${client}`);
        }
      };
      let progress = 0;
      for (let i = 0; i < 300 && progress < 1; i++) {
        await lookAtPeers();
        const info = JSON.parse(await qbt.api(`torrents/info?hashes=${hash}`));
        progress = info[0]?.progress ?? 0;
        if (progress < 1) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(progress, 1, "qBittorrent did not finish within 60 s");
      // A fast machine may finish between two looks: the seeder stays
      // connected, with what it sent counted (at most 2 s more).
      for (let i = 0; i < 20 && senders.size === 0; i++) {
        await lookAtPeers();
        if (senders.size === 0) await new Promise((r) => setTimeout(r, 100));
      }
      await h.assertSameFile(join(save, "qbt.bin"), file);
      // Its download is capped, so its peer list is seen while Shoal sends.
      // Whoever qBittorrent saw sending was the Shoal seeder (it may have
      // dropped the seeder from its list once done: the seeder's own count
      // below is the proof that it sent).
      for (const sender of senders) {
        assert.equal(
          sender.replace(/ \d+\.\d+\.\d+$/, ""),
          `127.0.0.1:${seeder.port} Shoal`,
        );
      }
    } finally {
      await seeder.stop();
    }
    const { stdout, stderr } = await seeder.done(1_000);
    assert.doesNotMatch(stderr, /Dropped peer/);
    // The seeder says it uploaded to one peer: qBittorrent.
    assert.match(stdout, /stopped; uploaded [\d.]+ [kMG]?B to 1 peer$/m);
  },
});
