/**
 * The opening of a connection to a peer, for one file: we send HANDSHAKE,
 * the peer answers ACK then its BITFIELD (or ERROR to refuse). One module
 * for both who open connections: the manifest fetch (fetch_manifest.ts) and
 * the fetch workers (peer/workers/fetch_worker.ts). Pure: it reads decoded
 * messages and knows no socket.
 *
 * @module
 */
import { createMessage, type Message } from "@shoal/protocol";

/** Who we are and what we want, said in the HANDSHAKE. */
export interface Hello {
  /** The file we want. */
  fileId: Uint8Array;
  /** Our peer id. */
  peerId: Uint8Array;
  /** The TCP port we serve on, or 0. */
  listenPort: number;
  /** We understand PEX (the HANDSHAKE's PEX flag). @default {false} */
  pex?: boolean;
}

/**
 * The HANDSHAKE frame that opens a connection.
 *
 * @param hello the file, our id and port
 * @returns the encoded frame
 * @example
 * ```ts
 * import { handshakeFrame } from "./handshake.ts";
 * handshakeFrame({ fileId: new Uint8Array(32), peerId: new Uint8Array(16), listenPort: 0 });
 * ```
 */
export function handshakeFrame(hello: Hello): Uint8Array {
  return createMessage({
    kind: "handshake",
    txid: 0,
    fileId: hello.fileId,
    peerId: hello.peerId,
    port: hello.listenPort,
    ...(hello.pex ? { pex: true } : {}),
  });
}

/** What one message of the answer means. */
export type HandshakeStep =
  /** Read on: the ACK came, the BITFIELD is next. */
  | { kind: "more" }
  /** The handshake is done: the peer's bitfield, as sent. */
  | { kind: "ready"; bitfield: Uint8Array }
  /** The peer said no (ERROR): not its fault. */
  | { kind: "refused"; reason: string }
  /** The peer broke the protocol. */
  | { kind: "misbehaved"; reason: string };

/**
 * Reads the peer's answer to our HANDSHAKE, one message at a time.
 *
 * @example
 * ```ts
 * import { HandshakeReply } from "./handshake.ts";
 * const reply = new HandshakeReply(8);
 * reply.step({ kind: "ack", txid: 0, intervalSeconds: 0 }); // { kind: "more" }
 * reply.step({ kind: "bitfield", txid: 0, bits: new Uint8Array(1) }); // { kind: "ready", ... }
 * ```
 */
export class HandshakeReply {
  readonly #bitfieldBytes: number | null;
  #acked = false;
  #done = false;
  #peerPex = false;

  /**
   * @param chunkCount the file's chunks, so the BITFIELD's length is
   *   checked; null when not known yet (the manifest fetch)
   */
  constructor(chunkCount: number | null) {
    this.#bitfieldBytes = chunkCount === null
      ? null
      : Math.ceil(chunkCount / 8);
  }

  /** True once the BITFIELD came. */
  get done(): boolean {
    return this.#done;
  }

  /** True when the peer's ACK said it understands PEX. */
  get peerPex(): boolean {
    return this.#peerPex;
  }

  /**
   * Reads one message of the answer (before {@linkcode done}).
   *
   * @param message the next message from the peer
   * @returns read on, ready with the bitfield, or why to close
   */
  step(message: Message): HandshakeStep {
    if (!this.#acked) {
      if (message.kind === "ack") {
        this.#acked = true;
        this.#peerPex = message.pex === true;
        return { kind: "more" };
      }
      if (message.kind === "error") {
        return { kind: "refused", reason: `peer refused: ${message.text}` };
      }
      return {
        kind: "misbehaved",
        reason: `expected ACK to the handshake, got ${message.kind}`,
      };
    }
    if (message.kind !== "bitfield") {
      return {
        kind: "misbehaved",
        reason: `expected BITFIELD, got ${message.kind}`,
      };
    }
    if (
      this.#bitfieldBytes !== null &&
      message.bits.byteLength !== this.#bitfieldBytes
    ) {
      return { kind: "misbehaved", reason: "bitfield has the wrong length" };
    }
    this.#done = true;
    return { kind: "ready", bitfield: message.bits };
  }
}
