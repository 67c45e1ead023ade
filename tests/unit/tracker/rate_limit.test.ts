import assert from "node:assert/strict";
import { RateLimiter } from "../../../tracker/rate_limit.ts";

Deno.test("RateLimiter.allow() refills tokens over time up to the burst", () => {
  const limiter = new RateLimiter({ ratePerSecond: 10, burst: 2 });
  assert.ok(limiter.allow("a", 0));
  assert.ok(limiter.allow("a", 0));
  assert.ok(!limiter.allow("a", 0));
  assert.ok(limiter.allow("a", 100));
  assert.ok(!limiter.allow("a", 100));
  assert.ok(limiter.allow("a", 10_000));
  assert.ok(limiter.allow("a", 10_000));
  assert.ok(!limiter.allow("a", 10_000));
});

Deno.test("RateLimiter keeps at most maxSources buckets", () => {
  const limiter = new RateLimiter({
    ratePerSecond: 1,
    burst: 1,
    maxSources: 100,
  });
  for (let i = 0; i < 10_000; i++) {
    assert.ok(limiter.allow(`10.0.${i >> 8}.${i & 255}`, 0));
  }
  // The newest source is still limited: its bucket survived eviction.
  assert.ok(!limiter.allow("10.0.39.15", 0));
});

Deno.test("RateLimiter.charge() takes extra tokens, down to minus the burst", () => {
  const limiter = new RateLimiter({ ratePerSecond: 10, burst: 4 });
  assert.ok(limiter.allow("a", 0));
  limiter.charge("a", 100, 0);
  // In debt by the burst: 500 ms of refill before the next datagram.
  assert.ok(!limiter.allow("a", 400));
  assert.ok(limiter.allow("a", 500));
  // Other addresses are not affected.
  assert.ok(limiter.allow("b", 0));
  limiter.charge("b", 0, 0);
  limiter.charge("b", Number.NaN, 0);
  assert.ok(limiter.allow("b", 0));
});
