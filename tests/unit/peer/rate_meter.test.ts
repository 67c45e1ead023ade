import assert from "node:assert/strict";
import fc from "fast-check";
import { RateMeter } from "../../../peer/download/rate_meter.ts";

Deno.test("RateMeter counts the bytes of the window and forgets older ones", () => {
  const meter = new RateMeter(2_000);
  assert.equal(meter.bytes(0), 0);
  assert.ok(Number.isNaN(meter.oldestMs(0)));
  meter.add(100, 1_000);
  meter.add(600, 2_000);
  meter.add(1_500, 4_000);
  assert.equal(meter.bytes(1_500), 7_000);
  assert.equal(meter.samples(1_500), 3);
  assert.equal(meter.oldestMs(1_500), 100);
  // At 2,100 ms the first sample is 2 s old: out.
  assert.equal(meter.bytes(2_100), 6_000);
  assert.equal(meter.oldestMs(2_100), 600);
  assert.equal(meter.bytes(3_600), 0);
  assert.equal(meter.samples(3_600), 0);
});

Deno.test("RateMeter keeps every sample of a fast stream through its growth", () => {
  // 5,000 chunks in one second: the ring grows from 64 past 4,096.
  const meter = new RateMeter(2_000);
  for (let i = 0; i < 5_000; i++) meter.add(i * 0.2, 512 * 1024);
  assert.equal(meter.samples(1_000), 5_000);
  assert.equal(meter.bytes(1_000), 5_000 * 512 * 1024);
  assert.equal(meter.oldestMs(1_000), 0);
});

Deno.test("RateMeter drops the oldest samples beyond its capacity", () => {
  const meter = new RateMeter(10_000, { maxSamples: 100 });
  for (let i = 0; i < 250; i++) meter.add(i, 10);
  assert.equal(meter.samples(250), 100);
  assert.equal(meter.bytes(250), 1_000);
  assert.equal(meter.oldestMs(250), 150);
});

Deno.test("RateMeter agrees with a plain list of samples", () => {
  const windowMs = 500;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          gapMs: fc.integer({ min: 0, max: 300 }),
          bytes: fc.integer({ min: 0, max: 1 << 20 }),
          query: fc.boolean(),
        }),
        { maxLength: 400 },
      ),
      (steps) => {
        const meter = new RateMeter(windowMs);
        const model: { ms: number; bytes: number }[] = [];
        let now = 0;
        for (const step of steps) {
          now += step.gapMs;
          const live = model.filter((s) => now - s.ms < windowMs);
          if (step.query) {
            assert.equal(
              meter.bytes(now),
              live.reduce((sum, s) => sum + s.bytes, 0),
            );
            assert.equal(meter.samples(now), live.length);
            assert.equal(
              meter.oldestMs(now),
              live.length > 0 ? live[0]!.ms : NaN,
            );
          } else {
            meter.add(now, step.bytes);
            model.push({ ms: now, bytes: step.bytes });
          }
        }
      },
    ),
    { seed: 20261124, numRuns: 300 },
  );
});
