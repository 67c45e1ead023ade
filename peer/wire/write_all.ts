/**
 * Writing a whole buffer to a connection: a socket write may take only part.
 *
 * @module
 */

/**
 * Writes all of `bytes` (a write may take only part).
 *
 * @param conn the connection
 * @param bytes what to send
 * @example
 * ```ts
 * // await writeAll(conn, encodeBtMessage({ kind: "keepalive" }));
 * ```
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await conn.write(bytes.subarray(written));
  }
}
