/**
 * Which protocol to speak to a peer. A peer's address says nothing of it:
 * the tracker lists BitTorrent clients beside Shoal peers, and a magnet
 * link's peers may be either. So a connection opens with Shoal's handshake,
 * and a peer that answers it with nothing at all (it closes, or stays
 * silent until our handshake timeout) or with a BitTorrent handshake is
 * asked once more, in BitTorrent, and remembered as a BitTorrent peer
 * (peer_book.ts). Shoal seeders accept both on one port, so asking a Shoal
 * peer in BitTorrent is never wrong, only a little slower.
 *
 * Why silence counts too: libtorrent with encryption allowed (its default,
 * and qBittorrent's) reads a handshake that does not start with byte 19 as
 * the start of an encrypted one, waits for more bytes, and closes only
 * after its own 10 s handshake timeout, later than ours.
 *
 * Pure: the callers pass what they saw on the socket.
 *
 * @module
 */
import { detectWireProtocol } from "@shoal/protocol";

/** A peer wire protocol Shoal speaks. */
export type PeerProtocol = "shoal" | "bittorrent";

/** What a first connection attempt saw before it ended. */
export interface FirstContact {
  /** The protocol the attempt spoke. */
  tried: PeerProtocol;
  /** Bytes the peer sent in all. */
  bytesReceived: number;
  /** The first bytes it sent (up to `WIRE_DETECT_BYTES` are enough). */
  prefix: Uint8Array;
}

/**
 * The protocol to ask a peer in next, after an attempt that failed; null
 * when the failure says nothing about the protocol (a Shoal peer that
 * refused, a wrong frame, no connection at all), and always null after a
 * BitTorrent attempt: the fallback happens once.
 *
 * @param contact what the failed attempt saw
 * @returns "bittorrent", or null
 * @example
 * ```ts
 * import { fallbackProtocol } from "./protocol_fallback.ts";
 * fallbackProtocol({ tried: "shoal", bytesReceived: 0, prefix: new Uint8Array() }); // "bittorrent"
 * ```
 */
export function fallbackProtocol(contact: FirstContact): PeerProtocol | null {
  if (contact.tried !== "shoal") return null;
  if (contact.bytesReceived === 0) return "bittorrent";
  return detectWireProtocol(contact.prefix) === "bittorrent"
    ? "bittorrent"
    : null;
}

/**
 * Records the first bytes of a connection for {@linkcode fallbackProtocol}:
 * a bounded prefix and the count.
 *
 * @example
 * ```ts
 * import { FirstBytes } from "./protocol_fallback.ts";
 * const seen = new FirstBytes();
 * seen.add(new Uint8Array([19, 66]));
 * seen.count; // 2
 * ```
 */
export class FirstBytes {
  /** Enough to tell the protocols apart (byte 19 and "BitTorrent protocol"). */
  static readonly KEEP = 20;
  readonly #prefix = new Uint8Array(FirstBytes.KEEP);
  #kept = 0;
  #count = 0;

  /** Bytes seen in all. */
  get count(): number {
    return this.#count;
  }

  /** The first bytes seen (at most {@linkcode FirstBytes.KEEP}). */
  get prefix(): Uint8Array {
    return this.#prefix.subarray(0, this.#kept);
  }

  /** Notes bytes as they arrive. */
  add(bytes: Uint8Array): void {
    this.#count += bytes.byteLength;
    if (this.#kept === FirstBytes.KEEP) return;
    const take = Math.min(FirstBytes.KEEP - this.#kept, bytes.byteLength);
    this.#prefix.set(bytes.subarray(0, take), this.#kept);
    this.#kept += take;
  }
}

/**
 * A peer answered Shoal's handshake as only a BitTorrent peer does (see
 * {@linkcode fallbackProtocol}): not a failure, a reason to ask it again in
 * BitTorrent.
 */
export class SpeaksBitTorrentError extends Error {
  /** For callers that test codes rather than classes. */
  readonly code = "speaks_bittorrent";

  /** @param message one line, for logs */
  constructor(message: string) {
    super(message);
    this.name = "SpeaksBitTorrentError";
  }
}
