/**
 * One incoming BitTorrent connection: the handshake must name a file this
 * peer shares (its truncated v2 infohash), or the connection is dropped.
 *
 * @module
 */
import {
  BtFrameDecoder,
  encodeBtHandshake,
  ProtocolError,
} from "@shoal/protocol";
import type { ServeConnectionOptions } from "../wire/serve_connection.ts";
import { isConnectionError } from "../wire/conn_errors.ts";
import { handshakeTimeoutMs } from "../wire/timeouts.ts";
import { findByInfoHash } from "./find_shared.ts";

/** What every BitTorrent connection of one server shares. */
export interface BtContext {
  /** This peer's BitTorrent peer id (20 bytes). */
  peerId: Uint8Array;
}

/** Options for {@linkcode serveBitTorrent}. */
export interface ServeBtOptions extends ServeConnectionOptions {
  /** The server's BitTorrent context. */
  context: BtContext;
}

/**
 * Serves one BitTorrent connection until it closes or breaks the protocol.
 * Never throws for anything the peer does; closes `conn` on return.
 *
 * @param conn an accepted TCP connection
 * @param firstBytes what was read to tell the protocol (decoded first)
 * @param options the library, limits and context
 */
export async function serveBitTorrent(
  conn: Deno.Conn,
  firstBytes: Uint8Array,
  options: ServeBtOptions,
): Promise<void> {
  const timer = setTimeout(
    () => close(),
    handshakeTimeoutMs(options.handshakeTimeoutMs),
  );
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  const decoder = new BtFrameDecoder();
  const buffer = new Uint8Array(64 * 1024);
  try {
    let chunk: Uint8Array | null = firstBytes;
    while (chunk && !closed) {
      let problem: string | null = null;
      decoder.push(chunk, (frame) => {
        if (frame.kind !== "handshake" || problem) return;
        const file = findByInfoHash(options.library, frame.infoHash);
        if (!file) {
          problem = "sent a BitTorrent handshake for a file not shared here";
          return;
        }
        void conn.write(encodeBtHandshake({
          infoHash: frame.infoHash,
          peerId: options.context.peerId,
        })).catch(() => {});
      });
      if (problem) {
        options.onMisbehaviour?.(problem);
        break;
      }
      const n = await conn.read(buffer);
      chunk = n === null ? null : buffer.subarray(0, n);
    }
  } catch (error) {
    if (error instanceof ProtocolError) {
      options.onMisbehaviour?.(`bad BitTorrent message: ${error.message}`);
    } else if (!isConnectionError(error)) throw error;
  } finally {
    close();
  }
}
