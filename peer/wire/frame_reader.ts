/**
 * A pull-based frame reader for the download hot path. Unlike
 * `FrameDecoderStream` (one new buffer per frame, plus a stream hop per
 * read), it reads the socket into one staging buffer, reads large bodies
 * straight into one reused body buffer, and allocates nothing per chunk:
 * fresh 512 KiB buffers per chunk cost more in page faults than the copy.
 *
 * @module
 */
import {
  HEADER_BYTES,
  type Message,
  parseBody,
  parseHeader,
  ProtocolError,
} from "@shoal/protocol";

const STAGING_BYTES = 64 * 1024;

/** Anything with Deno.Conn's `read`. */
export interface ByteSource {
  /** Reads into `into`; resolves with the count, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
}

/**
 * Reads whole messages from a byte source. A message's bulk field (chunk
 * data, bitfield, manifest) is a view into a buffer that the next call to
 * {@linkcode FrameReader.next} overwrites: use or copy it before then.
 *
 * @example
 * ```ts
 * // const reader = new FrameReader(conn, { maxBodyBytes: 4 + 512 * 1024 });
 * // for (let m = await reader.next(); m; m = await reader.next()) { ... }
 * ```
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #maxBodyBytes: number;
  readonly #staging = new Uint8Array(STAGING_BYTES);
  #start = 0;
  #end = 0;
  #body = new Uint8Array(0);
  /** Called with the count of every read, for idle timers. */
  onBytes: ((count: number) => void) | null = null;

  /**
   * @param source the socket
   * @param options the largest body this connection accepts
   */
  constructor(source: ByteSource, options: { maxBodyBytes: number }) {
    this.#source = source;
    this.#maxBodyBytes = options.maxBodyBytes;
  }

  async #readSome(into: Uint8Array): Promise<number | null> {
    const n = await this.#source.read(into);
    if (n !== null) this.onBytes?.(n);
    return n;
  }

  /** Makes `count` bytes available in staging; false at a clean end. */
  async #fill(count: number): Promise<boolean> {
    if (this.#end - this.#start >= count) return true;
    if (this.#start > 0) {
      this.#staging.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end < count) {
      const n = await this.#readSome(this.#staging.subarray(this.#end));
      if (n === null) {
        if (this.#end === 0) return false;
        throw new ProtocolError(
          "too_short",
          "Cannot decode frame: the connection closed in the middle of a frame",
        );
      }
      this.#end += n;
    }
    return true;
  }

  /**
   * Reads the next message.
   *
   * @returns the message, or null when the peer closed between frames
   * @throws {ProtocolError} on an invalid frame or a close inside one
   */
  async next(): Promise<Message | null> {
    if (!(await this.#fill(HEADER_BYTES))) return null;
    const header = parseHeader(
      this.#staging.subarray(this.#start, this.#start + HEADER_BYTES),
    );
    if (header.bodyLength > this.#maxBodyBytes) {
      throw new ProtocolError(
        "too_long",
        `Cannot accept ${header.kind}: body of ${header.bodyLength} bytes, this connection allows ${this.#maxBodyBytes}`,
        10,
      );
    }
    this.#start += HEADER_BYTES;
    const length = header.bodyLength;
    if (this.#body.byteLength < length) this.#body = new Uint8Array(length);
    const body = this.#body.subarray(0, length);
    const buffered = Math.min(length, this.#end - this.#start);
    body.set(this.#staging.subarray(this.#start, this.#start + buffered));
    this.#start += buffered;
    let filled = buffered;
    // The rest of a large body goes straight from the socket into place.
    while (filled < length) {
      const n = await this.#readSome(body.subarray(filled));
      if (n === null) {
        throw new ProtocolError(
          "too_short",
          "Cannot decode frame: the connection closed in the middle of a frame",
        );
      }
      filled += n;
    }
    return parseBody(header, body);
  }
}
