/**
 * Re-checking chunks already on disk against the manifest, for a download
 * that resumes: every fetch worker checks a share of them at once (pool.ts),
 * before any connection is open, so the check takes the cores there are.
 *
 * @module
 */
import type { GcSchedule } from "../gc_schedule.ts";
import { readChunkSync } from "../storage/part_file.ts";
import type { ChunkFiles } from "../storage/chunk_files.ts";
import type { Pieces } from "./pieces.ts";

/**
 * Reads each listed chunk from the part files and compares its hash with
 * the piece layer's. A chunk that cannot be read whole (a file is short or
 * missing, a read fails) or does not exist counts as bad: it is fetched
 * again, never trusted.
 *
 * @param files the part file(s), open for reading
 * @param pieces the download's chunks
 * @param indices chunks to check
 * @param buffer reused for each read; chunks larger than it get their own
 * @param gc counts the bytes hashed (each hash object waits for a full collection)
 * @returns the indices that match, and those that do not
 * @example
 * ```ts
 * // const files = await openChunkFiles(partPath, pieces.chunkSize, null, "read");
 * // const { good, bad } = verifyChunks(files, pieces, [0, 1, 2], new Uint8Array(524288), gc);
 * ```
 */
export function verifyChunks(
  files: ChunkFiles,
  pieces: Pieces,
  indices: readonly number[],
  buffer: Uint8Array,
  gc: GcSchedule,
): { good: number[]; bad: number[] } {
  const good: number[] = [];
  const bad: number[] = [];
  for (const index of indices) {
    if (index < 0 || index >= pieces.chunkCount) {
      bad.push(index);
      continue;
    }
    const length = pieces.lengthOf(index);
    const chunk = length <= buffer.byteLength
      ? buffer.subarray(0, length)
      : new Uint8Array(length);
    let place: { file: Deno.FsFile; offset: number };
    try {
      place = files.locate(index);
    } catch {
      // A folder's file is gone or unreadable.
      bad.push(index);
      continue;
    }
    if (!readChunkSync(place.file, place.offset, chunk)) {
      bad.push(index);
      continue;
    }
    (pieces.matches(index, chunk) ? good : bad).push(index);
    gc.add(length);
  }
  return { good, bad };
}
