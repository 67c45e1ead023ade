import assert from "node:assert/strict";
import { SortedBlocks } from "../../../tracker/sorted_blocks.ts";

Deno.test("SortedBlocks matches a sorted array through random adds and deletes", () => {
  const list = new SortedBlocks<number>((a, b) => a - b);
  const model = new Set<number>();
  let seed = 11;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  for (let step = 0; step < 20_000; step++) {
    const value = Math.floor(random() * 3_000);
    if (random() < 0.6) {
      list.add(value);
      model.add(value);
    } else {
      assert.equal(list.delete(value), model.delete(value));
    }
    if (step % 1_000 === 0 || step === 19_999) {
      const sorted = [...model].sort((a, b) => a - b);
      assert.equal(list.size, sorted.length);
      assert.deepEqual([...list.from(0)], sorted);
      const offset = Math.floor(random() * (sorted.length + 5));
      assert.deepEqual(
        [...list.from(offset)].slice(0, 10),
        sorted.slice(offset, offset + 10),
      );
    }
  }
});
