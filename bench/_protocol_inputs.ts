/**
 * Input generators shared by the protocol unit tests and `bench/fuzz.ts`:
 * fast-check arbitraries for every valid message and manifest, and a seeded
 * mutator (bit flips, truncation, extension, insertion, deletion, header
 * tweaks) that both the property tests and the long fuzzer run, and the
 * check that the tracker's in-place readers agree with `parseMessage`,
 * bencoded values (binary keys included) for `protocol/bencode.ts`, a
 * structure-aware bencode mutator for manifests and `.torrent` files, and
 * text mutation for magnet links.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import {
  ANNOUNCE_PEER_ID_AT,
  announcePort,
  type BDict,
  BEP15_EVENTS,
  BEP15_MAX_SCRAPE_HASHES,
  type Bep15Reply,
  type Bep15Request,
  bkey,
  type BValue,
  bytesToIp,
  checkBep15Request,
  cookieHigh,
  cookieLow,
  createMessage,
  datagramTxid,
  decodeBencode,
  encodeBencode,
  encodeBep15Request,
  encodeFolderManifest,
  encodeManifest,
  encodeTorrent,
  fastRequestKind,
  FILE_ID_BYTES,
  type FileAnnouncement,
  type FileSummary,
  type FolderFile,
  folderLayout,
  type FolderManifest,
  HASH_BYTES,
  HEADER_BYTES,
  isSafeFileName,
  kindInfo,
  type ListedPeer,
  MAGIC,
  magnetLink,
  type Manifest,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_DATAGRAM_BYTES,
  MAX_ERROR_TEXT_BYTES,
  MAX_FILE_BYTES,
  MAX_NAME_BYTES,
  MAX_PEX_PEERS,
  type Message,
  type MessageKind,
  type MessageOf,
  MIN_CHUNK_BYTES,
  parseBep15Request,
  parseMessage,
  PEER_ID_BYTES,
  pieceLeafCount,
  piecesRootFromLayer,
  PROTOCOL_VERSION,
  ProtocolError,
  registeredFiles,
  REQUEST_FILE_ID_AT,
  requestWanted,
} from "@shoal/protocol";

/** Every message kind, in wire order (COMMAND, DATA, CONTROL). */
export const ALL_KINDS = [
  "register",
  "keepalive",
  "request",
  "get",
  "get_count",
  "become_seeder",
  "connect",
  "leave",
  "handshake",
  "get_manifest",
  "list",
  "bitfield",
  "have",
  "cancel",
  "choke",
  "unchoke",
  "interested",
  "not_interested",
  "pex",
  "ack",
  "error",
  "peer_list",
  "chunk_data",
  "chunk_count",
  "cookie",
  "candidates",
  "manifest",
  "file_list",
] as const satisfies readonly MessageKind[];

// ---- seeded randomness ------------------------------------------------------

/** A small, fast, seeded PRNG (sfc32), so every fuzz run can be replayed. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed any 32-bit integer */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in `[0, max)`; `max` at most 2^32. */
  int(max: number): number {
    return max <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * max);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `count` random bytes. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i += 4) {
      const word = this.u32();
      out[i] = word;
      if (i + 1 < count) out[i + 1] = word >>> 8;
      if (i + 2 < count) out[i + 2] = word >>> 16;
      if (i + 3 < count) out[i + 3] = word >>> 24;
    }
    return out;
  }
}

// ---- mutation ---------------------------------------------------------------

/** The ways {@linkcode mutate} changes an input. */
export const MUTATIONS = [
  "flip_bit",
  "set_byte",
  "set_interesting",
  "truncate",
  "extend",
  "insert",
  "delete",
  "duplicate",
  "fix_body_length",
] as const;
/** One of {@linkcode MUTATIONS}. */
export type Mutation = typeof MUTATIONS[number];

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x2e, 0x2f, 0x3a];

function writeBodyLength(bytes: Uint8Array): void {
  if (bytes.byteLength < HEADER_BYTES) return;
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(
    10,
    bytes.byteLength - HEADER_BYTES,
  );
}

/**
 * Applies one mutation to a copy of `input`.
 *
 * @param rng the random source
 * @param input bytes to change (not modified)
 * @param mutation which change; random when omitted
 * @returns the changed bytes
 */
export function mutateOnce(
  rng: Rng,
  input: Uint8Array,
  mutation: Mutation = rng.pick(MUTATIONS),
): Uint8Array {
  let bytes = input.slice();
  const at = rng.int(bytes.byteLength);
  switch (mutation) {
    case "flip_bit":
      if (bytes.byteLength > 0) bytes[at] = bytes[at]! ^ (1 << rng.int(8));
      break;
    case "set_byte":
      if (bytes.byteLength > 0) bytes[at] = rng.int(256);
      break;
    case "set_interesting":
      if (bytes.byteLength > 0) bytes[at] = rng.pick(INTERESTING_BYTES);
      break;
    case "truncate":
      bytes = bytes.subarray(0, rng.int(bytes.byteLength + 1));
      break;
    case "extend": {
      const extra = rng.bytes(1 + rng.int(rng.chance(0.2) ? 256 : 8));
      bytes = insertAt(bytes, bytes.byteLength, extra);
      break;
    }
    case "insert": {
      const extra = rng.bytes(1 + rng.int(4));
      bytes = insertAt(bytes, rng.int(bytes.byteLength + 1), extra);
      break;
    }
    case "delete": {
      const count = Math.min(1 + rng.int(4), bytes.byteLength - at);
      const out = new Uint8Array(bytes.byteLength - count);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + count), at);
      bytes = out;
      break;
    }
    case "duplicate": {
      const from = rng.int(bytes.byteLength + 1);
      const to = from + rng.int(Math.min(32, bytes.byteLength - from) + 1);
      const piece = bytes.slice(from, to);
      bytes = insertAt(bytes, rng.int(bytes.byteLength + 1), piece);
      break;
    }
    case "fix_body_length":
      // A length change alone is caught by the header; fixing the declared
      // length afterwards sends the damage on to the body decoders.
      writeBodyLength(bytes);
      break;
  }
  return bytes;
}

/** `bytes` with `extra` inserted at `split`, as a new array. */
function insertAt(
  bytes: Uint8Array,
  split: number,
  extra: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.byteLength + extra.byteLength);
  out.set(bytes.subarray(0, split));
  out.set(extra, split);
  out.set(bytes.subarray(split), split + extra.byteLength);
  return out;
}

/**
 * Applies one to four random mutations; half the time it then rewrites the
 * header's body length to match, so the body decoder sees the damage.
 *
 * @param rng the random source
 * @param input bytes to change (not modified)
 * @returns the changed bytes
 */
export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let bytes = input;
  const rounds = 1 + rng.int(4);
  for (let i = 0; i < rounds; i++) bytes = mutateOnce(rng, bytes);
  if (rng.chance(0.5)) {
    bytes = bytes.slice();
    writeBodyLength(bytes);
  }
  return bytes;
}

/**
 * A well-formed header for a random known kind, with a body length within
 * that kind's limits (capped at `maxBody`) and random body bytes.
 *
 * @param rng the random source
 * @param maxBody largest body to generate
 * @returns header and body in one buffer
 */
export function headerWithRandomBody(rng: Rng, maxBody = 2048): Uint8Array {
  const info = kindInfo(rng.pick(ALL_KINDS));
  const high = Math.min(info.maxBody, Math.max(info.minBody, maxBody));
  const length = info.minBody + rng.int(high - info.minBody + 1);
  const out = rng.bytes(HEADER_BYTES + length);
  const view = new DataView(out.buffer);
  view.setUint16(0, MAGIC);
  view.setUint8(2, PROTOCOL_VERSION);
  view.setUint8(3, info.type);
  view.setUint8(4, info.code);
  view.setUint8(5, rng.chance(0.8) ? 0 : rng.int(256));
  view.setUint32(10, length);
  // Bodies full of small numbers reach deeper than uniform noise: counts and
  // lengths stay in range, families are often 4 or 6, names are often ASCII.
  if (rng.chance(0.5)) {
    for (let i = HEADER_BYTES; i < out.byteLength; i++) {
      if (rng.chance(0.7)) out[i] = rng.pick([0, 1, 4, 6, 0x61, 0x2e]);
    }
  }
  return out;
}

/**
 * Random bytes: any length up to `maxLength`; often starting with a valid
 * magic and version so the later header checks are reached too.
 *
 * @param rng the random source
 * @param maxLength longest input
 * @returns the bytes
 */
export function randomInput(rng: Rng, maxLength = 1600): Uint8Array {
  const out = rng.bytes(rng.int(maxLength + 1));
  if (out.byteLength >= 3 && rng.chance(0.5)) {
    out[0] = MAGIC >> 8;
    out[1] = MAGIC & 0xff;
    out[2] = PROTOCOL_VERSION;
  }
  return out;
}

// ---- outcomes ---------------------------------------------------------------

/**
 * Runs a decoder and names its outcome: the value's label, or
 * `"error:<code>"` for a {@linkcode ProtocolError}. Anything else thrown is
 * rethrown, since a decoder must be total.
 *
 * @param decode the decoder call
 * @param label names a decoded value
 * @returns the outcome label
 */
export function outcomeOf<T>(
  decode: () => T,
  label: (value: T) => string,
): string {
  let value: T;
  try {
    value = decode();
  } catch (error) {
    if (error instanceof ProtocolError) return `error:${error.code}`;
    throw error;
  }
  return label(value);
}

/**
 * Runs the tracker's in-place readers (protocol/tracker_fast.ts) on a
 * datagram and checks them against `parseMessage`: they must take exactly
 * the REQUESTs by id, KEEPALIVEs and REGISTERs that parseMessage accepts,
 * and read the same fields from them.
 *
 * @param bytes a datagram, untrusted
 * @returns the path it takes: "request", "keepalive", "register",
 *   "register refused" (left to parseMessage, which refuses it too) or
 *   "general path"
 * @throws {Error} when the two disagree
 */
export function fastPathOutcome(bytes: Uint8Array): string {
  const fast = fastRequestKind(bytes);
  let parsed: Message | null = null;
  try {
    parsed = parseMessage(bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
  const disagree = (why: string): never => {
    throw new Error(`In-place ${fast} disagrees with parseMessage: ${why}`);
  };
  if (fast === null) {
    if (
      parsed?.kind === "keepalive" || parsed?.kind === "register" ||
      (parsed?.kind === "request" && "id" in parsed.query)
    ) {
      disagree(`missed a ${parsed.kind}`);
    }
    return "general path";
  }
  const files = fast === "register" ? registeredFiles(bytes) : null;
  if (parsed === null) {
    if (fast === "register" && files === null) return "register refused";
    return disagree("accepted what parseMessage refuses");
  }
  const txid = datagramTxid(bytes);
  const cookie = (BigInt(cookieHigh(bytes)) << 32n) | BigInt(cookieLow(bytes));
  const peerId = bytes.slice(
    ANNOUNCE_PEER_ID_AT,
    ANNOUNCE_PEER_ID_AT + PEER_ID_BYTES,
  );
  let read: Message;
  if (fast === "request") {
    const id = bytes.slice(
      REQUEST_FILE_ID_AT,
      REQUEST_FILE_ID_AT + FILE_ID_BYTES,
    );
    read = {
      kind: fast,
      txid,
      cookie,
      wanted: requestWanted(bytes),
      query: { id },
    };
  } else if (fast === "keepalive") {
    read = { kind: fast, txid, cookie, peerId, port: announcePort(bytes) };
  } else {
    if (files === null) return disagree("refused a valid REGISTER");
    read = {
      kind: fast,
      txid,
      cookie,
      peerId,
      port: announcePort(bytes),
      files: files.map((file) => ({ ...file, id: file.id.slice() })),
    };
  }
  if (!isDeepStrictEqual(read, parsed)) {
    disagree(
      `read ${Deno.inspect(read)}, parseMessage ${Deno.inspect(parsed)}`,
    );
  }
  return fast;
}

// ---- fast-check arbitraries ---------------------------------------------------

/** `fc.record` with plain objects, which `assert.deepStrictEqual` compares by prototype too. */
function record<T>(
  model: { [K in keyof T]: fc.Arbitrary<T[K]> },
): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** A transaction id: any unsigned 32-bit integer. */
export const txidArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff),
);

/** A cookie: any unsigned 64-bit integer. */
export const cookieArb: fc.Arbitrary<bigint> = fc.bigInt({
  min: 0n,
  max: 2n ** 64n - 1n,
});

function fixedBytes(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length });
}

/** A 32-byte file id. */
export const fileIdArb: fc.Arbitrary<Uint8Array> = fixedBytes(FILE_ID_BYTES);
/** A 16-byte peer id. */
export const peerIdArb: fc.Arbitrary<Uint8Array> = fixedBytes(PEER_ID_BYTES);
/** A TCP port a peer may list (1..65535). */
export const portArb: fc.Arbitrary<number> = fc.integer({
  min: 1,
  max: 0xffff,
});
/** An announced TCP port (the codec carries 0 too; the tracker refuses it). */
export const anyPortArb: fc.Arbitrary<number> = fc.integer({
  min: 0,
  max: 0xffff,
});
/** A chunk index the decoder accepts. */
export const chunkIndexArb: fc.Arbitrary<number> = fc.integer({
  min: 0,
  max: MAX_CHUNK_COUNT - 1,
});
/** A file size the decoder accepts. */
export const fileSizeArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.integer({ min: 0, max: MAX_FILE_BYTES }),
  fc.constantFrom(0, 1, MAX_FILE_BYTES),
);

const NAME_CHARACTERS = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(..."abcdefxyzABCXYZ0123456789") },
  { weight: 2, arbitrary: fc.constantFrom("-", "_", " ", ".", "(", ")", "+") },
  {
    weight: 2,
    arbitrary: fc.constantFrom("é", "ß", "日", "本", "ж", "🐟", "€", "ø"),
  },
);

/**
 * A file name `isSafeFileName` accepts: mostly short, sometimes up to the
 * 255-byte limit, with some non-ASCII characters.
 */
export const safeNameArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.string({
      unit: NAME_CHARACTERS,
      minLength: 1,
      maxLength: 24,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: NAME_CHARACTERS,
      minLength: 60,
      maxLength: MAX_NAME_BYTES,
    }).map((name) => truncateUtf8(name, MAX_NAME_BYTES)),
  },
).map((name) => name.replace(/^[. ]+/, "f").replace(/[. ]+$/, "g"))
  .filter(isSafeFileName);

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = "";
  let used = 0;
  for (const character of text) {
    const size = utf8Length(character);
    if (used + size > maxBytes) break;
    out += character;
    used += size;
  }
  return out;
}

/** Any well-formed text of at most `maxBytes` UTF-8 bytes. */
export function textArb(maxBytes: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: maxBytes }),
    fc.string({ unit: "binary", maxLength: maxBytes }),
  ).map((text) => truncateUtf8(text, maxBytes));
}

/** An IPv4 address in the text form the decoder gives back. */
export const ipv4Arb: fc.Arbitrary<string> = fixedBytes(4).map(bytesToIp);

/** An IPv6 address in its shortest (RFC 5952) text form, often with zero runs. */
export const ipv6Arb: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
    { weight: 1, arbitrary: fc.constantFrom(1, 0xffff, 0xfe80, 0x2001) },
  ),
  { minLength: 8, maxLength: 8 },
).map((words) => {
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytesToIp(bytes);
});

/** A peer as a PEER_LIST carries it, IPv4 or IPv6. */
export const listedPeerArb: fc.Arbitrary<ListedPeer> = record({
  host: fc.oneof(ipv4Arb, ipv6Arb),
  port: portArb,
  complete: fc.boolean(),
});

/** A peer in a PEX message: listed, possibly a BitTorrent client. */
export const pexPeerArb: fc.Arbitrary<ListedPeer> = fc.tuple(
  listedPeerArb,
  fc.boolean(),
).map(([peer, bittorrent]) => bittorrent ? { ...peer, bittorrent } : peer);

/** A file as REGISTER and BECOME_SEEDER announce it. */
export const fileAnnouncementArb: fc.Arbitrary<FileAnnouncement> = record({
  id: fileIdArb,
  name: safeNameArb,
  size: fileSizeArb,
  chunkCount: fc.integer({ min: 0, max: MAX_CHUNK_COUNT }),
  complete: fc.boolean(),
});

/** A file as CANDIDATES and FILE_LIST describe it. */
export const fileSummaryArb: fc.Arbitrary<FileSummary> = record({
  id: fileIdArb,
  name: safeNameArb,
  size: fileSizeArb,
  peers: fc.integer({ min: 0, max: 0xffff }),
  seeders: fc.integer({ min: 0, max: 0xffff }),
});

/** Bulk bytes, kept small so thousands of cases stay fast. */
function bulkArb(minLength: number, maxLength: number) {
  return fc.uint8Array({ minLength, maxLength });
}

type Arbs = { [K in MessageKind]: fc.Arbitrary<MessageOf<K>> };

function empty<K extends MessageKind>(kind: K) {
  return record({ kind: fc.constant(kind), txid: txidArb });
}

function indexed<K extends "get" | "have" | "cancel">(kind: K) {
  return record({
    kind: fc.constant(kind),
    txid: txidArb,
    index: chunkIndexArb,
  });
}

function announce<K extends "keepalive" | "leave">(kind: K) {
  return record({
    kind: fc.constant(kind),
    txid: txidArb,
    cookie: cookieArb,
    peerId: peerIdArb,
    port: anyPortArb,
  });
}

/** One arbitrary per message kind; each gives only messages that encode. */
export const messageArbs: Arbs = {
  register: record({
    kind: fc.constant("register" as const),
    txid: txidArb,
    cookie: cookieArb,
    peerId: peerIdArb,
    port: anyPortArb,
    files: fc.array(fileAnnouncementArb, { maxLength: 12 }),
  }),
  keepalive: announce("keepalive"),
  request: record({
    kind: fc.constant("request" as const),
    txid: txidArb,
    cookie: cookieArb,
    wanted: fc.integer({ min: 0, max: 255 }),
    query: fc.oneof(
      record({ id: fileIdArb }),
      record({ name: safeNameArb }),
      record({
        idPrefix: fc.stringMatching(/^[0-9a-f]{8,64}$/),
      }),
    ),
  }),
  get: indexed("get"),
  "get_count": record({
    kind: fc.constant("get_count" as const),
    txid: txidArb,
    cookie: cookieArb,
    fileId: fileIdArb,
  }),
  "become_seeder": record({
    kind: fc.constant("become_seeder" as const),
    txid: txidArb,
    cookie: cookieArb,
    peerId: peerIdArb,
    port: anyPortArb,
    file: fileAnnouncementArb,
  }),
  connect: empty("connect"),
  leave: announce("leave"),
  handshake: fc.tuple(
    record({
      kind: fc.constant("handshake" as const),
      txid: txidArb,
      fileId: fileIdArb,
      peerId: peerIdArb,
      port: anyPortArb,
    }),
    fc.boolean(),
  ).map(([message, pex]) => pex ? { ...message, pex } : message),
  "get_manifest": empty("get_manifest"),
  list: record({
    kind: fc.constant("list" as const),
    txid: txidArb,
    cookie: cookieArb,
    offset: fc.integer({ min: 0, max: 0xffff_ffff }),
    query: textArb(MAX_NAME_BYTES),
  }),
  bitfield: record({
    kind: fc.constant("bitfield" as const),
    txid: txidArb,
    bits: bulkArb(0, 300),
  }),
  have: indexed("have"),
  cancel: indexed("cancel"),
  choke: empty("choke"),
  unchoke: empty("unchoke"),
  interested: empty("interested"),
  "not_interested": empty("not_interested"),
  ack: fc.tuple(
    record({
      kind: fc.constant("ack" as const),
      txid: txidArb,
      intervalSeconds: fc.integer({ min: 0, max: 0xffff_ffff }),
    }),
    fc.boolean(),
  ).map(([message, pex]) => pex ? { ...message, pex } : message),
  pex: record({
    kind: fc.constant("pex" as const),
    txid: txidArb,
    added: fc.array(pexPeerArb, { maxLength: MAX_PEX_PEERS }),
    dropped: fc.array(pexPeerArb, { maxLength: MAX_PEX_PEERS }),
  }),
  error: record({
    kind: fc.constant("error" as const),
    txid: txidArb,
    code: fc.integer({ min: 0, max: 0xffff }),
    text: textArb(MAX_ERROR_TEXT_BYTES),
  }),
  "peer_list": record({
    kind: fc.constant("peer_list" as const),
    txid: txidArb,
    fileId: fileIdArb,
    name: safeNameArb,
    size: fileSizeArb,
    chunkCount: fc.integer({ min: 0, max: MAX_CHUNK_COUNT }),
    peers: fc.array(listedPeerArb, { maxLength: 40 }),
  }),
  "chunk_data": record({
    kind: fc.constant("chunk_data" as const),
    txid: txidArb,
    index: chunkIndexArb,
    data: bulkArb(0, 600),
  }),
  "chunk_count": record({
    kind: fc.constant("chunk_count" as const),
    txid: txidArb,
    fileId: fileIdArb,
    chunkCount: fc.integer({ min: 0, max: MAX_CHUNK_COUNT }),
    size: fileSizeArb,
  }),
  cookie: record({
    kind: fc.constant("cookie" as const),
    txid: txidArb,
    cookie: cookieArb,
  }),
  candidates: record({
    kind: fc.constant("candidates" as const),
    txid: txidArb,
    files: fc.array(fileSummaryArb, { maxLength: 12 }),
  }),
  manifest: record({
    kind: fc.constant("manifest" as const),
    txid: txidArb,
    bytes: bulkArb(1, 600),
  }),
  "file_list": record({
    kind: fc.constant("file_list" as const),
    txid: txidArb,
    total: fc.integer({ min: 0, max: 0xffff_ffff }),
    files: fc.array(fileSummaryArb, { maxLength: 12 }),
  }),
};

/**
 * True when `message` fits its kind's body limit (datagram messages with
 * many long names may not). Any other encoding error is a generator bug.
 */
export function encodes(message: Message): boolean {
  try {
    createMessage(message);
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

/** Valid messages of one kind. */
export function messageArb<K extends MessageKind>(
  kind: K,
): fc.Arbitrary<MessageOf<K>> {
  return (messageArbs[kind] as fc.Arbitrary<MessageOf<K>>).filter(encodes);
}

/** Valid messages of every kind, equally likely. */
export const anyMessageArb: fc.Arbitrary<Message> = fc.oneof(
  ...ALL_KINDS.map((kind) => messageArb(kind) as fc.Arbitrary<Message>),
);

/** Encoded valid messages no larger than a datagram. */
export const datagramArb: fc.Arbitrary<Uint8Array> = anyMessageArb.map(
  createMessage,
).filter((bytes) => bytes.byteLength <= MAX_DATAGRAM_BYTES);

/** Encoded valid REGISTERs, KEEPALIVEs and REQUESTs: the tracker's hot path. */
export const trackerHotDatagramArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  messageArb("register") as fc.Arbitrary<Message>,
  messageArb("keepalive"),
  messageArb("request"),
).map(createMessage).filter((bytes) => bytes.byteLength <= MAX_DATAGRAM_BYTES);

// ---- BEP 15 (BitTorrent UDP tracker) -----------------------------------------

/** A BEP 15 connection id: any 64-bit value. */
const connectionIdArb: fc.Arbitrary<bigint> = cookieArb;
const u64Arb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });

/** Valid BEP 15 requests: connect, announce (with BEP 41 options sometimes), scrape. */
export const bep15RequestArb: fc.Arbitrary<Bep15Request> = fc.oneof(
  record({ action: fc.constant("connect" as const), txid: txidArb }),
  record({
    action: fc.constant("announce" as const),
    connectionId: connectionIdArb,
    txid: txidArb,
    infohash: fixedBytes(20),
    peerId: fixedBytes(20),
    downloaded: u64Arb,
    left: fc.oneof(fc.constant(0n), u64Arb),
    uploaded: u64Arb,
    event: fc.constantFrom(...BEP15_EVENTS),
    ip: u32Arb,
    key: u32Arb,
    numWant: fc.oneof(
      fc.constant(-1),
      fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
    ),
    port: anyPortArb,
    options: fc.oneof(
      fc.constant(new Uint8Array(0)),
      // BEP 41: URLData "/announce", then EndOfOptions.
      fc.constant(
        Uint8Array.from([2, 9, ...new TextEncoder().encode("/announce"), 0]),
      ),
      fc.uint8Array({ maxLength: 40 }),
    ),
  }),
  record({
    action: fc.constant("scrape" as const),
    connectionId: connectionIdArb,
    txid: txidArb,
    infohashes: fc.array(fixedBytes(20), {
      minLength: 1,
      maxLength: BEP15_MAX_SCRAPE_HASHES,
    }),
  }),
);

/** Encoded valid BEP 15 requests. */
export const bep15DatagramArb: fc.Arbitrary<Uint8Array> = bep15RequestArb.map(
  encodeBep15Request,
);

/** Valid BEP 15 replies, with the family their announce peers are of. */
export const bep15ReplyArb: fc.Arbitrary<
  { reply: Bep15Reply; family: 4 | 6 }
> = fc.constantFrom(4 as const, 6 as const).chain((family) =>
  fc.oneof(
    record({
      action: fc.constant("connect" as const),
      txid: txidArb,
      connectionId: connectionIdArb,
    }),
    record({
      action: fc.constant("announce" as const),
      txid: txidArb,
      intervalSeconds: u32Arb,
      leechers: u32Arb,
      seeders: u32Arb,
      peers: fc.array(
        record({ host: family === 6 ? ipv6Arb : ipv4Arb, port: anyPortArb }),
        { maxLength: family === 6 ? 79 : 200 },
      ),
    }),
    record({
      action: fc.constant("scrape" as const),
      txid: txidArb,
      files: fc.array(
        record({ seeders: u32Arb, completed: u32Arb, leechers: u32Arb }),
        { maxLength: BEP15_MAX_SCRAPE_HASHES },
      ),
    }),
    record({
      action: fc.constant("error" as const),
      txid: txidArb,
      message: textArb(200),
    }),
  ).map((reply) => ({ reply: reply as Bep15Reply, family }))
);

/**
 * Runs the BEP 15 request decoder on a datagram: what it accepts must be
 * accepted by the check the tracker's in-place path runs, as the same kind,
 * and must encode back to the very same bytes (every field is kept, BEP 41
 * options as bytes).
 *
 * @param bytes a datagram, untrusted
 * @returns the request's action, or "error:<code>"
 * @throws {Error} when the check and the decoder disagree, or re-encoding differs
 */
export function bep15Outcome(bytes: Uint8Array): string {
  let kind: string;
  try {
    kind = checkBep15Request(bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    kind = `error:${error.code}`;
  }
  const outcome = outcomeOf(() => parseBep15Request(bytes), (request) => {
    const again = encodeBep15Request(request);
    if (
      again.byteLength !== bytes.byteLength ||
      again.some((byte, i) => byte !== bytes[i])
    ) {
      throw new Error(`Cannot re-encode a BEP 15 ${request.action} as it was`);
    }
    return request.action;
  });
  if (outcome !== kind) {
    throw new Error(`BEP 15 check says ${kind}, the decoder ${outcome}`);
  }
  return outcome;
}

/**
 * A file of `chunkCount` pieces with random piece hashes: its length (the
 * last piece `tail` bytes into its size, mod the piece size), the hashes,
 * and the pieces root they give (null for an empty file).
 */
function randomPieces(
  rng: Rng,
  chunkCount: number,
  tail: number,
  chunkSize: number,
): { length: number; chunkHashes: Uint8Array; piecesRoot: Uint8Array | null } {
  const length = chunkCount === 0
    ? 0
    : (chunkCount - 1) * chunkSize + 1 + (tail % chunkSize);
  const chunkHashes = rng.bytes(chunkCount * HASH_BYTES);
  const layer: Uint8Array[] = [];
  for (let at = 0; at < chunkHashes.byteLength; at += HASH_BYTES) {
    layer.push(chunkHashes.subarray(at, at + HASH_BYTES));
  }
  const piecesRoot = chunkCount === 0
    ? null
    : chunkCount === 1
    ? chunkHashes.slice()
    : piecesRootFromLayer(layer, pieceLeafCount(length, chunkSize));
  return { length, chunkHashes, piecesRoot };
}

/** A valid manifest with random piece hashes (its pieces root follows from them) and a small chunk count. */
export const manifestArb: fc.Arbitrary<Manifest> = record({
  name: safeNameArb,
  chunkSizeLog2: fc.integer({
    min: Math.log2(MIN_CHUNK_BYTES),
    max: Math.log2(MAX_CHUNK_BYTES),
  }),
  chunkCount: fc.integer({ min: 0, max: 24 }),
  tail: fc.nat(),
  seed: fc.integer(),
}).map(({ name, chunkSizeLog2, chunkCount, tail, seed }) => {
  const chunkSize = 2 ** chunkSizeLog2;
  const { length: size, chunkHashes, piecesRoot } = randomPieces(
    new Rng(seed),
    chunkCount,
    tail,
    chunkSize,
  );
  return { name, size, chunkSize, chunkCount, piecesRoot, chunkHashes };
});

/** Encoded valid manifests. */
export const manifestBytesArb: fc.Arbitrary<Uint8Array> = manifestArb.map(
  encodeManifest,
);

/**
 * A valid folder manifest: up to 12 files under nested folders (folder
 * names start with "d", file names with "f", so none is both; paths are
 * unique ignoring case), empty, one-piece and multi-piece files, random
 * piece hashes whose roots follow from them.
 */
export const folderManifestArb: fc.Arbitrary<FolderManifest> = record({
  name: safeNameArb,
  chunkSizeLog2: fc.integer({
    min: Math.log2(MIN_CHUNK_BYTES),
    max: Math.log2(MIN_CHUNK_BYTES) + 3,
  }),
  files: fc.uniqueArray(
    fc.tuple(
      fc.array(fc.constantFrom("d", "dB", "dé", "d日本"), { maxLength: 3 }),
      fc.constantFrom("f", "f.txt", "F2", "fé 🐟"),
      fc.integer({ min: 0, max: 5 }),
      fc.nat(),
    ),
    {
      minLength: 1,
      maxLength: 12,
      selector: ([dirs, leaf]) => [...dirs, leaf].join("/").toLowerCase(),
    },
  ),
  seed: fc.integer(),
}).map(({ name, chunkSizeLog2, files, seed }): FolderManifest => {
  const chunkSize = 2 ** chunkSizeLog2;
  const rng = new Rng(seed);
  const built = files.map(([dirs, leaf, chunkCount, tail]): FolderFile => {
    const { length, chunkHashes, piecesRoot } = randomPieces(
      rng,
      chunkCount,
      tail,
      chunkSize,
    );
    return {
      path: [...dirs, leaf],
      length,
      piecesRoot,
      firstChunk: 0,
      chunkCount,
      chunkHashes,
    };
  });
  // BEP 52 order: depth first, each folder's names in byte order.
  const key = (file: FolderFile) =>
    file.path.map((part) => bkey(new TextEncoder().encode(part)) + "\u0000")
      .join("");
  built.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  const layout = folderLayout(built.map((file) => file.length), chunkSize);
  if (typeof layout === "string") throw new RangeError(layout);
  built.forEach((file, i) => file.firstChunk = layout.firstChunks[i]!);
  return {
    name,
    chunkSize,
    files: built,
    size: layout.size,
    chunkCount: layout.chunkCount,
  };
});

/** Encoded valid folder manifests. */
export const folderManifestBytesArb: fc.Arbitrary<Uint8Array> =
  folderManifestArb.map(encodeFolderManifest);

/** Tracker URLs as a .torrent or magnet link carries them. */
export const trackerUrlsArb: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    fc.tuple(ipv4Arb, portArb).map(([host, port]) =>
      `udp://${host}:${port}/announce`
    ),
    fc.constantFrom(
      "udp://tracker.example:6969/announce",
      "http://tracker.example/announce?a=1&b=2",
      "udp://[::1]:6969/announce",
    ),
  ),
  { maxLength: 4 },
);

/** Valid v2 `.torrent` files: a manifest plus trackers. */
export const torrentBytesArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  manifestBytesArb,
  trackerUrlsArb,
).map(([bytes, trackers]) => encodeTorrent(bytes, trackers));

/** Valid v2 magnet links. */
export const magnetArb: fc.Arbitrary<string> = fc.tuple(
  fileIdArb,
  safeNameArb,
  trackerUrlsArb,
).map(([id, name, trackers]) => magnetLink(id, name, trackers));

/** A mutated copy of a generated input, the mutation seeded by fast-check. */
export function mutatedArb(
  base: fc.Arbitrary<Uint8Array>,
): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.integer()).map(([bytes, seed]) =>
    mutate(new Rng(seed), bytes)
  );
}

// ---- bencode ----------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A bencode integer: any signed 64-bit value, the edges often. */
export const bencodeIntArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.constantFrom(0n, -1n, 10n, INT64_MIN, INT64_MAX),
);

/** A dictionary key: short ASCII words, or binary (32-byte roots among them). */
const bencodeKeyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom("info", "name", "piece length", "pieces root", "", "a")
    .map((text) => new TextEncoder().encode(text)),
  fc.uint8Array({ maxLength: 8 }),
  fixedBytes(32),
);

/** Any bencoded value: nested lists and dictionaries, binary keys and strings. */
export const bencodeValueArb: fc.Arbitrary<BValue> = fc.letrec<{
  value: BValue;
  list: BValue[];
  dict: BDict;
}>((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthIdentifier: "bencode" },
    bencodeIntArb,
    fc.uint8Array({ maxLength: 40 }),
    tie("list"),
    tie("dict"),
  ),
  list: fc.array(tie("value"), { maxLength: 5 }),
  dict: fc.array(fc.tuple(bencodeKeyArb, tie("value")), { maxLength: 5 }).map(
    (entries) => new Map(entries.map(([key, value]) => [bkey(key), value])),
  ),
})).value;

/** Canonical bencodings of {@linkcode bencodeValueArb}. */
export const bencodeBytesArb: fc.Arbitrary<Uint8Array> = bencodeValueArb.map(
  encodeBencode,
);

const BENCODE_ALPHABET = [..."0123456789ilde:-"].map((c) => c.charCodeAt(0));

/**
 * Random bytes mostly from bencode's own alphabet (digits, `i l d e : -`),
 * so the decoder goes deep more often than with uniform noise.
 *
 * @param rng the generator
 * @param maxLength longest input
 * @returns the input
 */
export function bencodeNoise(rng: Rng, maxLength = 256): Uint8Array {
  const out = new Uint8Array(rng.int(maxLength + 1));
  for (let i = 0; i < out.byteLength; i++) {
    out[i] = rng.chance(0.9) ? rng.pick(BENCODE_ALPHABET) : rng.int(256);
  }
  return out;
}

// ---- structure-aware mutation of bencode ---------------------------------------

/** Integers that sit on the manifest's edges (piece lengths, sizes, versions). */
const EDGE_INTEGERS = [
  -1n,
  0n,
  1n,
  2n,
  3n,
  16_383n,
  16_384n,
  16_385n,
  BigInt(MAX_CHUNK_BYTES),
  BigInt(MAX_CHUNK_BYTES) * 2n,
  BigInt(MAX_FILE_BYTES),
  BigInt(MAX_FILE_BYTES) + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
];

/** A small random bencode value: what a hostile writer swaps in. */
function randomBValue(rng: Rng, depth = 0): BValue {
  const roll = rng.int(depth > 1 ? 2 : 4);
  if (roll === 0) {
    return rng.chance(0.5)
      ? rng.pick(EDGE_INTEGERS)
      : BigInt(rng.int(0x1_0000_0000)) - 0x8000_0000n;
  }
  if (roll === 1) {
    return rng.bytes(rng.pick([0, 1, 5, 31, 32, 33, 64, rng.int(200)]));
  }
  if (roll === 2) {
    return Array.from(
      { length: rng.int(3) },
      () => randomBValue(rng, depth + 1),
    );
  }
  const dict: BDict = new Map();
  for (let i = rng.int(3); i > 0; i--) {
    dict.set(
      bkey(rng.chance(0.5) ? rng.bytes(rng.int(6)) : rng.bytes(32)),
      randomBValue(rng, depth + 1),
    );
  }
  return dict;
}

/** A copy of `value` with one random change somewhere inside it. */
function changeBValue(rng: Rng, value: BValue): BValue {
  if (value instanceof Map) {
    const out: BDict = new Map(value);
    const keys = [...out.keys()];
    const roll = rng.int(10);
    if (keys.length === 0 || roll === 0) {
      out.set(bkey(rng.bytes(rng.int(12))), randomBValue(rng));
    } else {
      const key = rng.pick(keys);
      if (roll === 1) out.delete(key);
      else if (roll === 2) out.set(key, randomBValue(rng));
      else if (roll === 3) {
        out.set(bkey(rng.bytes(1 + rng.int(8))), out.get(key)!);
      } else out.set(key, changeBValue(rng, out.get(key)!));
    }
    return out;
  }
  if (Array.isArray(value)) {
    const out = [...value];
    if (out.length === 0 || rng.chance(0.2)) out.push(randomBValue(rng));
    else {
      const at = rng.int(out.length);
      if (rng.chance(0.2)) out.splice(at, 1);
      else out[at] = changeBValue(rng, out[at]!);
    }
    return out;
  }
  if (typeof value === "bigint") {
    const roll = rng.int(4);
    const changed = roll === 0
      ? rng.pick(EDGE_INTEGERS)
      : roll === 1
      ? value + BigInt(rng.int(3)) - 1n
      : roll === 2
      ? value * 2n
      : -value;
    // Stay within what bencode here can carry (signed 64 bits).
    return changed < INT64_MIN
      ? INT64_MIN
      : changed > INT64_MAX
      ? INT64_MAX
      : changed;
  }
  const out = value.slice();
  const roll = rng.int(4);
  if (roll === 0 && out.byteLength > 0) {
    const at = rng.int(out.byteLength);
    out[at] = out[at]! ^ (1 << rng.int(8));
    return out;
  }
  if (roll === 1) return out.subarray(0, rng.int(out.byteLength + 1));
  if (roll === 2) return rng.bytes(rng.pick([0, 1, 31, 32, 33, 255, 256]));
  const longer = new Uint8Array(out.byteLength + 1 + rng.int(32));
  longer.set(out);
  return longer;
}

/**
 * A mutation that keeps the bytes valid bencode: decode, change one value
 * somewhere (a key deleted, renamed or added, a value swapped for another of
 * any type, an integer moved to an edge, a string cut, grown or flipped),
 * encode again. Byte mutations mostly stop at the bencode decoder; these
 * reach the checks behind it. Bytes that do not decode get a byte mutation.
 *
 * @param rng the random source
 * @param input canonical bencode, usually
 * @returns the changed bytes
 */
export function mutateBencode(rng: Rng, input: Uint8Array): Uint8Array {
  let value: BValue;
  try {
    value = decodeBencode(input);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return mutate(rng, input);
  }
  for (let i = 1 + rng.int(3); i > 0; i--) value = changeBValue(rng, value);
  return encodeBencode(value);
}

// ---- text mutation (magnet links) -------------------------------------------

const MAGNET_ALPHABET =
  "magnet:?&=%.xtdnrbmhuiv0123456789abcdefABCDEF:/+ -_\u00e9\u202e\u0000";

/**
 * One to four character edits (insert, delete a run, replace) to `text`,
 * with characters that matter to a magnet link, `%`-escapes among them.
 *
 * @param rng the random source
 * @param text a link, usually valid
 * @returns the changed text
 */
export function mutateText(rng: Rng, text: string): string {
  let out = text;
  for (let edits = 1 + rng.int(4); edits > 0; edits--) {
    const at = rng.int(out.length + 1);
    const piece = rng.chance(0.2)
      ? `%${rng.int(256).toString(16).padStart(2, "0")}`
      : MAGNET_ALPHABET[rng.int(MAGNET_ALPHABET.length)]!;
    const roll = rng.int(3);
    out = roll === 0
      ? out.slice(0, at) + piece + out.slice(at)
      : roll === 1
      ? out.slice(0, at) + out.slice(at + 1 + rng.int(8))
      : out.slice(0, at) + piece + out.slice(at + 1);
  }
  return out;
}

/**
 * Random text from a magnet link's alphabet, half of it behind `magnet:?`.
 *
 * @param rng the random source
 * @param maxLength longest text
 * @returns the text
 */
export function magnetNoise(rng: Rng, maxLength = 200): string {
  let out = "";
  for (let i = rng.int(maxLength + 1); i > 0; i--) {
    out += MAGNET_ALPHABET[rng.int(MAGNET_ALPHABET.length)];
  }
  return rng.chance(0.5) ? `magnet:?${out}` : out;
}
