import assert from "node:assert/strict";
import {
  CONNECT_PADDING_BYTES,
  createHeader,
  createMessage,
  HEADER_BYTES,
  kindInfo,
  MAX_DATAGRAM_BYTES,
  MAX_PEERS_PER_LIST,
  type MessageKind,
  parseBody,
  parseHeader,
  parseMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type ProtocolErrorCode,
} from "@shoal/protocol";
import { ALL_KINDS } from "../../../bench/_protocol_inputs.ts";

/** Header and body, with the body length written as `declared` (default: true length). */
function frame(
  kind: MessageKind,
  body: Uint8Array,
  declared = body.byteLength,
): Uint8Array {
  const info = kindInfo(kind);
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x5348);
  view.setUint8(2, PROTOCOL_VERSION);
  view.setUint8(3, info.type);
  view.setUint8(4, info.code);
  view.setUint32(6, 42);
  view.setUint32(10, declared);
  out.set(body, HEADER_BYTES);
  return out;
}

function bytes(...parts: (number | number[] | Uint8Array | string)[]) {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") {
      out.push(...new TextEncoder().encode(part));
    } else out.push(...part);
  }
  return new Uint8Array(out);
}

const u16 = (value: number) => [value >> 8, value & 0xff];
const u32 = (value: number) => [
  (value >>> 24) & 0xff,
  (value >>> 16) & 0xff,
  (value >>> 8) & 0xff,
  value & 0xff,
];
const zeros = (count: number) => new Uint8Array(count);
const FILE_ID = zeros(32);
const PEER_ID = zeros(16);
const COOKIE = zeros(8);

function assertRejects(
  input: Uint8Array,
  code: ProtocolErrorCode,
  pattern?: RegExp,
): ProtocolError {
  let caught: unknown;
  try {
    parseMessage(input);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProtocolError, `expected a ProtocolError`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** A REQUEST by name, whose name bytes are `name`. */
function requestByName(name: Uint8Array): Uint8Array {
  return frame("request", bytes(COOKIE, 0, 1, name.byteLength, name));
}

/** A PEER_LIST body header for a file named "a" followed by `rest`. */
function peerList(rest: Uint8Array | number[]): Uint8Array {
  return frame(
    "peer_list",
    bytes(FILE_ID, zeros(7), 1, u32(1), 1, "a", rest),
  );
}

Deno.test("parseMessage() rejects input shorter than the header", () => {
  const valid = createMessage({ kind: "get_manifest", txid: 1 });
  for (let length = 0; length < HEADER_BYTES; length++) {
    assertRejects(valid.subarray(0, length), "too_short");
  }
});

Deno.test("parseMessage() rejects a wrong magic", () => {
  const input = createMessage({ kind: "connect", txid: 1 });
  input[0] = 0x42;
  const error = assertRejects(input, "bad_magic", /magic 0x4248/);
  assert.equal(error.offset, 0);
  const tracker = createMessage({ kind: "connect", txid: 1 });
  tracker[1] = 0x49;
  assertRejects(tracker, "bad_magic");
});

Deno.test("parseMessage() rejects a wrong version", () => {
  for (const version of [0, 1, 3, 255]) {
    const input = createMessage({ kind: "connect", txid: 1 });
    input[2] = version;
    const error = assertRejects(input, "bad_version", /version/);
    assert.equal(error.offset, 2);
  }
});

Deno.test("parseMessage() rejects an unknown type or code", () => {
  const known = new Set(
    ALL_KINDS.map((kind) => kindInfo(kind).type * 256 + kindInfo(kind).code),
  );
  for (let type = 0; type < 256; type++) {
    for (let code = 0; code < 256; code++) {
      if (known.has(type * 256 + code)) continue;
      const input = createMessage({ kind: "get_manifest", txid: 1 });
      input[3] = type;
      input[4] = code;
      assertRejects(input, "bad_type", /unknown type/);
    }
  }
});

Deno.test("parseHeader() rejects a header whose body length exceeds the limit", () => {
  for (const kind of ALL_KINDS) {
    const { maxBody } = kindInfo(kind);
    const header = frame(kind, zeros(0), maxBody + 1);
    assert.throws(
      () => parseHeader(header),
      (error: unknown) =>
        error instanceof ProtocolError && error.code === "too_long" &&
        error.offset === 10,
    );
  }
  const huge = frame("chunk_data", zeros(0), 0xffff_ffff);
  assert.throws(() => parseHeader(huge), ProtocolError);
});

Deno.test("parseHeader() rejects a body length below the kind's minimum", () => {
  for (const kind of ALL_KINDS) {
    const { minBody } = kindInfo(kind);
    if (minBody === 0) continue;
    assert.throws(
      () => parseHeader(frame(kind, zeros(0), minBody - 1)),
      (error: unknown) =>
        error instanceof ProtocolError && error.code === "bad_length",
    );
  }
});

Deno.test("parseMessage() rejects a datagram-sized body above the datagram limit", () => {
  const body = bytes(COOKIE, PEER_ID, u16(1), 0);
  const padded = new Uint8Array(MAX_DATAGRAM_BYTES - HEADER_BYTES + 1);
  padded.set(body);
  assertRejects(frame("register", padded), "too_long");
});

Deno.test("parseMessage() rejects a declared length that does not match the bytes", () => {
  const valid = createMessage({ kind: "get", txid: 1, index: 3 });
  assertRejects(valid.subarray(0, valid.byteLength - 1), "too_short");
  const longer = bytes(valid, 0);
  assertRejects(longer, "trailing_bytes");
  const chunk = createMessage({
    kind: "chunk_data",
    txid: 1,
    index: 0,
    data: zeros(10),
  });
  assertRejects(chunk.subarray(0, chunk.byteLength - 3), "too_short");
  assertRejects(bytes(chunk, [1, 2, 3]), "trailing_bytes");
});

Deno.test("parseBody() rejects a body whose length differs from the header", () => {
  const valid = createMessage({ kind: "have", txid: 1, index: 3 });
  const header = parseHeader(valid);
  assert.throws(
    () => parseBody(header, zeros(3)),
    (error: unknown) =>
      error instanceof ProtocolError && error.code === "bad_length",
  );
});

Deno.test("parseMessage() rejects trailing bytes inside the declared body", () => {
  // The header's length covers the extra bytes, so only the body decoder
  // can notice them.
  const cases: [MessageKind, Uint8Array][] = [
    ["request", bytes(COOKIE, 0, 0, FILE_ID, 0)],
    ["request", bytes(COOKIE, 0, 1, 1, "a", 0)],
    ["register", bytes(COOKIE, PEER_ID, u16(1), 0, 0)],
    ["error", bytes(u16(1), 1, "x", "y")],
    ["list", bytes(COOKIE, u32(0), 0, 0)],
    ["candidates", bytes(0, 0)],
    ["file_list", bytes(u32(0), 0, 7)],
    ["peer_list", bytes(FILE_ID, zeros(8), u32(0), 1, "a", u16(0), 9)],
    [
      "become_seeder",
      bytes(COOKIE, PEER_ID, u16(1), FILE_ID, zeros(8), u32(0), 0, 1, "a", 0),
    ],
  ];
  for (const [kind, body] of cases) {
    assertRejects(frame(kind, body), "trailing_bytes");
  }
});

Deno.test("parseMessage() rejects bodies that end inside a field", () => {
  const cases: [MessageKind, Uint8Array][] = [
    ["register", bytes(COOKIE, PEER_ID, u16(1), 1, FILE_ID)],
    ["request", bytes(COOKIE, 0, 0, zeros(31))],
    ["request", bytes(COOKIE, 0, 1, 5, "abc")],
    ["error", bytes(u16(1), 5, "abc")],
    ["candidates", bytes(1, FILE_ID)],
    ["peer_list", bytes(FILE_ID, zeros(8), u32(0), 1, "a", u16(1), 0, 4, 1)],
  ];
  for (const [kind, body] of cases) {
    assertRejects(frame(kind, body), "too_short");
  }
});

Deno.test("parseMessage() rejects names that are not UTF-8", () => {
  for (
    const name of [
      [0xff],
      [0xc3],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0x61, 0x80, 0x62],
      [0xf4, 0x90, 0x80, 0x80],
    ]
  ) {
    assertRejects(requestByName(new Uint8Array(name)), "bad_string", /UTF-8/);
  }
  assertRejects(
    frame("error", bytes(u16(1), 2, [0xc3, 0x28])),
    "bad_string",
  );
  assertRejects(
    frame("list", bytes(COOKIE, u32(0), 1, [0x80])),
    "bad_string",
  );
});

Deno.test("parseMessage() rejects unsafe file names", () => {
  const unsafe = [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    "a\\b",
    "a\u0000b",
    "a\nb",
    "a\u001fb",
    "a\u007fb",
    "CON",
    "con.txt",
    "Lpt1",
    "nul",
    ".hidden",
    "trailing.",
    "trailing ",
    "a:b",
    'a"b',
    "a*b",
    "a?b",
    "a<b>",
    "a|b",
    "e\u0301", // not NFC
  ];
  for (const name of unsafe) {
    assertRejects(
      requestByName(new TextEncoder().encode(name)),
      "bad_string",
      /file name/,
    );
  }
  // 255 bytes is the most a one-byte length can say; the manifest, with a
  // two-byte length, is where a 256-byte name is tested (manifest.test.ts).
  const longest = "a".repeat(255);
  const request = parseMessage(
    requestByName(new TextEncoder().encode(longest)),
  );
  assert.deepStrictEqual(
    request.kind === "request" && request.query,
    { name: longest },
  );
});

Deno.test("parseMessage() rejects an unknown request query kind", () => {
  assertRejects(
    frame("request", bytes(COOKIE, 0, 3, 0)),
    "bad_value",
    /query kind/,
  );
});

Deno.test("parseMessage() rejects an id prefix query that is not 8 to 64 lowercase hex digits", () => {
  const text = (digits: string) => [...new TextEncoder().encode(digits)];
  for (
    const digits of ["", "abcdef0", "ABCDEF01", "abcdefgh", "a".repeat(65)]
  ) {
    assertRejects(
      frame("request", bytes(COOKIE, 0, 2, digits.length, ...text(digits))),
      "bad_value",
      /id prefix/,
    );
  }
  const request = parseMessage(
    frame("request", bytes(COOKIE, 0, 2, 8, ...text("abcdef01"))),
  );
  assert.deepStrictEqual(
    request.kind === "request" && request.query,
    { idPrefix: "abcdef01" },
  );
});

Deno.test("parseMessage() rejects an address family other than 4 or 6", () => {
  for (const family of [0, 1, 5, 16, 41, 255]) {
    assertRejects(
      peerList([...u16(1), 0, family, 127, 0, 0, 1, ...u16(80)]),
      "bad_value",
      /family/,
    );
  }
});

Deno.test("parseMessage() rejects port 0 in a peer list", () => {
  assertRejects(
    peerList([...u16(1), 0, 4, 127, 0, 0, 1, 0, 0]),
    "bad_value",
    /port 0/,
  );
  assertRejects(
    peerList([...u16(1), 0, 6, ...zeros(15), 1, 0, 0]),
    "bad_value",
    /port 0/,
  );
});

Deno.test("parseMessage() rejects a peer count over the cap", () => {
  assertRejects(peerList(u16(MAX_PEERS_PER_LIST + 1)), "bad_value", /peers/);
  assertRejects(peerList(u16(0xffff)), "bad_value");
  // At the cap the count is fine; the peers are then simply missing.
  assertRejects(peerList(u16(MAX_PEERS_PER_LIST)), "too_short");
});

Deno.test("parseMessage() rejects CONNECT padding that is not zero", () => {
  for (let at = 0; at < CONNECT_PADDING_BYTES; at++) {
    const padding = zeros(CONNECT_PADDING_BYTES);
    padding[at] = 1;
    assertRejects(frame("connect", padding), "bad_value", /padding/);
  }
  assertRejects(frame("connect", zeros(15)), "bad_length");
  assertRejects(frame("connect", zeros(17)), "too_long");
});

Deno.test("parseMessage() rejects numbers above their limits", () => {
  // chunk index above the largest chunk count
  assertRejects(frame("get", bytes(u32(262_144))), "bad_value");
  assertRejects(frame("have", bytes(u32(0xffff_ffff))), "bad_value");
  assertRejects(frame("chunk_data", bytes(u32(0xffff_ffff))), "bad_value");
  // file size above 2^50
  assertRejects(
    frame("chunk_count", bytes(FILE_ID, u32(1), [0, 4, 0, 0, 0, 0, 0, 1])),
    "bad_value",
    /file size/,
  );
  // chunk count above the limit
  assertRejects(
    frame("chunk_count", bytes(FILE_ID, u32(262_145), zeros(8))),
    "bad_value",
  );
});

Deno.test("parseMessage() accepts the edges of each limit", () => {
  const index = parseMessage(frame("get", bytes(u32(262_143))));
  assert.deepStrictEqual(index, { kind: "get", txid: 42, index: 262_143 });
  const size = parseMessage(
    frame(
      "chunk_count",
      bytes(FILE_ID, u32(262_144), [0, 4, 0, 0, 0, 0, 0, 0]),
    ),
  );
  assert.equal(size.kind === "chunk_count" && size.size, 2 ** 50);
  const empty = parseMessage(frame("bitfield", zeros(0)));
  assert.equal(empty.kind === "bitfield" && empty.bits.byteLength, 0);
});

Deno.test("createHeader() masks the transaction id to 32 bits", () => {
  const header = createHeader("get", { txid: -1, bodyLength: 4 });
  assert.equal(new DataView(header.buffer).getUint32(6), 0xffff_ffff);
});
