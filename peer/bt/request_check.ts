/**
 * Which BitTorrent block requests a seeder serves: pure checks, apart from
 * the connection that applies them.
 *
 * @module
 */
import {
  BT_BLOCK_BYTES,
  type BtBlockRange,
  chunkLength,
  type FolderManifest,
  type Manifest,
} from "@shoal/protocol";

/**
 * Why a block request is outside the file, or null when it is inside: a
 * piece that exists, and bytes inside that piece padded to whole 16 KiB
 * blocks (libtorrent asks for a file's last block in full; the bytes past
 * the end are sent as zeros). The length (1 to 16 KiB) is checked by the
 * decoder.
 *
 * @param manifest the file's manifest
 * @param range the request
 * @returns a reason for the log, or null
 * @example
 * ```ts
 * import { blockRequestProblem } from "./request_check.ts";
 * // blockRequestProblem(manifest, { index: 0, begin: 0, length: 16384 }) === null
 * ```
 */
export function blockRequestProblem(
  manifest: Manifest,
  range: BtBlockRange,
): string | null {
  if (range.index >= manifest.chunkCount) {
    return `asked for piece ${range.index} of a file of ${manifest.chunkCount}`;
  }
  const padded =
    Math.ceil(chunkLength(manifest, range.index) / BT_BLOCK_BYTES) *
    BT_BLOCK_BYTES;
  if (range.begin + range.length > padded) {
    return `asked for bytes ${range.begin} to ${
      range.begin + range.length
    } of piece ${range.index}, which has ${padded}`;
  }
  return null;
}

/** Two requests for the same block. */
export function sameBlock(a: BtBlockRange, b: BtBlockRange): boolean {
  return a.index === b.index && a.begin === b.begin && a.length === b.length;
}

/**
 * As {@linkcode blockRequestProblem}, for a folder: a piece that exists, and
 * bytes inside the piece as BitTorrent lays a v2 folder out. Every file
 * starts on a piece boundary, so BitTorrent clients count the gap after a
 * file's last byte as padding, and every piece but the folder's last is a
 * whole piece long (the bytes past a file's end are sent as zeros).
 *
 * @param manifest the folder's manifest
 * @param range the request
 * @returns a reason for the log, or null
 */
export function folderBlockRequestProblem(
  manifest: Pick<FolderManifest, "chunkCount" | "chunkSize" | "files">,
  range: BtBlockRange,
): string | null {
  if (range.index >= manifest.chunkCount) {
    return `asked for piece ${range.index} of a folder of ${manifest.chunkCount}`;
  }
  let pieceBytes = manifest.chunkSize;
  if (range.index === manifest.chunkCount - 1) {
    const last = manifest.files.findLast((file) => file.chunkCount > 0)!;
    pieceBytes = last.length - (last.chunkCount - 1) * manifest.chunkSize;
  }
  const padded = Math.ceil(pieceBytes / BT_BLOCK_BYTES) * BT_BLOCK_BYTES;
  if (range.begin + range.length > padded) {
    return `asked for bytes ${range.begin} to ${
      range.begin + range.length
    } of piece ${range.index}, which has ${padded}`;
  }
  return null;
}
