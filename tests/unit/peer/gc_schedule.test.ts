import assert from "node:assert/strict";
import { GcSchedule } from "../../../peer/gc_schedule.ts";

Deno.test("GcSchedule collects once per period of bytes, restarting the count each time", () => {
  let collections = 0;
  const schedule = new GcSchedule(1_000, () => collections++);
  for (let i = 0; i < 9; i++) schedule.add(100);
  assert.equal(collections, 0);
  schedule.add(100);
  assert.equal(collections, 1);
  // A large step collects once, not once per period it spans.
  schedule.add(5_000);
  assert.equal(collections, 2);
  for (let i = 0; i < 10; i++) schedule.add(100);
  assert.equal(collections, 3);
  // now() collects at once and starts a new period.
  schedule.add(900);
  schedule.now();
  assert.equal(collections, 4);
  schedule.add(900);
  assert.equal(collections, 4);
  schedule.add(100);
  assert.equal(collections, 5);
});

Deno.test("GcSchedule.count says a collection is due and leaves running it to the caller", () => {
  let collections = 0;
  const schedule = new GcSchedule(1_000, () => collections++);
  assert.equal(schedule.count(600), false);
  assert.equal(schedule.count(600), true);
  // Due until run, however much more is counted meanwhile.
  assert.equal(schedule.count(5_000), true);
  assert.equal(collections, 0);
  schedule.now();
  assert.equal(collections, 1);
  assert.equal(schedule.count(999), false);
  assert.equal(schedule.count(1), true);
});

Deno.test("GcSchedule does nothing without a collector, and says so", () => {
  const schedule = new GcSchedule(10, null);
  assert.equal(schedule.active, false);
  schedule.add(1_000);
  assert.equal(new GcSchedule(10, () => {}).active, true);
});

Deno.test("GcSchedule rejects a period that is not positive", () => {
  assert.throws(() => new GcSchedule(0, () => {}), RangeError);
  assert.throws(() => new GcSchedule(Number.NaN, () => {}), RangeError);
});

Deno.test("GcSchedule's default collector frees old objects in a plain deno run", async () => {
  // No V8 flags: the way `deno run peer/main.ts` starts. Only a full
  // collection frees node:crypto's hash objects, and likewise an object that
  // young-generation collections have moved to the old generation: so the
  // witness is such an object, still there after it became unreachable and
  // gone after one scheduled collection.
  const url = new URL("../../../peer/gc_schedule.ts", import.meta.url).href;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const { GcSchedule } = await import(${JSON.stringify(url)});
       const schedule = new GcSchedule(1);
       const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
       async function churn() {
         let sink = 0;
         for (let round = 0; round < 4; round++) {
           await turn();
           for (let i = 0; i < 200000; i++) sink += [i, i + 1].length;
         }
         return sink;
       }
       let target = { payload: new Uint8Array(1024) };
       const ref = new WeakRef(target);
       await churn();
       target = null;
       await churn();
       await turn();
       const survivedYoungCollections = ref.deref() !== undefined;
       await turn();
       schedule.add(1);
       console.log(schedule.active, survivedYoungCollections, ref.deref() === undefined, typeof globalThis.gc);`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  // Active, collected, and no global gc left behind for other code.
  assert.equal(
    new TextDecoder().decode(output.stdout).trim(),
    "true true true undefined",
  );
});
