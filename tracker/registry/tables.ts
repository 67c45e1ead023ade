/**
 * What the registry's tables share: typed arrays sized to the caps up
 * front, open-addressing index tables, and the meter of work done for
 * requests.
 *
 * @module
 */

/** No slot. */
export const NONE = -1;

/**
 * Slots allocated at once, at most: arrays are sized to the caps up front.
 * Their pages are zero until touched, so a slot costs memory only once
 * used, and no array is ever copied and left behind as garbage.
 */
export const MAX_PREALLOCATED = 1 << 22;

/** Slots to allocate up front for a cap. */
export function capacityFor(limit: number): number {
  return Math.max(1, Math.min(MAX_PREALLOCATED, Math.floor(limit)));
}

/** A copy of `array` with room for `length` items. */
export function grow<T extends Uint8Array | Int32Array | Float64Array>(
  array: T,
  length: number,
): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}

/** The smallest power of two at least `n`. */
export function powerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/**
 * Removes `entry` from an open-addressing table by backward-shift deletion
 * (no tombstones). `home` gives an entry's first probe position.
 */
export function tableDelete(
  table: Int32Array,
  entry: number,
  home: (entry: number) => number,
): void {
  const mask = table.length - 1;
  let i = home(entry);
  while (table[i] !== entry) i = (i + 1) & mask;
  table[i] = 0;
  for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
    const start = home(table[j]!);
    // It stays when its home lies cyclically in (i, j].
    const stays = i <= j ? i < start && start <= j : i < start || start <= j;
    if (stays) continue;
    table[i] = table[j]!;
    table[j] = 0;
    i = j;
  }
}

/**
 * Steps of work done for requests (files scanned, holdings visited), shared
 * by the registry's parts: see `SwarmRegistry.work`.
 */
export class WorkMeter {
  /** Steps so far. */
  steps = 0;
}
