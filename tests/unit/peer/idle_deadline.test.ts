import assert from "node:assert/strict";
import { IdleDeadline } from "../../../peer/wire/idle_deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or 5 s (a loaded machine fires timers late). */
async function eventually(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5_000; waited += 10) await sleep(10);
}

Deno.test("IdleDeadline fires once after the first deadline when nothing extends it", async () => {
  let fired = 0;
  const idle = new IdleDeadline(30, () => fired++);
  await eventually(() => fired > 0);
  assert.equal(fired, 1);
  idle.extend(10);
  await sleep(60);
  assert.equal(fired, 1, "a fired deadline cannot be revived");
});

Deno.test("IdleDeadline: each extend moves the deadline; it fires only after a quiet stretch", async () => {
  let fired = 0;
  const started = performance.now();
  const idle = new IdleDeadline(1_000, () => fired++);
  // Activity every 50 ms for 1.5 s: always well within 1 s of the last one.
  for (let i = 0; i < 30; i++) {
    await sleep(50);
    idle.extend(1_000);
  }
  const lastActivity = performance.now();
  assert.equal(fired, 0, "fired while the peer was busy");
  assert.ok(
    lastActivity - started > 1_000,
    "the busy stretch outlasted one deadline",
  );
  await eventually(() => fired > 0);
  assert.equal(fired, 1);
  assert.ok(performance.now() - lastActivity >= 1_000);
});

Deno.test("IdleDeadline: a sooner deadline is kept, and clear() stops it", async () => {
  let fired = 0;
  const started = performance.now();
  const soon = new IdleDeadline(10_000, () => fired++);
  soon.extend(20);
  await eventually(() => fired > 0);
  assert.equal(fired, 1);
  assert.ok(
    performance.now() - started < 5_000,
    "waited for the first deadline",
  );
  const stopped = new IdleDeadline(20, () => fired++);
  stopped.clear();
  await sleep(80);
  assert.equal(fired, 1);
});
