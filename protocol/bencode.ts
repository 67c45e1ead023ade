/**
 * Bencode (BEP 3), strict and total, for .torrent files and BEP 52 info
 * dictionaries.
 *
 * Values: integers are `bigint` (signed 64-bit, as libtorrent and anacrolix
 * read them, so no precision is lost), byte strings are `Uint8Array` (never
 * decoded to text: BEP 52 `piece layers` keys are raw 32-byte hashes), lists
 * are arrays and dictionaries are a {@linkcode BDict}: a `Map` whose keys are
 * the raw key bytes as a binary string (one char per byte, code 0..255), so
 * binary keys round-trip exactly and ASCII keys read as themselves
 * (`dict.get("info")`).
 *
 * The decoder accepts only the canonical form (the one encoding of each
 * value): no leading zeros or `-0`, keys strictly ascending by raw bytes, no
 * trailing bytes. So `encodeBencode(decodeBencode(b))` gives back `b`, and
 * the bytes of an `info` dictionary found by {@linkcode findDictValueSpan}
 * are the bytes its infohash is computed over.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";

/** A bencoded value. */
export type BValue = bigint | Uint8Array | BValue[] | BDict;

/**
 * A bencoded dictionary: raw key bytes as a binary string (see
 * {@linkcode bkey}) to value. Decoded dictionaries keep their keys in
 * ascending byte order; the encoder sorts them whatever the insertion order.
 */
export type BDict = Map<string, BValue>;

/** Bounds on what {@linkcode decodeBencode} will build from untrusted bytes. */
export interface BencodeLimits {
  /**
   * Deepest nesting of lists and dictionaries (the top value is depth 1).
   * @default {64}
   */
  maxDepth?: number;
  /**
   * Most values (integers, strings, lists, dictionaries) in the whole input.
   * @default {1_000_000}
   */
  maxItems?: number;
  /**
   * Strings are views into the input instead of copies: for input nobody
   * writes again (a shared manifest that several workers read).
   * @default {false}
   */
  views?: boolean;
}

/** A byte range `[start, end)` of the input. */
export interface ByteSpan {
  /** Offset of the first byte. */
  start: number;
  /** Offset just past the last byte. */
  end: number;
}

/** Default nesting bound: far above any .torrent, far below the stack. */
export const BENCODE_MAX_DEPTH = 64;
/** Default bound on values per input. */
export const BENCODE_MAX_ITEMS = 1_000_000;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Digits of the longest int64 (`-9223372036854775808` has 19). */
const MAX_INT_DIGITS = 19;

const CH_I = 0x69; // "i"
const CH_L = 0x6c; // "l"
const CH_D = 0x64; // "d"
const CH_E = 0x65; // "e"
const CH_COLON = 0x3a; // ":"
const CH_MINUS = 0x2d; // "-"
const CH_0 = 0x30;
const CH_9 = 0x39;

/**
 * The dictionary key for raw key bytes: one char per byte.
 *
 * @param bytes the key as it appears on the wire
 * @returns the binary string used as a {@linkcode BDict} key
 * @example
 * ```ts
 * import { bkey } from "@shoal/protocol";
 * bkey(new Uint8Array([0x00, 0xff])); // "\u0000\u00ff"
 * ```
 */
export function bkey(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

/**
 * The raw bytes of a {@linkcode BDict} key.
 *
 * @param key a binary string (every char code 0..255)
 * @returns the key's bytes
 * @throws {RangeError} when a char code is above 255
 */
export function bkeyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0xff) {
      throw new RangeError(
        `Cannot encode key: char ${code} at ${i} is not a byte; build keys with bkey()`,
      );
    }
    out[i] = code;
  }
  return out;
}

/**
 * Looks up a dictionary entry by its text name (UTF-8 key bytes).
 *
 * @param dict a decoded dictionary
 * @param name the key as text, e.g. `"piece length"`
 * @returns the value, or undefined when absent
 * @example
 * ```ts
 * import { decodeBencode, dictGet } from "@shoal/protocol";
 * const dict = decodeBencode(new TextEncoder().encode("d4:name3:fooe"));
 * dict instanceof Map && dictGet(dict, "name"); // Uint8Array "foo"
 * ```
 */
export function dictGet(dict: BDict, name: string): BValue | undefined {
  // A printable ASCII name is its own key; only others need encoding.
  return dict.get(PRINTABLE_ASCII.test(name) ? name : bkey(UTF8.encode(name)));
}

const PRINTABLE_ASCII = /^[ -~]*$/;
const UTF8 = new TextEncoder();

/** Decoder state over one input. */
class Reader {
  readonly bytes: Uint8Array;
  readonly maxDepth: number;
  readonly maxItems: number;
  readonly views: boolean;
  at = 0;
  items = 0;
  /** Spans of the top-level dictionary's values, when asked for. */
  spans: Map<string, ByteSpan> | null = null;

  constructor(bytes: Uint8Array, limits: BencodeLimits) {
    this.bytes = bytes;
    this.maxDepth = limits.maxDepth ?? BENCODE_MAX_DEPTH;
    this.maxItems = limits.maxItems ?? BENCODE_MAX_ITEMS;
    this.views = limits.views ?? false;
  }

  fail(code: ProtocolError["code"], what: string, offset = this.at): never {
    throw new ProtocolError(
      code,
      `Bad bencode: ${what} at byte ${offset}`,
      offset,
    );
  }

  peek(): number {
    const byte = this.bytes[this.at];
    if (byte === undefined) this.fail("too_short", "input ends early");
    return byte;
  }

  value(depth: number): BValue {
    if (++this.items > this.maxItems) {
      this.fail("too_long", `more than ${this.maxItems} values`);
    }
    const byte = this.peek();
    if (byte === CH_I) return this.integer();
    if (byte >= CH_0 && byte <= CH_9) return this.string();
    if (byte !== CH_L && byte !== CH_D) {
      this.fail("bad_type", `byte 0x${byte.toString(16)} starts no value`);
    }
    if (depth >= this.maxDepth) {
      this.fail("too_long", `nesting deeper than ${this.maxDepth}`);
    }
    this.at++;
    return byte === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
  }

  integer(): bigint {
    const start = this.at;
    this.at++; // "i"
    const negative = this.peek() === CH_MINUS;
    if (negative) this.at++;
    const digitsAt = this.at;
    while (this.peek() !== CH_E) {
      const byte = this.peek();
      if (byte < CH_0 || byte > CH_9) this.fail("bad_value", "not a digit");
      if (this.at - digitsAt >= MAX_INT_DIGITS) {
        this.fail("bad_value", "integer too long for 64 bits", start);
      }
      this.at++;
    }
    const digits = this.at - digitsAt;
    if (digits === 0) this.fail("bad_value", "integer without digits", start);
    if (this.bytes[digitsAt] === CH_0 && (digits > 1 || negative)) {
      this.fail("not_canonical", "leading zero or -0", start);
    }
    let n = 0n;
    for (let i = digitsAt; i < this.at; i++) {
      n = n * 10n + BigInt(this.bytes[i]! - CH_0);
    }
    if (negative) n = -n;
    if (n < INT64_MIN || n > INT64_MAX) {
      this.fail("bad_value", "integer outside 64 bits", start);
    }
    this.at++; // "e"
    return n;
  }

  string(): Uint8Array {
    const start = this.at;
    const remaining = this.bytes.byteLength - start;
    let length = 0;
    while (this.peek() !== CH_COLON) {
      const byte = this.peek();
      if (byte < CH_0 || byte > CH_9) this.fail("bad_length", "not a digit");
      if (this.at > start && this.bytes[start] === CH_0) {
        this.fail("not_canonical", "length with a leading zero", start);
      }
      length = length * 10 + (byte - CH_0);
      // Checked before anything is read, and before `length` loses precision.
      if (length > remaining) {
        this.fail("bad_length", "string longer than the input", start);
      }
      this.at++;
    }
    this.at++; // ":"
    const end = this.at + length;
    if (end > this.bytes.byteLength) {
      this.fail("too_short", "string longer than the input", start);
    }
    const out = this.views
      ? this.bytes.subarray(this.at, end)
      : this.bytes.slice(this.at, end);
    this.at = end;
    return out;
  }

  list(depth: number): BValue[] {
    const out: BValue[] = [];
    while (this.peek() !== CH_E) out.push(this.value(depth));
    this.at++;
    return out;
  }

  dict(depth: number): BDict {
    const out: BDict = new Map();
    const spans = depth === 1 ? this.spans : null;
    let previous: Uint8Array | null = null;
    while (this.peek() !== CH_E) {
      const keyAt = this.at;
      const byte = this.peek();
      if (byte < CH_0 || byte > CH_9) {
        this.fail("bad_type", "dictionary key is not a string");
      }
      if (++this.items > this.maxItems) {
        this.fail("too_long", `more than ${this.maxItems} values`);
      }
      const key = this.string();
      if (previous && compareBytes(previous, key) >= 0) {
        this.fail("not_canonical", "keys not strictly ascending", keyAt);
      }
      previous = key;
      const valueAt = this.at;
      const text = bkey(key);
      out.set(text, this.value(depth));
      spans?.set(text, { start: valueAt, end: this.at });
    }
    this.at++;
    return out;
  }
}

/** Byte-wise order: negative when `a` sorts first. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.byteLength - b.byteLength;
}

function decodeWith(reader: Reader): BValue {
  const value = reader.value(0);
  if (reader.at !== reader.bytes.byteLength) {
    reader.fail("trailing_bytes", "bytes after the value");
  }
  return value;
}

/**
 * Decodes one canonical bencoded value that fills `bytes` exactly.
 *
 * @param bytes untrusted input
 * @param limits bounds on nesting and value count
 * @returns the value
 * @throws {ProtocolError} `too_short` (truncated), `bad_type` (no value
 *   starts here, or a non-string key), `bad_value` (malformed or beyond
 *   64-bit integer), `bad_length` (string length malformed or past the
 *   input), `not_canonical` (leading zero, `-0`, keys unsorted or repeated),
 *   `too_long` (a limit exceeded), `trailing_bytes`
 * @example
 * ```ts
 * import { decodeBencode } from "@shoal/protocol";
 * decodeBencode(new TextEncoder().encode("i3e")); // 3n
 * decodeBencode(new TextEncoder().encode("l4:spam4:eggse")); // [bytes, bytes]
 * ```
 */
export function decodeBencode(
  bytes: Uint8Array,
  limits: BencodeLimits = {},
): BValue {
  return decodeWith(new Reader(bytes, limits));
}

/**
 * Decodes one canonical bencoded value at the start of `bytes` and says
 * where it ends: for messages that carry raw bytes after a bencoded
 * dictionary (BEP 9 `ut_metadata` data).
 *
 * @param bytes untrusted input that starts with a value
 * @param limits bounds on nesting and value count
 * @returns the value and the offset just past it
 * @throws {ProtocolError} as {@linkcode decodeBencode}, except that bytes
 *   after the value are allowed
 * @example
 * ```ts
 * import { decodeBencodePrefix } from "@shoal/protocol";
 * const { end } = decodeBencodePrefix(new TextEncoder().encode("i3eXYZ")); // end: 3
 * ```
 */
export function decodeBencodePrefix(
  bytes: Uint8Array,
  limits: BencodeLimits = {},
): { value: BValue; end: number } {
  const reader = new Reader(bytes, limits);
  const value = reader.value(0);
  return { value, end: reader.at };
}

/**
 * Validates `bytes` as {@linkcode decodeBencode} does, then returns where the
 * value of `key` in the top-level dictionary lies in `bytes`: the exact
 * bytes a BEP 52 infohash is the SHA-256 of (for `key` `"info"`).
 *
 * @param bytes untrusted input, a whole bencoded dictionary
 * @param key the key as text (UTF-8) or raw bytes
 * @param limits bounds on nesting and value count
 * @returns the value's span, or null when the top value is not a dictionary
 *   or has no such key
 * @throws {ProtocolError} as {@linkcode decodeBencode}
 * @example
 * ```ts
 * import { findDictValueSpan } from "@shoal/protocol";
 * const bytes = new TextEncoder().encode("d4:infod1:ai1eee");
 * const span = findDictValueSpan(bytes, "info"); // { start: 7, end: 15 }
 * bytes.subarray(span!.start, span!.end); // "d1:ai1ee"
 * ```
 */
export function findDictValueSpan(
  bytes: Uint8Array,
  key: string | Uint8Array,
  limits: BencodeLimits = {},
): ByteSpan | null {
  const reader = new Reader(bytes, limits);
  reader.spans = new Map();
  decodeWith(reader);
  const raw = typeof key === "string" ? new TextEncoder().encode(key) : key;
  return reader.spans.get(bkey(raw)) ?? null;
}

/**
 * Encodes a value in canonical bencode (dictionary keys sorted by raw bytes).
 *
 * @param value the value to encode
 * @returns its bencoding
 * @throws {RangeError} for an integer outside signed 64 bits or a key that
 *   is not a binary string
 * @example
 * ```ts
 * import { encodeBencode } from "@shoal/protocol";
 * const bytes = new TextEncoder().encode("spam");
 * encodeBencode(new Map([["spam", bytes], ["cow", bytes]]));
 * // "d3:cow4:spam4:spam4:spame"
 * ```
 */
export function encodeBencode(value: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  encodeInto(value, parts);
  return concatBytes(parts);
}

const ASCII = new TextEncoder();
const L_BYTES = ASCII.encode("l");
const D_BYTES = ASCII.encode("d");
const E_BYTES = ASCII.encode("e");

function encodeString(bytes: Uint8Array, parts: Uint8Array[]): void {
  parts.push(ASCII.encode(`${bytes.byteLength}:`), bytes);
}

function encodeInto(value: BValue, parts: Uint8Array[]): void {
  if (typeof value === "bigint") {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new RangeError(
        `Cannot encode integer ${value}: bencode here is limited to signed 64 bits`,
      );
    }
    parts.push(ASCII.encode(`i${value}e`));
  } else if (value instanceof Uint8Array) {
    encodeString(value, parts);
  } else if (Array.isArray(value)) {
    parts.push(L_BYTES);
    for (const item of value) encodeInto(item, parts);
    parts.push(E_BYTES);
  } else {
    parts.push(D_BYTES);
    const entries = [...value].map(([key, item]) =>
      [bkeyBytes(key), item] as const
    );
    entries.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [key, item] of entries) {
      encodeString(key, parts);
      encodeInto(item, parts);
    }
    parts.push(E_BYTES);
  }
}
