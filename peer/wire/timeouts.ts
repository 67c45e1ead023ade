/**
 * How long the peer server waits on a connection: for its first message
 * (the handshake, of either protocol) and between whole messages. Tests
 * shorten both on a real process through the environment.
 *
 * @module
 */

/** Default time a connection may take to send its handshake. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default time a connection may stay without a whole frame. */
export const IDLE_TIMEOUT_MS = 120_000;

/**
 * A timeout from the environment (`SHOAL_HANDSHAKE_TIMEOUT_MS`,
 * `SHOAL_IDLE_TIMEOUT_MS`), so tests can shorten them on a real process.
 * Read only when the process may read that variable: never a prompt.
 *
 * @param name the variable
 * @returns its value in ms, or undefined when unset, unreadable or invalid
 */
export function timeoutFromEnv(name: string): number | undefined {
  if (
    Deno.permissions.querySync({ name: "env", variable: name }).state !==
      "granted"
  ) {
    return undefined;
  }
  const value = Number(Deno.env.get(name));
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The handshake timeout: the option, else the environment, else the default. */
export function handshakeTimeoutMs(option?: number): number {
  return option ?? timeoutFromEnv("SHOAL_HANDSHAKE_TIMEOUT_MS") ??
    HANDSHAKE_TIMEOUT_MS;
}

/** The idle timeout: the option, else the environment, else the default. */
export function idleTimeoutMs(option?: number): number {
  return option ?? timeoutFromEnv("SHOAL_IDLE_TIMEOUT_MS") ?? IDLE_TIMEOUT_MS;
}
