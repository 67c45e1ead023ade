/**
 * Buffers for CHUNK_DATA frames, shared by all of a seeder's connections.
 *
 * Why: each connection used to keep its own chunk-sized buffer from its first
 * chunk to its close, so a seeder's memory grew with every leecher it had
 * ever served (60 leechers of one seeder: 91 MiB peak). Only the connections
 * sending at this moment need one, and the upload slots keep those few.
 *
 * @module
 */

/**
 * A small pool of byte buffers: taken for one frame, given back once it is
 * written. Keeps at most `keep` buffers between uses; more than that may be
 * out at once (they are then made, and dropped when given back).
 *
 * @example
 * ```ts
 * import { SendBuffers } from "./send_buffers.ts";
 * const buffers = new SendBuffers(8);
 * const buffer = buffers.take(16 + 524288);
 * // ... fill it, write it ...
 * buffers.give(buffer);
 * ```
 */
export class SendBuffers {
  readonly #keep: number;
  readonly #free: Uint8Array[] = [];

  /** @param keep buffers kept between uses */
  constructor(keep: number) {
    this.#keep = keep;
  }

  /** Buffers kept for reuse now. */
  get kept(): number {
    return this.#free.length;
  }

  /** A buffer of at least `bytes` bytes (its contents are whatever it last held). */
  take(bytes: number): Uint8Array {
    const at = this.#free.findIndex((buffer) => buffer.byteLength >= bytes);
    if (at >= 0) return this.#free.splice(at, 1)[0]!;
    return new Uint8Array(bytes);
  }

  /** Gives a buffer back once nothing reads it any more. */
  give(buffer: Uint8Array): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }
}
