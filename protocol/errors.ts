/**
 * The one error type every decoder in `protocol/` throws.
 *
 * @module
 */

/** Machine-readable reason a byte sequence was rejected. */
export type ProtocolErrorCode =
  | "too_short"
  | "too_long"
  | "bad_magic"
  | "bad_version"
  | "bad_type"
  | "bad_length"
  | "bad_value"
  | "bad_string"
  | "trailing_bytes"
  | "not_canonical"
  | "bad_manifest"
  /** A valid torrent of a folder, where one file was expected. */
  | "folder";

/**
 * Thrown when untrusted bytes do not form a valid Shoal message or manifest.
 *
 * Decoders throw nothing else, so a caller can drop the packet or the
 * connection on `ProtocolError` and treat any other error as a bug.
 *
 * @example
 * ```ts
 * import { parseMessage, ProtocolError } from "@shoal/protocol";
 * try {
 *   parseMessage(new Uint8Array([1, 2, 3]));
 * } catch (error) {
 *   if (!(error instanceof ProtocolError)) throw error;
 * }
 * ```
 */
export class ProtocolError extends Error {
  /** Why the bytes were rejected. */
  readonly code: ProtocolErrorCode;
  /** Byte offset where the problem was found. */
  readonly offset: number;

  /**
   * @param code why the bytes were rejected
   * @param message one sentence for a log line
   * @param offset byte offset of the problem
   */
  constructor(code: ProtocolErrorCode, message: string, offset = 0) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.offset = offset;
  }
}
