import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createHeader,
  createMessage,
  HEADER_BYTES,
  HeaderFlag,
  kindInfo,
  MAGIC,
  type Message,
  parseBody,
  parseHeader,
  parseMessage,
  PROTOCOL_VERSION,
} from "@shoal/protocol";
import {
  ALL_KINDS,
  datagramArb,
  messageArb,
} from "../../../bench/_protocol_inputs.ts";

// Seeded so a failure can be replayed; fast-check prints the seed and path.
const PROPERTY_OPTIONS = { seed: 0x5348_0001, numRuns: 150 };

for (const kind of ALL_KINDS) {
  Deno.test(`parseMessage() round-trips every valid ${kind} message`, () => {
    fc.assert(
      fc.property(messageArb(kind), (message: Message) => {
        const bytes = createMessage(message);
        const decoded = parseMessage(bytes);
        assert.deepStrictEqual(decoded, message);
        assert.deepStrictEqual(createMessage(decoded), bytes);
      }),
      PROPERTY_OPTIONS,
    );
  });
}

Deno.test("createMessage() writes the header fields of every kind", () => {
  fc.assert(
    fc.property(datagramArb, (bytes) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      assert.equal(view.getUint16(0), MAGIC);
      assert.equal(view.getUint8(2), PROTOCOL_VERSION);
      const header = parseHeader(bytes);
      // Only a HANDSHAKE or its ACK may say it understands PEX.
      const allowed = header.kind === "handshake" || header.kind === "ack"
        ? HeaderFlag.PEX
        : 0;
      assert.equal(view.getUint8(5) & ~allowed, 0, "senders write flags 0");
      assert.equal(view.getUint32(10), bytes.byteLength - HEADER_BYTES);
      const info = kindInfo(header.kind);
      assert.equal(header.type, info.type);
      assert.equal(header.code, info.code);
    }),
    { seed: 0x5348_0002, numRuns: 300 },
  );
});

Deno.test("parseHeader() and parseBody() agree with parseMessage()", () => {
  fc.assert(
    fc.property(datagramArb, (bytes) => {
      const header = parseHeader(bytes);
      assert.deepStrictEqual(
        parseBody(header, bytes.subarray(HEADER_BYTES)),
        parseMessage(bytes),
      );
    }),
    { seed: 0x5348_0003, numRuns: 300 },
  );
});

Deno.test("parseMessage() ignores the flag bits it does not know", () => {
  fc.assert(
    fc.property(
      datagramArb,
      fc.integer({ min: 1, max: 255 }),
      (bytes, flags) => {
        const flagged = bytes.slice();
        flagged[5] = (flags & ~HeaderFlag.PEX) | (bytes[5]! & HeaderFlag.PEX);
        assert.deepStrictEqual(parseMessage(flagged), parseMessage(bytes));
      },
    ),
    { seed: 0x5348_0004, numRuns: 200 },
  );
});

Deno.test("parseMessage() reads the PEX flag on HANDSHAKE and ACK only", () => {
  const plain = createMessage({ kind: "ack", txid: 1, intervalSeconds: 0 });
  const flagged = plain.slice();
  flagged[5] = HeaderFlag.PEX;
  assert.deepStrictEqual(parseMessage(flagged), {
    kind: "ack",
    txid: 1,
    intervalSeconds: 0,
    pex: true,
  });
  const have = createMessage({ kind: "have", txid: 0, index: 1 });
  have[5] = HeaderFlag.PEX;
  assert.deepStrictEqual(parseMessage(have), {
    kind: "have",
    txid: 0,
    index: 1,
  });
});

Deno.test("createHeader() refuses a body length outside the kind's limits", () => {
  for (const kind of ALL_KINDS) {
    const info = kindInfo(kind);
    assert.throws(
      () => createHeader(kind, { txid: 1, bodyLength: info.maxBody + 1 }),
      RangeError,
    );
    if (info.minBody > 0) {
      assert.throws(
        () => createHeader(kind, { txid: 1, bodyLength: info.minBody - 1 }),
        RangeError,
      );
    }
    assert.equal(
      parseHeader(createHeader(kind, { txid: 7, bodyLength: info.maxBody }))
        .bodyLength,
      info.maxBody,
    );
  }
});

Deno.test("createMessage() refuses fields that cannot be encoded", () => {
  const id = new Uint8Array(32);
  assert.throws(
    () =>
      createMessage({
        kind: "handshake",
        txid: 1,
        fileId: new Uint8Array(31),
        peerId: new Uint8Array(16),
        port: 1,
      }),
    TypeError,
  );
  assert.throws(
    () =>
      createMessage({
        kind: "request",
        txid: 1,
        cookie: 0n,
        wanted: 0,
        query: { name: "../etc/passwd" },
      }),
    TypeError,
  );
  assert.throws(
    () =>
      createMessage({
        kind: "peer_list",
        txid: 1,
        fileId: id,
        name: "a",
        size: 1,
        chunkCount: 1,
        peers: [{ host: "example.com", port: 1, complete: false }],
      }),
    TypeError,
  );
  assert.throws(
    () =>
      createMessage({
        kind: "error",
        txid: 1,
        code: 1,
        text: "x".repeat(201),
      }),
    RangeError,
  );
});

Deno.test("a PEER_LIST keeps which peers are BitTorrent clients (flag bit 1)", () => {
  const message = {
    kind: "peer_list" as const,
    txid: 9,
    fileId: new Uint8Array(32).fill(3),
    name: "a.bin",
    size: 10,
    chunkCount: 1,
    peers: [
      { host: "10.0.0.1", port: 7000, complete: true },
      { host: "10.0.0.2", port: 6881, complete: false, bittorrent: true },
    ],
  };
  const bytes = createMessage(message);
  assert.deepStrictEqual(parseMessage(bytes), message);
});
