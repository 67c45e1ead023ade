/**
 * The timeouts every connection of a fetch worker keeps, whichever protocol
 * it speaks (fetch_worker.ts for Shoal, bt_link.ts for BitTorrent).
 *
 * @module
 */

/** Short: a peer that cannot be reached in seconds gives its place to another (issue 21). */
export const CONNECT_TIMEOUT_MS = 3_000;
/** An honest peer answers the handshake at once; a listener that never does is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** A connection with requests out and no byte for this long is dropped. */
export const READ_TIMEOUT_MS = 20_000;
/**
 * A BitTorrent peer with requests out and no block for this long is dropped
 * (issue 21): a block is 16 KiB, so even a peer sending 4 KB/s beats it,
 * while one that unchokes and never sends (or sends only keep-alives) would
 * otherwise hold its chunks for the stall timeout, past the endgame.
 */
export const BLOCK_STALL_MS = 5_000;

/**
 * Checked chunks are reported to the main thread this many at a time, or
 * sooner when few chunks are left in flight or after OK_FLUSH_MS. Why: every
 * message costs the main thread a MessageEvent and its promises; one per
 * chunk was most of its garbage (sampling heap profiler), and the main
 * thread refills a pipeline only once half of it has drained anyway.
 */
export const OK_BATCH = 4;
/** Report at once when this few chunks remain unanswered, so the pipe never runs dry. */
export const OK_FLUSH_PENDING = 2;
/** Report at most this long after a chunk was written. */
export const OK_FLUSH_MS = 2;

/**
 * Resolves with what `promise` gives within `ms`, or rejects; a connection
 * that completes after the timeout is closed.
 *
 * @param promise a connection under way
 * @param ms the time it has
 * @param what what is awaited, for the message
 * @returns the connection
 */
export async function withTimeout<T extends { close(): void }>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  // A connection that completes after the timeout must still be closed.
  promise.then((value) => timedOut && value.close(), () => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's message, for one line. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What {@linkcode openConnection} needs of the link it connects for. */
export interface Closable {
  /** True once closed. */
  readonly closed: boolean;
  /** Closes it and tells the main thread why. */
  close(reason: string, code: "unreachable"): void;
}

/**
 * Connects a link to its peer within {@linkcode CONNECT_TIMEOUT_MS}, with
 * Nagle off (requests are small and go out at once).
 *
 * @param link closed with "unreachable" when the peer cannot be reached
 * @param hostname the peer's address
 * @param port its TCP port
 * @returns the connection, or null when it failed or the link was closed meanwhile
 */
export async function openConnection(
  link: Closable,
  hostname: string,
  port: number,
): Promise<Deno.TcpConn | null> {
  let conn: Deno.TcpConn;
  try {
    conn = await withTimeout(
      Deno.connect({ hostname, port }),
      CONNECT_TIMEOUT_MS,
      "connect",
    );
  } catch (error) {
    link.close(`cannot connect: ${errorText(error)}`, "unreachable");
    return null;
  }
  if (link.closed) {
    conn.close();
    return null;
  }
  conn.setNoDelay(true);
  return conn;
}
