/**
 * An incoming connection that opens with an MSE handshake
 * (protocol/bt_wire/mse.ts), as libtorrent, qBittorrent and Deluge open
 * theirs while encryption is allowed (their default): answered, with plain
 * text selected, so the client's first connection is served at once instead
 * of its plain-text retry a second later. What follows is the plain
 * BitTorrent peer wire, served by serve_bt.ts.
 *
 * Each handshake costs this thread about a millisecond (two 768-bit modular
 * exponentiations), so they are budgeted: {@linkcode MSE_HANDSHAKES_PER_SECOND}
 * per server on average, beyond which such a connection is closed as before
 * MSE was answered (the client then retries in plain text).
 *
 * @module
 */
import { BT_INFOHASH_BYTES, MseResponder } from "@shoal/protocol";
import type { Library } from "../library/library.ts";
import { TokenBucket } from "../swarm/token_bucket.ts";
import { isConnectionError } from "../wire/conn_errors.ts";
import { writeAll } from "../wire/write_all.ts";

/** MSE handshakes a server answers per second, on average. */
export const MSE_HANDSHAKES_PER_SECOND = 50;
/** ... and in a burst. */
export const MSE_HANDSHAKE_BURST = 100;

/** A server's budget of MSE handshakes. */
export function mseBudget(now?: () => number): TokenBucket {
  return new TokenBucket(MSE_HANDSHAKES_PER_SECOND, {
    burst: MSE_HANDSHAKE_BURST,
    ...(now ? { now } : {}),
  });
}

/** How an MSE handshake ended. */
export type MseOutcome =
  /** Plain text from here on; `payload` are the BitTorrent wire's first bytes. */
  | { kind: "plain"; payload: Uint8Array }
  /** The peer broke the rules (say why). */
  | { kind: "refused"; reason: string }
  /** The peer asked only for RC4 throughout, not offered: it retries in plain text. */
  | { kind: "declined" }
  /** The peer closed, or said too little in time. */
  | { kind: "gone" };

/**
 * Answers the MSE handshake that `first` begins, within `timeoutMs`.
 * Never throws for anything the peer does; leaves `conn` open (the caller
 * closes it, or serves it on "plain").
 *
 * @param conn the accepted connection
 * @param first the bytes already read from it
 * @param options the files shared (their infohashes are the keys) and the time
 * @returns how it ended
 */
export async function acceptMse(
  conn: Deno.Conn,
  first: Uint8Array,
  options: { library: Library; timeoutMs: number },
): Promise<MseOutcome> {
  const responder = new MseResponder({
    infoHashes: () =>
      options.library.list().filter((file) => !file.stale).map((file) =>
        file.id.subarray(0, BT_INFOHASH_BYTES)
      ),
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, options.timeoutMs);
  const buffer = new Uint8Array(16 * 1024);
  try {
    let chunk: Uint8Array | null = first;
    while (chunk) {
      const step = responder.push(chunk);
      switch (step.kind) {
        case "fail":
          return { kind: "refused", reason: step.reason };
        case "decline":
          return { kind: "declined" };
        case "send":
          await writeAll(conn, step.bytes);
          break;
        case "done":
          if (step.reply.byteLength > 0) await writeAll(conn, step.reply);
          return { kind: "plain", payload: step.payload };
        case "more":
          break;
      }
      const n = await conn.read(buffer);
      chunk = n === null ? null : buffer.subarray(0, n);
    }
    return { kind: "gone" };
  } catch (error) {
    if (timedOut || isConnectionError(error)) return { kind: "gone" };
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
