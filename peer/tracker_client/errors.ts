/**
 * Why a tracker call failed, as one error class with a code, and the error
 * for a reply the caller cannot act on.
 *
 * @module
 */
import { ErrorCode, type Message } from "@shoal/protocol";

/** Why a tracker call failed. */
export type TrackerErrorCode =
  | "unreachable"
  | "rejected"
  | "bad_reply"
  | "closed"
  | "aborted"
  | "resolve";

/**
 * A tracker call that failed: no answer, an ERROR the caller cannot act on,
 * a reply of the wrong kind, or a closed client. The message is one line
 * that says what to do.
 *
 * @example
 * ```ts
 * import { TrackerError } from "./errors.ts";
 * const error = new TrackerError("closed", "Cannot keep alive: client is closed");
 * error.code; // "closed"
 * ```
 */
export class TrackerError extends Error {
  /** Why the call failed. */
  readonly code: TrackerErrorCode;
  /** The tracker's {@linkcode ErrorCode} when it answered ERROR. */
  readonly errorCode: number | undefined;

  /**
   * @param code why the call failed
   * @param message one line for the user
   * @param options the tracker's error code and the cause
   */
  constructor(
    code: TrackerErrorCode,
    message: string,
    options: { errorCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "TrackerError";
    this.code = code;
    this.errorCode = options.errorCode;
  }
}

/**
 * The error for a reply that does not answer the call: an ERROR ("rejected",
 * naming the tracker's code) or a reply of another kind ("bad_reply").
 *
 * @param what the call, as in "Cannot {what} at tracker ..."
 * @param tracker the tracker as "host:port"
 * @param reply what the tracker answered
 * @returns the error to throw
 */
export function unexpectedReply(
  what: string,
  tracker: string,
  reply: Message,
): TrackerError {
  if (reply.kind === "error") {
    const name = Object.entries(ErrorCode).find(([, code]) =>
      code === reply.code
    )?.[0] ?? `code ${reply.code}`;
    return new TrackerError(
      "rejected",
      `Cannot ${what} at tracker ${tracker}: tracker answered ${name} "${reply.text}"`,
      { errorCode: reply.code },
    );
  }
  return new TrackerError(
    "bad_reply",
    `Cannot ${what} at tracker ${tracker}: tracker answered ${reply.kind}; is it a Shoal tracker of the same version?`,
  );
}
