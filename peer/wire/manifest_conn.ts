/**
 * The connection a manifest is asked on, in either wire protocol: opened
 * within a time limit, and cut off when the peer says nothing, trickles, or
 * takes too long in all, so that one slow peer never holds up the race
 * (other peers are being asked meanwhile).
 *
 * @module
 */

/** Time limits of a manifest connection; each has a default. */
export interface ManifestConnLimits {
  /** The connection must be made within this long. @default {3_000} */
  connectTimeoutMs?: number;
  /** The peer's first bytes, or the answer once asked, within this long. @default {3_000} */
  answerTimeoutMs?: number;
  /** After that, no gap between bytes may be longer. @default {5_000} */
  idleTimeoutMs?: number;
  /** Give up after this long in all. @default {30_000} */
  timeoutMs?: number;
  /** Cancels the request (another peer answered first). */
  signal?: AbortSignal;
}

/** An open manifest connection and its timers. */
export interface ManifestConn {
  /** The socket. */
  readonly conn: Deno.TcpConn;
  /** Why the connection was cut off ("cancelled" for the signal), or null. */
  readonly stopped: string | null;
  /** Bytes came: the next ones must come within the idle limit. */
  heard(): void;
  /** We wait for our turn to ask: that is not the peer's silence. */
  waiting(): void;
  /** We asked for `what`: the answer must come within the answer limit. */
  asked(what: string): void;
  /** Stops the timers and closes the socket (idempotent). */
  close(): void;
}

/**
 * Connects to `peer` and starts the timers: the first bytes must come within
 * the answer limit, the whole exchange within the total one.
 *
 * @param peer where it listens
 * @param limits time limits and a signal
 * @returns the connection
 * @throws {Error} "no connection within N s", or the connect error
 */
export async function openManifestConn(
  peer: { host: string; port: number },
  limits: ManifestConnLimits,
): Promise<ManifestConn> {
  const connectMs = limits.connectTimeoutMs ?? 3_000;
  const answerMs = limits.answerTimeoutMs ?? 3_000;
  const idleMs = limits.idleTimeoutMs ?? 5_000;
  const totalMs = limits.timeoutMs ?? 30_000;
  const signal = limits.signal;
  signal?.throwIfAborted();
  const connectSignal = AbortSignal.any([
    AbortSignal.timeout(connectMs),
    ...(signal ? [signal] : []),
  ]);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: peer.host,
      port: peer.port,
      signal: connectSignal,
    });
  } catch (error) {
    if (connectSignal.aborted && !signal?.aborted) {
      throw new Error(`no connection within ${connectMs / 1000} s`);
    }
    throw error;
  }
  let stopped: string | null = null;
  const closeConn = () => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  const stop = (reason: string) => {
    if (stopped !== null) return;
    stopped = reason;
    closeConn();
  };
  let idleTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(
    () => stop(`no answer within ${answerMs / 1000} s`),
    answerMs,
  );
  const totalTimer = setTimeout(
    () => stop(`no manifest within ${totalMs / 1000} s`),
    totalMs,
  );
  const onAbort = () => stop("cancelled");
  signal?.addEventListener("abort", onAbort, { once: true });
  return {
    conn,
    get stopped() {
      return stopped;
    },
    heard() {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => stop(`no data for ${idleMs / 1000} s`),
        idleMs,
      );
    },
    waiting() {
      clearTimeout(idleTimer);
      idleTimer = undefined;
    },
    asked(what) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => stop(`no ${what} within ${answerMs / 1000} s of asking`),
        answerMs,
      );
    },
    close() {
      clearTimeout(idleTimer);
      clearTimeout(totalTimer);
      signal?.removeEventListener("abort", onAbort);
      closeConn();
    },
  };
}
