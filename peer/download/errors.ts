/**
 * How a download fails, and where it finds peers: shared by the download
 * and the steps it is made of.
 *
 * @module
 */
import type { FileQuery, FileSummary, ListedPeer } from "@shoal/protocol";
import type { RequestResult } from "../tracker_client.ts";

/** What the tracker said about a query (the tracker client's answer). */
export type PeerLookup = RequestResult;

/** Options of {@linkcode PeerFinder.request}. */
export interface PeerRequestOptions {
  /**
   * Peers found after the answer (a slower tracker, the DHT): candidates
   * to add, each checked and de-duplicated by the finder.
   */
  onPeers?: (peers: ListedPeer[]) => void;
  /** Our own TCP port, so that the DHT does not hand us ourselves. */
  selfPort?: number;
}

/**
 * Where a download finds peers: a tracker client, several trackers and the
 * DHT together (peer/discovery/multi_finder.ts), or a fake in tests.
 */
export interface PeerFinder {
  /** Asks who holds a file. */
  request(
    query: FileQuery,
    wanted?: number,
    options?: PeerRequestOptions,
  ): Promise<PeerLookup>;
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
  /** The link names a folder whose manifest cannot be fetched that way yet. */
  | "folder"
  /** `--only` matches no file of the folder, or the download is no folder. */
  | "no_match"
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
