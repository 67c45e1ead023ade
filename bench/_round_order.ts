/**
 * The order in which the programs of a benchmark sitting take their turns,
 * round by round.
 *
 * Why not a plain rotation: rotating by one each round gives every program
 * every place, but always the same program just before it. What one run
 * leaves behind (its file being freed, its writes flushed, the kernel
 * handing memory back to the host) then always falls on the same next
 * program, and their comparison carries that bias in every round. Here the
 * odd rounds run the order backwards, so a program follows one neighbour in
 * some rounds and the other in the rest, and the rotation advances every
 * second round, so each program still takes each place over 2n rounds.
 *
 * @module
 */

/**
 * The order of `items` in round `round` (from 0): rounds 2k and 2k + 1 take
 * the rotation by k, forwards and then backwards.
 *
 * @param items the programs, in their usual order
 * @param round the round, from 0
 * @returns a new array: `items` in this round's order
 * @example
 * ```ts
 * import { roundOrder } from "./_round_order.ts";
 * roundOrder(["a", "b", "c"], 0); // ["a", "b", "c"]
 * roundOrder(["a", "b", "c"], 1); // ["c", "b", "a"]
 * roundOrder(["a", "b", "c"], 2); // ["b", "c", "a"]
 * ```
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  const shift = Math.floor(round / 2);
  const rotated = items.map((_, i) => items[(i + shift) % n]!);
  return round % 2 === 1 ? rotated.reverse() : rotated;
}
