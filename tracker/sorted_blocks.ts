/**
 * A sorted list kept in blocks of bounded size, so that adding, removing
 * and reading the item at an offset cost O(log n + block size + blocks)
 * instead of a copy or a sort of the whole list. The tracker's LIST pages
 * through it: one page costs what it returns, however many files there are.
 *
 * @module
 */

/** Most items in one block before it splits in two. */
const MAX_BLOCK_ITEMS = 512;

/**
 * Items in the order of `compare`, with no duplicates (items that compare
 * equal are the same item).
 *
 * @example
 * ```ts
 * import { SortedBlocks } from "./sorted_blocks.ts";
 * const list = new SortedBlocks<number>((a, b) => a - b);
 * list.add(3);
 * list.add(1);
 * [...list.from(0)]; // [1, 3]
 * ```
 */
export class SortedBlocks<T> {
  readonly #compare: (a: T, b: T) => number;
  #blocks: T[][] = [];
  #size = 0;

  /** @param compare the order: negative when `a` comes first */
  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  /** How many items the list holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds an item (nothing when an equal one is there already).
   *
   * @param item the item
   */
  add(item: T): void {
    const blocks = this.#blocks;
    if (blocks.length === 0) {
      blocks.push([item]);
      this.#size++;
      return;
    }
    const b = Math.min(this.#blockFor(item), blocks.length - 1);
    const block = blocks[b]!;
    const at = this.#indexIn(block, item);
    if (at < block.length && this.#compare(block[at]!, item) === 0) return;
    block.splice(at, 0, item);
    this.#size++;
    if (block.length > MAX_BLOCK_ITEMS) {
      blocks.splice(b + 1, 0, block.splice(block.length >> 1));
    }
  }

  /**
   * Removes the item equal to `item`; it must compare as it did when added.
   *
   * @param item the item
   * @returns true when it was there
   */
  delete(item: T): boolean {
    const blocks = this.#blocks;
    const b = this.#blockFor(item);
    if (b >= blocks.length) return false;
    const block = blocks[b]!;
    const at = this.#indexIn(block, item);
    if (at >= block.length || this.#compare(block[at]!, item) !== 0) {
      return false;
    }
    block.splice(at, 1);
    this.#size--;
    if (block.length === 0) blocks.splice(b, 1);
    return true;
  }

  /**
   * The items from `offset` on, in order. Finding the start costs one step
   * per block; each item after it costs one step.
   *
   * @param offset how many items to skip
   */
  *from(offset: number): Generator<T> {
    let skip = Math.max(0, offset);
    for (const block of this.#blocks) {
      if (skip >= block.length) {
        skip -= block.length;
        continue;
      }
      for (let i = skip; i < block.length; i++) yield block[i]!;
      skip = 0;
    }
  }

  /** The first block whose last item is not before `item`, or the count of blocks. */
  #blockFor(item: T): number {
    const blocks = this.#blocks;
    let low = 0;
    let high = blocks.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const block = blocks[mid]!;
      if (this.#compare(block[block.length - 1]!, item) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The first index in `block` whose item is not before `item`. */
  #indexIn(block: T[], item: T): number {
    let low = 0;
    let high = block.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.#compare(block[mid]!, item) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
