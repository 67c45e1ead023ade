/**
 * The peer's TCP port speaks both protocols: a real PeerServer on loopback
 * tells a Shoal handshake from a BitTorrent one by the first bytes, answers
 * each in its own protocol, and drops garbage and a BitTorrent handshake for
 * a file it does not share (reported as misbehaviour), whatever way the
 * first bytes are split across TCP segments.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BtFrameDecoder,
  createMessage,
  encodeBtHandshake,
  FrameDecoder,
  type Message,
} from "@shoal/protocol";
import { Library } from "../../peer/library/library.ts";
import { PeerServer } from "../../peer/wire/server.ts";
import * as h from "../_helpers/mod.ts";

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
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
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
      await conn.write(bytes);
      await readAll(conn);
      assert.equal(dropped.length, 1, dropped.join("; "));
    });
  });
}
