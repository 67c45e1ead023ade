/**
 * Errors that mean the remote peer went away: they cost that connection,
 * never the process.
 *
 * @module
 */

/**
 * Whether `error` is a socket error caused by the peer (reset, closed,
 * broken pipe) rather than a bug.
 *
 * @param error anything caught
 * @returns true for connection errors
 */
export function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected;
}
