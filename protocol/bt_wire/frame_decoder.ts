/**
 * BitTorrent framing: turns a TCP byte stream into a handshake and then
 * messages. The protocol name is checked byte by byte as it arrives, and
 * each message's length against its id's limits (messages.ts,
 * `btBodyLimits`) as soon as the 5-byte header is in, before a body byte
 * is buffered. Pure: no sockets, timers or logs.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import {
  BT_HANDSHAKE_BYTES,
  BT_LENGTH_PREFIX_BYTES,
  BtMessageId,
  MAX_BT_BITFIELD_BYTES,
} from "./constants.ts";
import {
  type BtHandshake,
  checkBtHandshakeStart,
  decodeBtHandshake,
} from "./handshake.ts";
import { type BtMessage, checkBtBodyLength, decodeBtBody } from "./messages.ts";

/** What {@linkcode BtFrameDecoder} emits: the handshake first, then messages. */
export type BtFrame = ({ kind: "handshake" } & BtHandshake) | BtMessage;

/** Options for {@linkcode BtFrameDecoder}. */
export interface BtFrameDecoderOptions {
  /**
   * The stream starts with a handshake (false: the caller read it already).
   * @default {true}
   */
  handshake?: boolean;
  /**
   * Byte fields (blocks, bitfields, payloads) are views into the decoder's
   * buffers or the caller's chunk, valid only until `emit` returns: no copy
   * per message, for a caller that uses each block at once.
   * @default {false}
   */
  views?: boolean;
  /**
   * Largest bitfield accepted; see {@linkcode BtFrameDecoder.expectPieces}
   * to require the exact size once the piece count is known.
   * @default {MAX_BT_BITFIELD_BYTES}
   */
  maxBitfieldBytes?: number;
}

/**
 * The framing state machine: feed it bytes, it calls back once per whole
 * handshake or message, in order. It throws {@linkcode ProtocolError} on
 * the first bad frame; the caller then closes the connection.
 *
 * @example
 * ```ts
 * import { BtFrameDecoder, encodeBtMessage } from "@shoal/protocol";
 * const decoder = new BtFrameDecoder({ handshake: false });
 * decoder.push(encodeBtMessage({ kind: "have", index: 3 }), (m) => console.log(m.kind));
 * ```
 */
export class BtFrameDecoder {
  readonly #views: boolean;
  #maxBitfieldBytes: number;
  #exactBitfieldBytes: number | null = null;
  #inHandshake: boolean;
  /** The handshake, or a message's 4-byte length and id byte. */
  readonly #head: Uint8Array;
  readonly #headView: DataView;
  #headFill = 0;
  /** The body being filled, once the header is in. */
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #id = 0;
  /** Reused body buffer in views mode. */
  #scratch = new Uint8Array(0);

  /** @param options handshake, views and limits for this connection */
  constructor(options: BtFrameDecoderOptions = {}) {
    this.#views = options.views ?? false;
    this.#maxBitfieldBytes = options.maxBitfieldBytes ?? MAX_BT_BITFIELD_BYTES;
    this.#inHandshake = options.handshake ?? true;
    this.#head = new Uint8Array(BT_HANDSHAKE_BYTES);
    this.#headView = new DataView(this.#head.buffer);
  }

  /** True when no partial handshake or message is buffered. */
  get idle(): boolean {
    return this.#headFill === 0 && this.#body === null;
  }

  /**
   * From now on a bitfield must be exactly the size for `pieces` pieces
   * (known once the torrent's metadata is).
   *
   * @param pieces the torrent's piece count
   */
  expectPieces(pieces: number): void {
    this.#exactBitfieldBytes = Math.ceil(pieces / 8);
    this.#maxBitfieldBytes = Math.min(
      this.#maxBitfieldBytes,
      this.#exactBitfieldBytes,
    );
  }

  /**
   * Feeds bytes; calls `emit` for each complete handshake or message.
   *
   * @throws {ProtocolError} on the first invalid frame
   */
  push(chunk: Uint8Array, emit: (frame: BtFrame) => void): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#inHandshake) {
        const take = Math.min(
          BT_HANDSHAKE_BYTES - this.#headFill,
          chunk.byteLength - at,
        );
        this.#head.set(chunk.subarray(at, at + take), this.#headFill);
        this.#headFill += take;
        at += take;
        checkBtHandshakeStart(this.#head.subarray(0, this.#headFill));
        if (this.#headFill < BT_HANDSHAKE_BYTES) return;
        this.#inHandshake = false;
        this.#headFill = 0;
        emit({ kind: "handshake", ...decodeBtHandshake(this.#head) });
        continue;
      }
      if (this.#body === null) {
        if (this.#headFill < BT_LENGTH_PREFIX_BYTES) {
          const take = Math.min(
            BT_LENGTH_PREFIX_BYTES - this.#headFill,
            chunk.byteLength - at,
          );
          this.#head.set(chunk.subarray(at, at + take), this.#headFill);
          this.#headFill += take;
          at += take;
          if (this.#headFill < BT_LENGTH_PREFIX_BYTES) return;
          if (this.#headView.getUint32(0) === 0) {
            this.#headFill = 0;
            emit({ kind: "keepalive" });
            continue;
          }
          if (at === chunk.byteLength) return;
        }
        // The id byte.
        this.#head[BT_LENGTH_PREFIX_BYTES] = chunk[at++]!;
        this.#headFill = BT_LENGTH_PREFIX_BYTES + 1;
        const length = this.#headView.getUint32(0);
        this.#id = this.#head[BT_LENGTH_PREFIX_BYTES]!;
        const body = length - 1;
        checkBtBodyLength(this.#id, body, this.#maxBitfieldBytes);
        if (
          this.#exactBitfieldBytes !== null &&
          this.#id === BtMessageId.BITFIELD &&
          body !== this.#exactBitfieldBytes
        ) {
          throw new ProtocolError(
            "bad_length",
            `Cannot accept BitTorrent bitfield: ${body} bytes, expected ${this.#exactBitfieldBytes}`,
          );
        }
        // A whole body already in this chunk is decoded in place.
        if (chunk.byteLength - at >= body) {
          this.#headFill = 0;
          const slice = chunk.subarray(at, at + body);
          at += body;
          emit(decodeBtBody(this.#id, slice, this.#views));
          continue;
        }
        if (this.#views) {
          if (this.#scratch.byteLength < body) {
            this.#scratch = new Uint8Array(body);
          }
          this.#body = this.#scratch.subarray(0, body);
        } else {
          this.#body = new Uint8Array(body);
        }
        this.#bodyFill = 0;
      }
      const body = this.#body;
      const take = Math.min(
        body.byteLength - this.#bodyFill,
        chunk.byteLength - at,
      );
      body.set(chunk.subarray(at, at + take), this.#bodyFill);
      this.#bodyFill += take;
      at += take;
      if (this.#bodyFill === body.byteLength) {
        this.#body = null;
        this.#headFill = 0;
        // The body is ours (not the caller's chunk): no second copy needed.
        emit(decodeBtBody(this.#id, body, true));
      }
    }
  }

  /** Throws if the stream ended inside a handshake or message. */
  finish(): void {
    if (!this.idle) {
      throw new ProtocolError(
        "too_short",
        "Cannot decode BitTorrent message: the connection closed in the middle of one",
      );
    }
  }
}
