import assert from "node:assert/strict";
import { WakeableSleep } from "../../../peer/wakeable_sleep.ts";

Deno.test("WakeableSleep: wake() ends a long sleep at once, and a later sleep waits again", async () => {
  const nap = new WakeableSleep();
  let ended = false;
  const slept = nap.sleep(60_000).then(() => ended = true);
  await Promise.resolve();
  assert.equal(ended, false);
  nap.wake();
  await slept;
  assert.equal(ended, true);
  // Not stopped: the next sleep waits until woken (no timer left behind).
  let second = false;
  const again = nap.sleep(60_000).then(() => second = true);
  await Promise.resolve();
  assert.equal(second, false);
  nap.wake();
  await again;
});

Deno.test("WakeableSleep: stop() ends the current sleep and every later one at once", async () => {
  const nap = new WakeableSleep();
  const slept = nap.sleep(60_000);
  nap.stop();
  await slept;
  // A sleep started after stop (a reply that was on its way) must not wait.
  await nap.sleep(60_000);
});
