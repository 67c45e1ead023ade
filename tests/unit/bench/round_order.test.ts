import assert from "node:assert/strict";
import { roundOrder } from "../../../bench/_round_order.ts";
import { TOOLS } from "../../../bench/swarm.ts";

Deno.test("roundOrder gives every round all the programs, once each", () => {
  for (let round = 0; round < 12; round++) {
    const order = roundOrder(TOOLS, round);
    assert.equal(order.length, TOOLS.length);
    assert.deepEqual([...order].sort(), [...TOOLS].sort());
  }
  assert.deepEqual(roundOrder(TOOLS, 0), [...TOOLS]);
});

Deno.test("roundOrder does not always put the same program before another", () => {
  // What a run leaves behind falls on the next program: with a plain
  // rotation, shoal always came right after floor-synced.
  const before = new Map<string, Set<string>>();
  for (let round = 0; round < 5; round++) {
    const order = roundOrder(TOOLS, round);
    for (let i = 1; i < order.length; i++) {
      const seen = before.get(order[i]!) ?? new Set<string>();
      seen.add(order[i - 1]!);
      before.set(order[i]!, seen);
    }
  }
  for (const tool of TOOLS) {
    assert.ok(
      (before.get(tool)?.size ?? 0) >= 2,
      `${tool} followed only ${[...(before.get(tool) ?? [])]}`,
    );
  }
  assert.deepEqual(before.get("shoal"), new Set(["floor-synced", "shoal-run"]));
});

Deno.test("roundOrder puts each program in each place over twice as many rounds as programs", () => {
  for (const count of [2, 3, 6]) {
    const items = TOOLS.slice(0, count);
    const places = new Map(items.map((item) => [item, new Set<number>()]));
    for (let round = 0; round < 2 * count; round++) {
      roundOrder(items, round).forEach((item, place) =>
        places.get(item)!.add(place)
      );
    }
    for (const [item, seen] of places) {
      assert.equal(seen.size, count, `${item} took places ${[...seen]}`);
    }
  }
});

Deno.test("roundOrder runs two programs AB, BA, BA, AB: each goes first, and each follows the other, as often", () => {
  const firsts = [0, 1, 2, 3].map((round) => roundOrder(["a", "b"], round)[0]);
  assert.deepEqual(firsts, ["a", "b", "b", "a"]);
});
