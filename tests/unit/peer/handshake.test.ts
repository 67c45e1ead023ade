import assert from "node:assert/strict";
import { ErrorCode, parseMessage } from "@shoal/protocol";
import {
  handshakeFrame,
  HandshakeReply,
} from "../../../peer/wire/handshake.ts";

const ack = { kind: "ack", txid: 0, intervalSeconds: 0 } as const;

Deno.test("handshakeFrame() encodes a HANDSHAKE with the file, our id and port", () => {
  const fileId = new Uint8Array(32).fill(7);
  const peerId = new Uint8Array(16).fill(9);
  const message = parseMessage(
    handshakeFrame({ fileId, peerId, listenPort: 7000 }),
  );
  assert.equal(message.kind, "handshake");
  if (message.kind !== "handshake") return;
  assert.deepEqual(message.fileId, fileId);
  assert.deepEqual(message.peerId, peerId);
  assert.equal(message.port, 7000);
});

Deno.test("HandshakeReply is ready after ACK then a BITFIELD of the file's length", () => {
  const reply = new HandshakeReply(9);
  assert.deepEqual(reply.step(ack), { kind: "more" });
  assert.equal(reply.done, false);
  const bits = new Uint8Array([0xff, 0x80]);
  assert.deepEqual(reply.step({ kind: "bitfield", txid: 0, bits }), {
    kind: "ready",
    bitfield: bits,
  });
  assert.equal(reply.done, true);
});

Deno.test("HandshakeReply tells a refusal from a peer that breaks the protocol", () => {
  assert.deepEqual(
    new HandshakeReply(8).step({
      kind: "error",
      txid: 0,
      code: ErrorCode.NOT_AVAILABLE,
      text: "no such file",
    }),
    { kind: "refused", reason: "peer refused: no such file" },
  );
  assert.deepEqual(
    new HandshakeReply(8).step({ kind: "choke", txid: 0 }),
    {
      kind: "misbehaved",
      reason: "expected ACK to the handshake, got choke",
    },
  );
  const noBitfield = new HandshakeReply(8);
  noBitfield.step(ack);
  assert.deepEqual(noBitfield.step({ kind: "unchoke", txid: 0 }), {
    kind: "misbehaved",
    reason: "expected BITFIELD, got unchoke",
  });
  const wrongLength = new HandshakeReply(8);
  wrongLength.step(ack);
  assert.deepEqual(
    wrongLength.step({ kind: "bitfield", txid: 0, bits: new Uint8Array(2) }),
    { kind: "misbehaved", reason: "bitfield has the wrong length" },
  );
});

Deno.test("HandshakeReply without a chunk count takes a BITFIELD of any length (manifest fetch)", () => {
  const reply = new HandshakeReply(null);
  reply.step(ack);
  assert.equal(
    reply.step({ kind: "bitfield", txid: 0, bits: new Uint8Array(3) }).kind,
    "ready",
  );
});
