/**
 * A folder's pieces, each in the file that holds it. In BEP 52 every file
 * starts on a piece of its own, so the folder's piece `i` is piece
 * `i - firstChunk` of one file, at byte `(i - firstChunk) * chunkSize` of
 * it, and is checked against that file's piece layer as a single file's
 * piece is (its hash pads to that file's leaf count).
 *
 * @module
 */
import { HASH_BYTES } from "./constants.ts";
import type { FolderManifest } from "./folder_manifest.ts";
import { bytesEqual } from "./hex.ts";
import { pieceLeafCount, pieceRoot } from "./merkle.ts";

/**
 * Which file holds piece `index` of a folder (empty files hold none).
 *
 * @param folder the folder manifest
 * @param index a piece of the folder
 * @returns the file's position in `folder.files`, or -1 when out of range
 * @example
 * ```ts
 * import { folderFileAt } from "@shoal/protocol";
 * // folderFileAt(folder, 0) === 0 when the first file is not empty
 * ```
 */
export function folderFileAt(folder: FolderManifest, index: number): number {
  const files = folder.files;
  let low = 0;
  let high = files.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const file = files[mid]!;
    if (index < file.firstChunk) high = mid - 1;
    else if (index >= file.firstChunk + file.chunkCount) low = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Length of piece `index` of a folder: a file's last piece may be short.
 *
 * @param folder the folder manifest
 * @param index a piece of the folder
 * @returns its bytes
 * @throws {RangeError} when there is no such piece
 */
export function folderChunkLength(
  folder: FolderManifest,
  index: number,
): number {
  const at = folderFileAt(folder, index);
  if (at < 0) {
    throw new RangeError(
      `Cannot size piece ${index}: the folder has ${folder.chunkCount} pieces`,
    );
  }
  const file = folder.files[at]!;
  const local = index - file.firstChunk;
  return Math.min(folder.chunkSize, file.length - local * folder.chunkSize);
}

/**
 * Whether `bytes` are piece `index` of a folder: the right length, and the
 * hash its file's piece layer lists.
 *
 * @param folder the folder manifest
 * @param index a piece of the folder
 * @param bytes the bytes to check
 * @returns true when they match
 * @example
 * ```ts
 * import { folderChunkMatches } from "@shoal/protocol";
 * // if (!folderChunkMatches(folder, index, bytes)) dropThePeer();
 * ```
 */
export function folderChunkMatches(
  folder: FolderManifest,
  index: number,
  bytes: Uint8Array,
): boolean {
  const at = folderFileAt(folder, index);
  if (at < 0) return false;
  const file = folder.files[at]!;
  const local = index - file.firstChunk;
  const length = Math.min(
    folder.chunkSize,
    file.length - local * folder.chunkSize,
  );
  if (bytes.byteLength !== length) return false;
  const digest = pieceRoot(
    bytes,
    pieceLeafCount(file.length, folder.chunkSize),
  );
  return bytesEqual(
    digest,
    file.chunkHashes.subarray(local * HASH_BYTES, (local + 1) * HASH_BYTES),
  );
}
