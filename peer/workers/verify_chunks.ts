/**
 * Re-checking chunks already on disk against the manifest, for a download
 * that resumes: every fetch worker checks a share of them at once (pool.ts),
 * before any connection is open, so the check takes the cores there are.
 *
 * @module
 */
import { chunkLength, chunkMatches, type Manifest } from "@shoal/protocol";
import type { GcSchedule } from "../gc_schedule.ts";
import { readChunkSync } from "../storage/part_file.ts";

/**
 * Reads each listed chunk of `file` and compares its SHA-256 with the
 * manifest's. A chunk that cannot be read whole (the file is short, a read
 * fails) or does not exist in the manifest counts as bad: it is fetched
 * again, never trusted.
 *
 * @param file the part file, open for reading
 * @param manifest the download's manifest
 * @param indices chunks to check
 * @param buffer reused for each read; chunks larger than it get their own
 * @param gc counts the bytes hashed (each hash object waits for a full collection)
 * @returns the indices that match, and those that do not
 * @example
 * ```ts
 * // using file = await Deno.open(partPath, { read: true });
 * // const { good, bad } = verifyChunks(file, manifest, [0, 1, 2], new Uint8Array(524288), gc);
 * ```
 */
export function verifyChunks(
  file: Deno.FsFile,
  manifest: Manifest,
  indices: readonly number[],
  buffer: Uint8Array,
  gc: GcSchedule,
): { good: number[]; bad: number[] } {
  const good: number[] = [];
  const bad: number[] = [];
  for (const index of indices) {
    if (index >= manifest.chunkCount) {
      bad.push(index);
      continue;
    }
    const length = chunkLength(manifest, index);
    const chunk = length <= buffer.byteLength
      ? buffer.subarray(0, length)
      : new Uint8Array(length);
    if (!readChunkSync(file, index * manifest.chunkSize, chunk)) {
      bad.push(index);
      continue;
    }
    (chunkMatches(manifest, index, chunk) ? good : bad).push(index);
    gc.add(length);
  }
  return { good, bad };
}
