import assert from "node:assert/strict";
import { TokenBucket } from "../../../peer/swarm/token_bucket.ts";

Deno.test("TokenBucket allows a burst, then the rate", () => {
  let now = 0;
  const bucket = new TokenBucket(1000, { burst: 2000, now: () => now });
  assert.ok(bucket.tryTake(1500));
  assert.ok(!bucket.tryTake(1000));
  assert.equal(bucket.waitMs(1000), 500);
  now += 500;
  assert.ok(bucket.tryTake(1000));
  now += 10_000;
  // Refill stops at the burst.
  assert.ok(bucket.tryTake(2000));
  assert.ok(!bucket.tryTake(1));
});

Deno.test("TokenBucket refuses a rate that is not positive", () => {
  assert.throws(() => new TokenBucket(0), RangeError);
});
