/**
 * Statistics over the registry's files: the most-held files, without
 * sorting them all.
 *
 * @module
 */
import type { FileEntry } from "./claims.ts";
import type { FileCounts } from "./types.ts";

/**
 * The files with the most peers, most first (ties by id), in O(limit)
 * memory.
 *
 * @param files every file
 * @param options how many at most, and the order of ids
 * @returns their counts
 */
export function topFiles(
  files: Iterable<FileEntry>,
  options: {
    limit: number;
    compareIds: (a: FileEntry, b: FileEntry) => number;
  },
): FileCounts[] {
  const { limit, compareIds } = options;
  const top: FileEntry[] = [];
  const before = (a: FileEntry, b: FileEntry) =>
    a.holderCount > b.holderCount ||
    (a.holderCount === b.holderCount && compareIds(a, b) < 0);
  if (limit <= 0) return [];
  for (const file of files) {
    if (top.length === limit && !before(file, top[limit - 1]!)) continue;
    let low = 0;
    let high = top.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (before(top[mid]!, file)) low = mid + 1;
      else high = mid;
    }
    top.splice(low, 0, file);
    if (top.length > limit) top.pop();
  }
  return top.map((file) => ({
    id: file.idHex,
    name: file.name,
    size: file.size,
    peers: file.holderCount,
    seeders: file.seeders,
    leechers: file.holderCount - file.seeders,
  }));
}
