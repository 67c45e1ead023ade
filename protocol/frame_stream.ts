/**
 * TCP framing: turns a byte stream into messages. The header is checked
 * (magic, version, type, and the body length against that type's limit and
 * the stream's own cap) before a single body byte is buffered.
 *
 * @module
 */
import { HEADER_BYTES, MAX_FRAME_BODY_BYTES } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { type Header, parseHeader } from "./header.ts";
import type { Message } from "./message_types.ts";
import { parseBody } from "./messages.ts";

/** Options for {@linkcode FrameDecoderStream}. */
export interface FrameDecoderOptions {
  /**
   * Largest body this side accepts, below the per-type limits (a seeder
   * receives only small commands, so it can cap frames far lower).
   * @default {MAX_FRAME_BODY_BYTES}
   */
  maxBodyBytes?: number;
}

/**
 * A `TransformStream` from TCP bytes to messages. It errors with
 * {@linkcode ProtocolError} on the first bad frame; the caller then closes
 * the connection.
 *
 * @example
 * ```ts
 * import { FrameDecoderStream } from "@shoal/protocol";
 * // for await (const message of conn.readable.pipeThrough(new FrameDecoderStream())) { ... }
 * ```
 */
export class FrameDecoderStream extends TransformStream<Uint8Array, Message> {
  /** @param options limits for this connection */
  constructor(options: FrameDecoderOptions = {}) {
    const decoder = new FrameDecoder(options);
    super({
      transform(chunk, controller) {
        decoder.push(chunk, (message) => controller.enqueue(message));
      },
      flush() {
        decoder.finish();
      },
    });
  }
}

/**
 * The framing state machine behind {@linkcode FrameDecoderStream}, usable
 * without streams: feed it bytes, it calls back once per whole message.
 *
 * @example
 * ```ts
 * import { createMessage, FrameDecoder } from "@shoal/protocol";
 * const decoder = new FrameDecoder();
 * decoder.push(createMessage({ kind: "get", txid: 1, index: 0 }), (m) => console.log(m.kind));
 * ```
 */
export class FrameDecoder {
  readonly #maxBodyBytes: number;
  readonly #headerBytes = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #header: Header | null = null;
  #body: Uint8Array | null = null;
  #bodyFill = 0;

  /** @param options limits for this connection */
  constructor(options: FrameDecoderOptions = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? MAX_FRAME_BODY_BYTES;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.#headerFill === 0 && this.#header === null;
  }

  /**
   * Feeds bytes; calls `emit` for each complete message, in order.
   *
   * @throws {ProtocolError} on the first invalid frame
   */
  push(chunk: Uint8Array, emit: (message: Message) => void): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#header === null) {
        const take = Math.min(
          HEADER_BYTES - this.#headerFill,
          chunk.byteLength - at,
        );
        this.#headerBytes.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < HEADER_BYTES) return;
        const header = parseHeader(this.#headerBytes);
        if (header.bodyLength > this.#maxBodyBytes) {
          throw new ProtocolError(
            "too_long",
            `Cannot accept ${header.kind}: body of ${header.bodyLength} bytes, this connection allows ${this.#maxBodyBytes}`,
            10,
          );
        }
        this.#header = header;
        this.#body = new Uint8Array(header.bodyLength);
        this.#bodyFill = 0;
      }
      const body = this.#body!;
      const take = Math.min(
        body.byteLength - this.#bodyFill,
        chunk.byteLength - at,
      );
      body.set(chunk.subarray(at, at + take), this.#bodyFill);
      this.#bodyFill += take;
      at += take;
      if (this.#bodyFill === body.byteLength) {
        const header = this.#header;
        this.#header = null;
        this.#body = null;
        this.#headerFill = 0;
        emit(parseBody(header, body));
      }
    }
  }

  /** Throws if the stream ended inside a frame. */
  finish(): void {
    if (!this.idle) {
      throw new ProtocolError(
        "too_short",
        "Cannot decode frame: the connection closed in the middle of a frame",
      );
    }
  }
}
