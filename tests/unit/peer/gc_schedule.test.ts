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
});

Deno.test("GcSchedule does nothing without a collector, and says so", () => {
  const schedule = new GcSchedule(10, undefined);
  assert.equal(schedule.active, false);
  schedule.add(1_000);
  assert.equal(new GcSchedule(10, () => {}).active, true);
});

Deno.test("GcSchedule rejects a period that is not positive", () => {
  assert.throws(() => new GcSchedule(0, () => {}), RangeError);
  assert.throws(() => new GcSchedule(Number.NaN, () => {}), RangeError);
});

Deno.test("GcSchedule finds V8's collector in a peer started with PEER_V8_FLAGS", async () => {
  const { PEER_V8_FLAGS } = await import("../../../peer/launch.ts");
  const url = new URL("../../../peer/gc_schedule.ts", import.meta.url).href;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      PEER_V8_FLAGS,
      `const { GcSchedule } = await import(${JSON.stringify(url)});
       const schedule = new GcSchedule(1);
       schedule.add(1);
       console.log(schedule.active);`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "true");
});
