/**
 * A fixed-size set of chunk indices, stored as the BITFIELD message carries
 * it: one bit per chunk, most significant bit of byte 0 is chunk 0.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";

/**
 * One bit per chunk.
 *
 * @example
 * ```ts
 * import { Bitfield } from "@shoal/protocol";
 * const have = new Bitfield(10);
 * have.set(3);
 * have.has(3); // true
 * have.count; // 1
 * ```
 */
export class Bitfield {
  /** Number of chunks. */
  readonly size: number;
  readonly #bytes: Uint8Array;
  #count = 0;

  /**
   * @param size number of chunks
   * @param bytes optional wire bytes to start from (copied; spare bits must be 0)
   */
  constructor(size: number, bytes?: Uint8Array) {
    this.size = size;
    this.#bytes = new Uint8Array(Bitfield.byteLength(size));
    if (bytes) {
      if (bytes.byteLength !== this.#bytes.byteLength) {
        throw new ProtocolError(
          "bad_length",
          `Cannot read bitfield: ${bytes.byteLength} bytes, expected ${this.#bytes.byteLength} for ${size} chunks`,
        );
      }
      this.#bytes.set(bytes);
      const spare = this.#bytes.byteLength * 8 - size;
      if (
        spare > 0 &&
        (this.#bytes[this.#bytes.byteLength - 1]! & ((1 << spare) - 1)) !== 0
      ) {
        throw new ProtocolError(
          "bad_value",
          "Cannot read bitfield: spare bits are set",
        );
      }
      for (let i = 0; i < size; i++) if (this.has(i)) this.#count++;
    }
  }

  /** Bytes needed for `size` bits. */
  static byteLength(size: number): number {
    return Math.ceil(size / 8);
  }

  /** A bitfield with every chunk set. */
  static full(size: number): Bitfield {
    const field = new Bitfield(size);
    for (let i = 0; i < size; i++) field.set(i);
    return field;
  }

  /** Chunks set. */
  get count(): number {
    return this.#count;
  }

  /** True when every chunk is set. */
  get complete(): boolean {
    return this.#count === this.size;
  }

  /** Whether chunk `index` is set. */
  has(index: number): boolean {
    if (index < 0 || index >= this.size) return false;
    return (this.#bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  /** Sets chunk `index`; returns false if it was already set. */
  set(index: number): boolean {
    if (index < 0 || index >= this.size) {
      throw new RangeError(
        `Cannot set chunk ${index}: the file has ${this.size} chunks`,
      );
    }
    if (this.has(index)) return false;
    this.#bytes[index >> 3]! |= 0x80 >> (index & 7);
    this.#count++;
    return true;
  }

  /** Clears chunk `index`. */
  clear(index: number): void {
    if (!this.has(index)) return;
    this.#bytes[index >> 3]! &= ~(0x80 >> (index & 7)) & 0xff;
    this.#count--;
  }

  /** A copy of the wire bytes. */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }
}
