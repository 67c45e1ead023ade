/**
 * Bounds-checked big-endian reader and writer. Every read checks the length
 * first and throws {@linkcode ProtocolError}; nothing reads past the end.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Encodes a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * The parts, one after another, in one new buffer (one write for several
 * frames).
 *
 * @param parts the byte strings
 * @returns their concatenation
 * @example
 * ```ts
 * import { concatBytes } from "@shoal/protocol";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Reads big-endian fields from untrusted bytes, checking each length first. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset: number;

  /**
   * @param bytes the bytes to read; not copied
   * @param offset where to start
   */
  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = offset;
  }

  /** Current position. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  #need(count: number, what: string): number {
    if (this.remaining < count) {
      throw new ProtocolError(
        "too_short",
        `Cannot read ${what}: ${this.remaining} bytes left, expected ${count}`,
        this.#offset,
      );
    }
    const at = this.#offset;
    this.#offset += count;
    return at;
  }

  /** Reads an unsigned byte. */
  u8(what = "byte"): number {
    return this.#view.getUint8(this.#need(1, what));
  }

  /** Reads an unsigned 16-bit integer. */
  u16(what = "u16"): number {
    return this.#view.getUint16(this.#need(2, what));
  }

  /** Reads an unsigned 32-bit integer. */
  u32(what = "u32"): number {
    return this.#view.getUint32(this.#need(4, what));
  }

  /** Reads an unsigned 64-bit integer that must not exceed `max`. */
  u64(what: string, max: number): number {
    const at = this.#need(8, what);
    const value = this.#view.getBigUint64(at);
    if (value > BigInt(max)) {
      throw new ProtocolError(
        "bad_value",
        `Cannot read ${what}: ${value} is above the limit ${max}`,
        at,
      );
    }
    return Number(value);
  }

  /** Reads a 64-bit value as a bigint, with no limit (cookies). */
  u64Raw(what = "u64"): bigint {
    return this.#view.getBigUint64(this.#need(8, what));
  }

  /** Returns a view (not a copy) of the next `count` bytes. */
  bytes(count: number, what = "bytes"): Uint8Array {
    const at = this.#need(count, what);
    return this.#bytes.subarray(at, at + count);
  }

  /** Returns a copy of the next `count` bytes, for values kept beyond the packet. */
  copy(count: number, what = "bytes"): Uint8Array {
    return this.bytes(count, what).slice();
  }

  /** Reads `count` bytes of strict UTF-8. */
  string(count: number, what = "string"): string {
    const at = this.#offset;
    const raw = this.bytes(count, what);
    try {
      return utf8Decoder.decode(raw);
    } catch {
      throw new ProtocolError(
        "bad_string",
        `Cannot read ${what}: not valid UTF-8`,
        at,
      );
    }
  }

  /** Throws unless every byte was read. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(
        "trailing_bytes",
        `Cannot decode ${what}: ${this.remaining} unused bytes`,
        this.#offset,
      );
    }
  }
}

/** Writes big-endian fields into a buffer sized up front. */
export class ByteWriter {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  /** @param size the exact number of bytes that will be written */
  constructor(size: number) {
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Writes an unsigned byte. */
  u8(value: number): this {
    this.#view.setUint8(this.#offset, value);
    this.#offset += 1;
    return this;
  }

  /** Writes an unsigned 16-bit integer. */
  u16(value: number): this {
    this.#view.setUint16(this.#offset, value);
    this.#offset += 2;
    return this;
  }

  /** Writes an unsigned 32-bit integer. */
  u32(value: number): this {
    this.#view.setUint32(this.#offset, value);
    this.#offset += 4;
    return this;
  }

  /** Writes an unsigned 64-bit integer. */
  u64(value: number | bigint): this {
    this.#view.setBigUint64(this.#offset, BigInt(value));
    this.#offset += 8;
    return this;
  }

  /** Copies bytes in. */
  bytes(value: Uint8Array): this {
    this.#bytes.set(value, this.#offset);
    this.#offset += value.byteLength;
    return this;
  }

  /** Returns the buffer; throws if fewer bytes were written than sized. */
  finish(): Uint8Array {
    if (this.#offset !== this.#bytes.byteLength) {
      throw new RangeError(
        `Cannot finish message: wrote ${this.#offset} bytes, sized ${this.#bytes.byteLength}`,
      );
    }
    return this.#bytes;
  }
}
