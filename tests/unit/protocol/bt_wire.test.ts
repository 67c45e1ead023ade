import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BT_HANDSHAKE_BYTES,
  BT_PIECE_PREFIX_BYTES,
  type BtFrame,
  BtFrameDecoder,
  type BtMessage,
  BtMessageId,
  decodeBtBody,
  decodeBtHandshake,
  detectWireProtocol,
  encodeBtHandshake,
  encodeBtMessage,
  encodeBtRanges,
  MAX_BT_UNKNOWN_BYTES,
  ProtocolError,
  writeBtPiecePrefix,
} from "@shoal/protocol";
import { concatBytes as concat } from "../../../bench/_bytes.ts";
import { btMessageArb } from "../../../bench/_bt_inputs.ts";

function isProtocolError(code: string) {
  return (error: unknown) =>
    error instanceof ProtocolError && error.code === code;
}

function decodeAll(
  chunks: Uint8Array[],
  decoder = new BtFrameDecoder(),
): BtFrame[] {
  const out: BtFrame[] = [];
  for (const chunk of chunks) decoder.push(chunk, (frame) => out.push(frame));
  decoder.finish();
  return out;
}

const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const PEER_ID = new TextEncoder().encode("-SH0200-abcdefghijkl");

Deno.test("encodeBtHandshake() writes BEP 3's 68 bytes with the BEP 10, BEP 6 and BEP 52 bits", () => {
  const bytes = encodeBtHandshake({
    infoHash: INFO_HASH,
    peerId: PEER_ID,
    extended: true,
    fast: true,
    v2: true,
  });
  assert.equal(bytes.byteLength, BT_HANDSHAKE_BYTES);
  assert.equal(bytes[0], 19);
  assert.equal(
    new TextDecoder().decode(bytes.subarray(1, 20)),
    "BitTorrent protocol",
  );
  assert.deepEqual([...bytes.subarray(20, 28)], [0, 0, 0, 0, 0, 0x10, 0, 0x14]);
  assert.deepEqual(bytes.subarray(28, 48), INFO_HASH);
  assert.deepEqual(bytes.subarray(48, 68), PEER_ID);
  const decoded = decodeBtHandshake(bytes);
  assert.equal(decoded.extended, true);
  assert.equal(decoded.fast, true);
  assert.equal(decoded.v2, true);
  assert.deepEqual(decoded.infoHash, INFO_HASH);
  assert.deepEqual(decoded.peerId, PEER_ID);
});

Deno.test("decodeBtHandshake() reads libtorrent's reserved bits (DHT, extensions, fast) and no v2 bit", () => {
  // What libtorrent 2.0 sends for a v2-only torrent: 0x01 DHT, 0x10 extensions, 0x04 fast.
  const bytes = encodeBtHandshake({
    infoHash: INFO_HASH,
    peerId: PEER_ID,
    reserved: Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0x05),
  });
  const decoded = decodeBtHandshake(bytes);
  assert.deepEqual(
    [decoded.extended, decoded.fast, decoded.v2],
    [true, true, false],
  );
  assert.deepEqual([...decoded.reserved], [0, 0, 0, 0, 0, 0x10, 0, 0x05]);
});

Deno.test("decodeBtHandshake() refuses a wrong protocol name and a wrong size", () => {
  const good = encodeBtHandshake({ infoHash: INFO_HASH, peerId: PEER_ID });
  const bad = good.slice();
  bad[5] = 0x21;
  assert.throws(() => decodeBtHandshake(bad), isProtocolError("bad_magic"));
  assert.throws(
    () => decodeBtHandshake(good.subarray(0, 67)),
    isProtocolError("too_short"),
  );
  assert.throws(
    () => decodeBtHandshake(concat(good, new Uint8Array(1))),
    isProtocolError("too_long"),
  );
});

Deno.test("detectWireProtocol() tells BitTorrent from Shoal by the first bytes", () => {
  const bt = encodeBtHandshake({ infoHash: INFO_HASH, peerId: PEER_ID });
  const cases: [string, Uint8Array, string | null][] = [
    ["nothing yet", new Uint8Array(0), null],
    ["Shoal's magic", Uint8Array.of(0x53, 0x48, 2, 0), "shoal"],
    ["one byte of Shoal's magic", Uint8Array.of(0x53), null],
    ["S then not H", Uint8Array.of(0x53, 0x00), "unknown"],
    ["byte 19 alone", bt.subarray(0, 1), null],
    ["19 bytes of the name", bt.subarray(0, 19), null],
    ["the whole name", bt.subarray(0, 20), "bittorrent"],
    ["a whole handshake", bt, "bittorrent"],
    ["19 then another name", Uint8Array.of(19, 0x42, 0x58), "unknown"],
    ["an HTTP request", new TextEncoder().encode("GET / HTTP/1.1"), "unknown"],
    ["a zero byte", Uint8Array.of(0), "unknown"],
  ];
  for (const [name, bytes, expected] of cases) {
    assert.equal(detectWireProtocol(bytes), expected, name);
  }
});

const EXAMPLES: BtMessage[] = [
  { kind: "keepalive" },
  { kind: "choke" },
  { kind: "unchoke" },
  { kind: "interested" },
  { kind: "not_interested" },
  { kind: "have", index: 7 },
  { kind: "bitfield", bits: Uint8Array.of(0xff, 0x80) },
  { kind: "request", index: 1, begin: 16384, length: 16384 },
  { kind: "piece", index: 1, begin: 0, block: Uint8Array.of(1, 2, 3) },
  { kind: "cancel", index: 1, begin: 16384, length: 16384 },
  { kind: "port", port: 6881 },
  { kind: "suggest", index: 4 },
  { kind: "have_all" },
  { kind: "have_none" },
  { kind: "reject", index: 2, begin: 0, length: 100 },
  { kind: "allowed_fast", index: 9 },
  { kind: "extended", id: 0, payload: new TextEncoder().encode("de") },
  {
    kind: "hash_request",
    piecesRoot: new Uint8Array(32).fill(3),
    baseLayer: 5,
    index: 0,
    length: 4,
    proofLayers: 1,
  },
  {
    kind: "hashes",
    piecesRoot: new Uint8Array(32).fill(3),
    baseLayer: 5,
    index: 0,
    length: 2,
    proofLayers: 0,
    hashes: new Uint8Array(64).fill(9),
  },
  {
    kind: "hash_reject",
    piecesRoot: new Uint8Array(32).fill(3),
    baseLayer: 0,
    index: 2,
    length: 2,
    proofLayers: 3,
  },
  { kind: "unknown", id: 99, payload: Uint8Array.of(1, 2) },
];

Deno.test("encodeBtMessage() writes BEP 3's length, id and fields (golden bytes)", () => {
  const hex = (m: BtMessage) =>
    [...encodeBtMessage(m)].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
  assert.equal(hex({ kind: "keepalive" }), "00000000");
  assert.equal(hex({ kind: "interested" }), "0000000102");
  assert.equal(hex({ kind: "have", index: 258 }), "000000050400000102");
  assert.equal(
    hex({ kind: "request", index: 1, begin: 16384, length: 16384 }),
    "0000000d06000000010000400000004000",
  );
  assert.equal(hex({ kind: "have_all" }), "000000010e");
  assert.equal(
    hex({ kind: "reject", index: 0, begin: 0, length: 1 }),
    "0000000d10000000000000000000000001",
  );
  assert.equal(
    hex({ kind: "extended", id: 3, payload: Uint8Array.of(0x64, 0x65) }),
    "00000004140364" + "65",
  );
});

Deno.test("BtFrameDecoder decodes every message kind back to itself", () => {
  const stream = concat(
    encodeBtHandshake({ infoHash: INFO_HASH, peerId: PEER_ID }),
    ...EXAMPLES.map(encodeBtMessage),
  );
  const frames = decodeAll([stream]);
  assert.equal(frames[0]!.kind, "handshake");
  assert.deepStrictEqual(frames.slice(1), EXAMPLES);
});

Deno.test("BtFrameDecoder decodes the same frames split at every byte boundary", () => {
  const stream = concat(
    encodeBtHandshake({ infoHash: INFO_HASH, peerId: PEER_ID }),
    ...EXAMPLES.slice(0, 12).map(encodeBtMessage),
  );
  const whole = decodeAll([stream]);
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    assert.deepStrictEqual(
      decodeAll([stream.subarray(0, cut), stream.subarray(cut)]),
      whole,
      `cut at ${cut}`,
    );
  }
  // One byte at a time.
  const bytes = [...stream].map((b) => Uint8Array.of(b));
  assert.deepStrictEqual(decodeAll(bytes), whole);
});

Deno.test("BtFrameDecoder round-trips random messages in random chunks (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(btMessageArb, { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
      (messages, cuts) => {
        const stream = concat(...messages.map(encodeBtMessage));
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < stream.byteLength; i++) {
          const next = at + cuts[i % cuts.length]!;
          chunks.push(stream.subarray(at, next));
          at = next;
        }
        const out = decodeAll(chunks, new BtFrameDecoder({ handshake: false }));
        assert.deepStrictEqual(out, messages);
      },
    ),
    { seed: 0x4254_0001, numRuns: 500 },
  );
});

Deno.test("BtFrameDecoder refuses an oversized length from the 5-byte header, before any body byte", () => {
  const cases: [string, number, number, string][] = [
    [
      "a piece with a 16 KiB + 1 block",
      BtMessageId.PIECE,
      1 + 8 + 16385,
      "too_long",
    ],
    ["a 2 GiB piece", BtMessageId.PIECE, 2 ** 31, "too_long"],
    ["a have of 6 bytes", BtMessageId.HAVE, 6, "too_long"],
    ["a have of 4 bytes", BtMessageId.HAVE, 4, "bad_length"],
    ["a request of 14 bytes", BtMessageId.REQUEST, 14, "too_long"],
    ["a choke with a body", BtMessageId.CHOKE, 2, "too_long"],
    ["a bitfield of 1 MiB", BtMessageId.BITFIELD, 1 + 2 ** 20, "too_long"],
    [
      "an extended message of 64 KiB",
      BtMessageId.EXTENDED,
      1 + 65536,
      "too_long",
    ],
    [
      "hashes not a multiple of 32",
      BtMessageId.HASHES,
      1 + 48 + 31,
      "bad_length",
    ],
    [
      "a hash request of 50 bytes",
      BtMessageId.HASH_REQUEST,
      1 + 49,
      "too_long",
    ],
    ["an unknown message of 4 KiB", 99, 1 + 4096, "too_long"],
    ["a 4 GiB unknown message", 250, 2 ** 32 - 1, "too_long"],
  ];
  for (const [name, id, length, code] of cases) {
    const header = new Uint8Array(5);
    new DataView(header.buffer).setUint32(0, length);
    header[4] = id;
    const decoder = new BtFrameDecoder({ handshake: false });
    assert.throws(
      () => decoder.push(header, () => assert.fail("emitted")),
      isProtocolError(code),
      name,
    );
  }
});

Deno.test("BtFrameDecoder accepts the largest allowed piece and unknown message", () => {
  const block = new Uint8Array(16384).fill(5);
  const unknown = new Uint8Array(MAX_BT_UNKNOWN_BYTES);
  const frames = decodeAll(
    [
      encodeBtMessage({ kind: "piece", index: 0, begin: 0, block }),
      encodeBtMessage({ kind: "unknown", id: 99, payload: unknown }),
    ],
    new BtFrameDecoder({ handshake: false }),
  );
  assert.deepStrictEqual(frames.map((f) => f.kind), ["piece", "unknown"]);
});

Deno.test("BtFrameDecoder refuses a request for more than 16 KiB or for nothing", () => {
  for (const length of [0, 16385, 32768]) {
    const bytes = encodeBtMessage({
      kind: "request",
      index: 0,
      begin: 0,
      length: 1,
    });
    new DataView(bytes.buffer).setUint32(13, length);
    assert.throws(
      () => decodeAll([bytes], new BtFrameDecoder({ handshake: false })),
      isProtocolError("bad_value"),
      `length ${length}`,
    );
  }
});

Deno.test("BtFrameDecoder refuses a wrong protocol name at its first wrong byte", () => {
  const decoder = new BtFrameDecoder();
  decoder.push(Uint8Array.of(19, 0x42), () => {});
  assert.throws(
    () => decoder.push(Uint8Array.of(0x00), () => {}),
    isProtocolError("bad_magic"),
  );
});

Deno.test("BtFrameDecoder.expectPieces() requires the exact bitfield size", () => {
  const decoder = new BtFrameDecoder({ handshake: false });
  decoder.expectPieces(12); // 2 bytes
  assert.throws(
    () =>
      decoder.push(
        encodeBtMessage({ kind: "bitfield", bits: new Uint8Array(3) }),
        () => {},
      ),
    isProtocolError("too_long"),
  );
  const exact = new BtFrameDecoder({ handshake: false });
  exact.expectPieces(12);
  assert.throws(
    () =>
      exact.push(
        encodeBtMessage({ kind: "bitfield", bits: new Uint8Array(1) }),
        () => {},
      ),
    isProtocolError("bad_length"),
  );
});

Deno.test("BtFrameDecoder.finish() throws inside a message and not between messages", () => {
  const decoder = new BtFrameDecoder({ handshake: false });
  decoder.push(encodeBtMessage({ kind: "have", index: 1 }), () => {});
  decoder.finish();
  decoder.push(Uint8Array.of(0, 0, 0, 5, 4, 0), () => {});
  assert.throws(() => decoder.finish(), isProtocolError("too_short"));
});

Deno.test("BtFrameDecoder in views mode hands out views valid during emit", () => {
  const block = Uint8Array.from({ length: 100 }, (_, i) => i);
  const bytes = encodeBtMessage({ kind: "piece", index: 2, begin: 0, block });
  const seen: number[][] = [];
  const decoder = new BtFrameDecoder({ handshake: false, views: true });
  // Split so the body is buffered, then in one chunk.
  decoder.push(bytes.subarray(0, 20), () => {});
  decoder.push(bytes.subarray(20), (frame) => {
    assert.equal(frame.kind, "piece");
    seen.push([...(frame as { block: Uint8Array }).block]);
  });
  decoder.push(bytes, (frame) => {
    seen.push([...(frame as { block: Uint8Array }).block]);
  });
  assert.deepEqual(seen, [[...block], [...block]]);
});

Deno.test("writeBtPiecePrefix() gives the same bytes as encodeBtMessage()", () => {
  const block = new Uint8Array(16384).fill(7);
  const frame = new Uint8Array(BT_PIECE_PREFIX_BYTES + block.byteLength);
  writeBtPiecePrefix(frame, { index: 5, begin: 32768, length: 16384 });
  frame.set(block, BT_PIECE_PREFIX_BYTES);
  assert.deepEqual(
    frame,
    encodeBtMessage({ kind: "piece", index: 5, begin: 32768, block }),
  );
});

Deno.test("decodeBtBody() gives a message or a ProtocolError for random bodies", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ maxLength: 200 }),
      (id, body) => {
        try {
          const message = decodeBtBody(id, body);
          const again = encodeBtMessage(message);
          assert.deepEqual(again.subarray(5), body);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { seed: 0x4254_0002, numRuns: 3000 },
  );
});

Deno.test("encodeBtRanges() gives what encodeBtMessage() gives for each range, one after another", () => {
  const ranges = [
    { index: 0, begin: 0, length: 16_384 },
    { index: 7, begin: 16_384, length: 123 },
    { index: 0xffff_ffff, begin: 0xffff_ffff, length: 0xffff_ffff },
  ];
  for (const kind of ["request", "cancel", "reject"] as const) {
    const expected = ranges.flatMap((range) => [
      ...encodeBtMessage({ kind, ...range }),
    ]);
    assert.deepEqual([...encodeBtRanges(kind, ranges)], expected, kind);
  }
  assert.equal(encodeBtRanges("request", []).byteLength, 0);
});
