/**
 * One accepted TCP connection, either protocol: its first bytes say which
 * (byte 19 then "BitTorrent protocol", or Shoal's magic "SH"), and it is
 * served by {@linkcode serveBitTorrent} or {@linkcode serveConnection} with
 * those bytes handed on. Anything else may be a BitTorrent client's MSE
 * handshake (../bt/accept_mse.ts), answered within a budget; past it, or
 * without BitTorrent, it is dropped as misbehaviour at once.
 *
 * @module
 */
import { detectWireProtocol, WIRE_DETECT_BYTES } from "@shoal/protocol";
import {
  serveConnection,
  type ServeConnectionOptions,
} from "./serve_connection.ts";
import { isConnectionError } from "./conn_errors.ts";
import { handshakeTimeoutMs } from "./timeouts.ts";
import { type BtContext, serveBitTorrent } from "../bt/serve_bt.ts";
import { acceptMse } from "../bt/accept_mse.ts";

/** Options for {@linkcode serveAnyProtocol}. */
export interface ServeAnyOptions extends ServeConnectionOptions {
  /** What BitTorrent connections share; BitTorrent is refused when absent. */
  bt?: BtContext;
}

/**
 * Reads the first bytes of `conn` (within the handshake timeout) until the
 * protocol is known, then serves it. Never throws for anything the peer
 * does; closes `conn` on return.
 *
 * @param conn an accepted TCP connection
 * @param options the library, limits, and the BitTorrent context
 * @returns once the connection is over
 */
export async function serveAnyProtocol(
  conn: Deno.Conn,
  options: ServeAnyOptions,
): Promise<void> {
  const first = await readFirstBytes(
    conn,
    handshakeTimeoutMs(options.handshakeTimeoutMs),
  );
  if (first === null) {
    closeQuietly(conn);
    return;
  }
  const protocol = detectWireProtocol(first);
  if (protocol === "bittorrent" && options.bt) {
    await serveBitTorrent(conn, first, {
      ...options,
      context: options.bt,
    });
    return;
  }
  if (protocol === "unknown") {
    // BitTorrent clients open with an MSE handshake while encryption is
    // allowed: answered (plain text selected) within a budget, else closed
    // at once, and the client retries in plain text.
    if (options.bt?.mse?.tryTake(1)) {
      const opened = await acceptMse(conn, first, {
        library: options.library,
        timeoutMs: handshakeTimeoutMs(options.handshakeTimeoutMs),
      });
      if (opened.kind === "plain") {
        await serveBitTorrent(conn, opened.payload, {
          ...options,
          context: options.bt,
        });
        return;
      }
      if (opened.kind === "refused") {
        options.onMisbehaviour?.(
          `sent neither a Shoal handshake nor a BitTorrent one: ${opened.reason}`,
        );
      }
      closeQuietly(conn);
      return;
    }
    // Not even the first bytes of a handshake: no need to wait for more.
    options.onMisbehaviour?.(
      "sent neither a Shoal handshake nor a plain BitTorrent one",
    );
    closeQuietly(conn);
    return;
  }
  await serveConnection(conn, { ...options, firstBytes: first });
}

/**
 * Reads until {@linkcode detectWireProtocol} can tell (at most 20 bytes are
 * needed, but a read returns what has arrived), or null when the peer
 * closed or said too little in time.
 */
async function readFirstBytes(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<Uint8Array | null> {
  const buffer = new Uint8Array(4096);
  let filled = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    while (filled < WIRE_DETECT_BYTES) {
      const n = await conn.read(buffer.subarray(filled));
      if (n === null) return null;
      filled += n;
      if (detectWireProtocol(buffer.subarray(0, filled)) !== null) break;
    }
    return buffer.slice(0, filled);
  } catch (error) {
    if (timedOut || isConnectionError(error)) return null;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
