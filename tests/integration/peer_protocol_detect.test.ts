/**
 * The peer's TCP port speaks both protocols: a real PeerServer on loopback
 * tells a Shoal handshake from a BitTorrent one by the first bytes, answers
 * each in its own protocol, answers a BitTorrent client's MSE handshake
 * (plain text selected) and then BitTorrent, and drops garbage and a
 * BitTorrent handshake for a file it does not share (reported as
 * misbehaviour), whatever way the first bytes are split across TCP segments.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BtFrameDecoder,
  createMessage,
  encodeBtHandshake,
  FrameDecoder,
  type Message,
  MSE_CRYPTO_PLAINTEXT,
  MSE_KEY_BYTES,
} from "@shoal/protocol";
import { Library } from "../../peer/library/library.ts";
import { PeerServer } from "../../peer/wire/server.ts";
import { serveAnyProtocol } from "../../peer/wire/accept_connection.ts";
import type { BtContext } from "../../peer/bt/serve_bt.ts";
import { BtBlockSource } from "../../peer/bt/block_source.ts";
import { makeBtPeerId } from "../../peer/bt/peer_id.ts";
import { TokenBucket } from "../../peer/swarm/token_bucket.ts";
import * as h from "../_helpers/mod.ts";
import { concatBytes } from "../../bench/_bytes.ts";
import { MseInitiator } from "../_helpers/mse.ts";

/** Everything the server sends until it closes (at most 3 s). */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  const timer = setTimeout(() => conn.close(), 3_000);
  try {
    while (true) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      parts.push(buffer.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer or the server.
    }
  }
  return concatBytes(...parts);
}

async function withServer(
  test: (
    server: PeerServer,
    fileId: Uint8Array,
    dropped: string[],
  ) => Promise<void>,
): Promise<void> {
  await using dir = await h.tempDir();
  const source = join(dir.path, "shared.bin");
  await h.makeFile(source, 100_000, 3);
  const library = new Library(join(dir.path, ".shoal"));
  const file = await library.seedPath(source);
  const dropped: string[] = [];
  const server = PeerServer.listen({
    library,
    hostname: "127.0.0.1",
    onMisbehaviour: (reason) => dropped.push(reason),
  });
  try {
    await test(server, file.id, dropped);
  } finally {
    await server.close();
  }
}

/** Writes `bytes` in the given pieces, one write each, a tick apart. */
async function writeSplit(
  conn: Deno.Conn,
  bytes: Uint8Array,
  cuts: number[],
): Promise<void> {
  let at = 0;
  for (const cut of [...cuts, bytes.byteLength]) {
    await conn.write(bytes.subarray(at, cut));
    at = cut;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const cuts of [[], [1], [3, 10], [19], [20, 30]]) {
  Deno.test(`PeerServer answers a BitTorrent handshake in BitTorrent (split at ${cuts})`, async () => {
    await withServer(async (server, fileId) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      const peerId = new TextEncoder().encode("-LT2080-abcdefghijkl");
      await writeSplit(
        conn,
        encodeBtHandshake({ infoHash: fileId.subarray(0, 20), peerId }),
        cuts,
      );
      const decoder = new BtFrameDecoder();
      const frames: string[] = [];
      const buffer = new Uint8Array(4096);
      let handshake = null;
      for (let i = 0; i < 20 && !handshake; i++) {
        const n = await conn.read(buffer);
        if (n === null) break;
        decoder.push(buffer.subarray(0, n), (frame) => {
          frames.push(frame.kind);
          if (frame.kind === "handshake") handshake = frame;
        });
      }
      conn.close();
      assert.ok(handshake, `no handshake back: ${frames}`);
      const { infoHash, peerId: theirs } = handshake as {
        infoHash: Uint8Array;
        peerId: Uint8Array;
      };
      assert.deepEqual(infoHash, fileId.subarray(0, 20));
      assert.equal(new TextDecoder().decode(theirs).slice(0, 8), "-SH0200-");
    });
  });
}

for (const cuts of [[], [1]]) {
  Deno.test(`PeerServer still answers a Shoal handshake in Shoal (split at ${cuts})`, async () => {
    await withServer(async (server, fileId) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await writeSplit(
        conn,
        createMessage({
          kind: "handshake",
          txid: 5,
          fileId,
          peerId: new Uint8Array(16).fill(2),
          port: 0,
        }),
        cuts,
      );
      const decoder = new FrameDecoder();
      const messages: Message[] = [];
      const buffer = new Uint8Array(4096);
      for (let i = 0; i < 20 && messages.length < 2; i++) {
        const n = await conn.read(buffer);
        if (n === null) break;
        decoder.push(buffer.subarray(0, n), (m) => messages.push(m));
      }
      conn.close();
      assert.deepEqual(messages.map((m) => m.kind), ["ack", "bitfield"]);
      assert.equal(messages[0]!.txid, 5);
    });
  });
}

Deno.test("PeerServer drops a BitTorrent handshake for a file it does not share, and says why", async () => {
  await withServer(async (server, _fileId, dropped) => {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    await conn.write(encodeBtHandshake({
      infoHash: new Uint8Array(20).fill(0xee),
      peerId: new Uint8Array(20).fill(1),
    }));
    const got = await readAll(conn);
    assert.equal(got.byteLength, 0, "nothing is sent for an unknown file");
    assert.equal(dropped.length, 1);
    assert.match(dropped[0]!, /not shared here/);
  });
});

// Neither handshake may begin an MSE handshake, whose first 96 bytes are a
// random-looking key: garbage is known as such only when no MSE sync hash
// follows within PadA's 512 bytes.
const FILLER = new Uint8Array(700).fill(0x78);
for (
  const [name, bytes] of [
    ["HTTP", new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")],
    [
      "byte 19 then another protocol name",
      new TextEncoder().encode("\x13Bittorrent protocol"),
    ],
    ["S then not H", Uint8Array.of(0x53, 0x00, 0, 0)],
  ] as const
) {
  Deno.test(`PeerServer drops garbage as misbehaviour: ${name}`, async () => {
    await withServer(async (server, _fileId, dropped) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await conn.write(new Uint8Array([...bytes, ...FILLER]));
      await readAll(conn);
      assert.equal(dropped.length, 1, dropped.join("; "));
      assert.match(dropped[0]!, /no MSE sync hash/);
    });
  });
}

Deno.test("PeerServer waits no longer than its handshake timeout for the rest of a short garbage start, and serves nothing", async () => {
  Deno.env.set("SHOAL_HANDSHAKE_TIMEOUT_MS", "300");
  try {
    await withServer(async (server) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      const started = performance.now();
      const got = await readAll(conn);
      assert.equal(got.byteLength, 0);
      // Closed by the server, not by readAll's own 3 s bound.
      assert.ok(performance.now() - started < 2_900, "the server kept it open");
    });
  } finally {
    Deno.env.delete("SHOAL_HANDSHAKE_TIMEOUT_MS");
  }
});

for (const cuts of [[], [50], [96, 97]]) {
  Deno.test(`PeerServer answers an MSE handshake, then BitTorrent in plain text (split at ${cuts})`, async () => {
    await withServer(async (server, fileId, dropped) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      const a = new MseInitiator(fileId.subarray(0, 20));
      await writeSplit(conn, a.step1(new Uint8Array(33).fill(5)), cuts);
      const buffer = new Uint8Array(64 * 1024);
      let received = new Uint8Array();
      const readMore = async () => {
        const n = await conn.read(buffer);
        if (n === null) throw new Error(`closed: ${dropped.join("; ")}`);
        received = new Uint8Array([...received, ...buffer.subarray(0, n)]);
      };
      for (let i = 0; i < 20 && received.byteLength < MSE_KEY_BYTES; i++) {
        await readMore();
      }
      a.takeYb(received);
      received = received.slice(MSE_KEY_BYTES);
      const peerId = new TextEncoder().encode("-LT2080-abcdefghijkl");
      await conn.write(
        a.step3(
          encodeBtHandshake({ infoHash: fileId.subarray(0, 20), peerId }),
        ),
      );
      let step4 = a.readStep4(received);
      for (
        let i = 0;
        i < 40 && (step4 === null || step4.after.byteLength < 68);
        i++
      ) {
        await readMore();
        step4 = a.readStep4(received);
      }
      conn.close();
      assert.equal(step4?.select, MSE_CRYPTO_PLAINTEXT);
      let handshake: { infoHash: Uint8Array } | null = null;
      new BtFrameDecoder().push(step4!.after, (frame) => {
        if (frame.kind === "handshake") handshake ??= frame;
      });
      assert.deepEqual(handshake!.infoHash, fileId.subarray(0, 20));
      assert.deepEqual(dropped, []);
    });
  });
}

Deno.test("MSE handshakes past the server's budget are closed at once, unanswered, as before MSE was answered", async () => {
  await using dir = await h.tempDir();
  const library = new Library(join(dir.path, ".shoal"));
  const dropped: string[] = [];
  // A budget of one handshake that never refills.
  const bt: BtContext = {
    peerId: makeBtPeerId(),
    blocks: new BtBlockSource(library),
    port: 0,
    mse: new TokenBucket(1, { burst: 1, now: () => 0 }),
  };
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answers: number[] = [];
  for (let k = 0; k < 2; k++) {
    const client = await Deno.connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
    });
    const accepted = await listener.accept();
    const serving = serveAnyProtocol(accepted, {
      library,
      bt,
      onMisbehaviour: (reason) => dropped.push(reason),
    });
    await client.write(new MseInitiator(new Uint8Array(20)).step1());
    const buffer = new Uint8Array(4096);
    const n = await Promise.race([
      client.read(buffer).catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 3_000)),
    ]);
    answers.push(n ?? 0);
    client.close();
    await serving;
  }
  assert.ok(answers[0]! >= MSE_KEY_BYTES, `first: ${answers[0]} bytes`);
  assert.equal(answers[1], 0, "the second was answered");
  assert.equal(dropped.length, 1, dropped.join("; "));
  assert.match(
    dropped[0]!,
    /neither a Shoal handshake nor a plain BitTorrent one/,
  );
});
