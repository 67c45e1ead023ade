/**
 * One accepted TCP connection, either protocol: its first bytes say which
 * (byte 19 then "BitTorrent protocol", or Shoal's magic "SH"), and it is
 * served by {@linkcode serveBitTorrent} or {@linkcode serveConnection} with
 * those bytes handed on. Anything else is dropped as misbehaviour as soon
 * as its first bytes show it is neither.
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
    // Not even the first bytes of a handshake: no need to wait for more.
    options.onMisbehaviour?.(
      "sent neither a Shoal handshake nor a plain BitTorrent one (encrypted BitTorrent is not supported)",
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
