/**
 * How a download fails, and where it finds peers: shared by the download
 * and the steps it is made of.
 *
 * @module
 */
import type { FileQuery, FileSummary } from "@shoal/protocol";
import type { RequestResult } from "../tracker_client.ts";

/** What the tracker said about a query (the tracker client's answer). */
export type PeerLookup = RequestResult;

/** Where a download finds peers: the tracker client, or a fake in tests. */
export interface PeerFinder {
  /** Asks who holds a file. */
  request(query: FileQuery, wanted?: number): Promise<PeerLookup>;
}

/** Why a download stopped. */
export type DownloadErrorCode =
  | "unknown_file"
  | "ambiguous"
  | "no_peers"
  | "unsafe_name"
  | "exists"
  | "disk"
  | "corrupt"
  | "aborted";

/**
 * The message of an error, or the value as text.
 *
 * @param error anything thrown
 * @returns one line's worth of text
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A download that cannot finish; the message is one line for the user. */
export class DownloadError extends Error {
  /** Why. */
  readonly code: DownloadErrorCode;
  /** For "ambiguous": the files that share the name. */
  readonly candidates: FileSummary[];

  /**
   * @param code why
   * @param message one line for the user
   * @param options candidates and cause
   */
  constructor(
    code: DownloadErrorCode,
    message: string,
    options: { candidates?: FileSummary[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "DownloadError";
    this.code = code;
    this.candidates = options.candidates ?? [];
  }
}
