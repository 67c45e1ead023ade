/**
 * Hostile BitTorrent input at a real Shoal seeder process, while libtorrent
 * downloads from it: an oversized length prefix, a flood of messages of
 * unknown types, a request beyond the file, a handshake for a file it does
 * not share, a flood of requests while choked, floods of metadata and hash
 * requests, a block nobody asked for.
 * Each offender loses its connection and is reported (the seeder's log says
 * why it was dropped); the process lives on and the honest libtorrent
 * download completes with the right bytes. Skipped, with a note, without
 * python3-libtorrent (the attacks alone still run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BtMessage,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import {
  BtTestClient,
  fileWithShoalTorrent,
  startLtLeecher,
} from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";
import { startImpatientSeeder } from "../_helpers/impatient_seeder.ts";
import { MAX_CHOKED_REQUESTS } from "../../peer/bt/serve_bt.ts";

const HAS_LIBTORRENT = await hasLibtorrent(
  "the honest libtorrent download beside the attacks",
);

const CHUNK = 512 * 1024;
const SIZE = 6 * CHUNK + 777;
const TIMEOUT_MS = 3_000;

interface Attack {
  name: string;
  /** The log line's reason, as the seeder says it. */
  reason: RegExp;
  run(
    client: BtTestClient,
    infoHash: Uint8Array,
    piecesRoot: Uint8Array,
  ): Promise<void>;
}

function header(length: number, id: number): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = id;
  return out;
}

const ATTACKS: Attack[] = [
  {
    name: "a piece message of 2 GiB",
    reason: /body of 2147483647 bytes, at most 16392/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      await client.write(header(2 ** 31, 7));
    },
  },
  {
    name: "a message of unknown type of 64 KiB",
    reason: /message 99: body of 65535 bytes/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      await client.write(header(65536, 99));
    },
  },
  {
    name: "a stream of small messages of unknown types",
    reason: /more than 64 messages of unknown types/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      const one = encodeBtMessage({
        kind: "unknown",
        id: 42,
        payload: new Uint8Array(8),
      });
      const many = new Uint8Array(one.byteLength * 100);
      for (let i = 0; i < 100; i++) many.set(one, i * one.byteLength);
      await client.write(many);
    },
  },
  {
    name: "a request beyond the file",
    reason: /asked for piece 7 of a file of 7/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      await client.send({ kind: "interested" });
      await client.send({ kind: "request", index: 7, begin: 0, length: 16384 });
    },
  },
  {
    name: "a request past the end of the last piece",
    reason: /of piece 6, which has 16384/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      await client.send({
        kind: "request",
        index: 6,
        begin: 16384,
        length: 16384,
      });
    },
  },
  {
    name: "a handshake for another infohash",
    reason: /handshake for a file not shared here/,
    async run(client) {
      await client.handshake(new Uint8Array(20).fill(0x5a));
    },
  },
  {
    name: "a flood of requests while choked",
    reason: /requests while choked/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      const requests: Uint8Array[] = [];
      // More than MAX_CHOKED_REQUESTS: a queue's worth (reqq) and a few more.
      for (let i = 0; i < MAX_CHOKED_REQUESTS + 100; i++) {
        requests.push(encodeBtMessage({
          kind: "request",
          index: i % 6,
          begin: 0,
          length: 16384,
        }));
      }
      const all = new Uint8Array(requests.length * 17);
      requests.forEach((r, i) => all.set(r, i * 17));
      // Sent while the rejects are read (closedWithin), so neither side stalls.
      void client.write(all).catch(() => {});
    },
  },
  {
    name: "a flood of metadata requests",
    reason: /asked for the metadata over and over/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      await client.send({
        kind: "extended",
        id: 0,
        payload: encodeExtendedHandshake({
          extensions: new Map([["ut_metadata", 3]]),
          client: null,
          port: null,
          requestQueue: null,
          metadataSize: null,
        }),
      });
      const request = encodeBtMessage({
        kind: "extended",
        id: 1,
        payload: encodeMetadataMessage({ kind: "metadata_request", piece: 0 }),
      });
      for (let i = 0; i < 40; i++) await client.write(request);
    },
  },
  {
    name: "a flood of hash requests",
    reason: /too many hash requests/,
    async run(client, infoHash, piecesRoot) {
      await client.handshake(infoHash);
      const request = encodeBtMessage({
        kind: "hash_request",
        piecesRoot,
        baseLayer: 5,
        index: 0,
        length: 8,
        proofLayers: 2,
      });
      for (let i = 0; i < 120; i++) await client.write(request);
    },
  },
  {
    name: "a block nobody asked for",
    reason: /block of piece 0 nobody asked for/,
    async run(client, infoHash) {
      await client.handshake(infoHash);
      const block: BtMessage = {
        kind: "piece",
        index: 0,
        begin: 0,
        block: new Uint8Array(16384),
      };
      await client.send(block);
    },
  },
];

Deno.test("a seeder drops hostile BitTorrent peers, one by one, while libtorrent downloads from it", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "served.bin");
  const { torrentPath: torrent, torrent: parsed } = await fileWithShoalTorrent(
    file,
    SIZE,
    29,
  );
  const infoHash = parsed.id.subarray(0, 20);
  const piecesRoot = parsed.manifest.piecesRoot!;
  const seeder = await startImpatientSeeder(
    tracker,
    file,
    join(dir.path, "state"),
    TIMEOUT_MS,
  );
  const { port } = seeder;
  const out = join(dir.path, "lt");
  await Deno.mkdir(out);
  // The honest download runs beside the attacks.
  const leecher = HAS_LIBTORRENT
    ? startLtLeecher(torrent, out, port, 60)
    : null;
  let stderr = "";
  try {
    for (const attack of ATTACKS) {
      const client = await BtTestClient.connect(port);
      try {
        await attack.run(client, infoHash, piecesRoot);
        const closedAfter = await client.closedWithin(TIMEOUT_MS - 500);
        assert.notEqual(
          closedAfter,
          null,
          `${attack.name}: still connected after ${TIMEOUT_MS - 500} ms`,
        );
      } finally {
        await client.close();
      }
    }
    if (leecher) {
      const result = await leecher.done(90_000);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      await h.assertSameFile(join(out, "served.bin"), file);
    }
  } finally {
    seeder.child.kill("SIGTERM");
    stderr = (await seeder.done(10_000)).stderr;
  }
  for (const attack of ATTACKS) {
    assert.match(
      stderr,
      new RegExp(`Dropped peer .*${attack.reason.source}`),
      `${attack.name}: no drop logged\n${stderr}`,
    );
  }
});
