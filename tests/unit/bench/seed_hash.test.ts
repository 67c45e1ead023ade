/**
 * The seed-hash bench's reading of a seeder's `hashing` events: when the
 * hashing began, at the rate between the first and last event.
 */
import assert from "node:assert/strict";
import { hashingSpan } from "../../../bench/seed_hash.ts";

const MiB = 1024 * 1024;

Deno.test("hashingSpan extrapolates the start of hashing from the events' rate", () => {
  // 64 MiB per 100 ms from 300 ms on: hashing began at 200 ms.
  const events = [1, 2, 3, 4].map((k) => ({
    bytes: k * 64 * MiB,
    atMs: 200 + k * 100,
  }));
  const span = hashingSpan(events, 650);
  assert.ok(span);
  assert.equal(span.startup.toFixed(3), "0.200");
  assert.equal(span.hashing.toFixed(3), "0.450");
});

Deno.test("hashingSpan is null with fewer than two events or no progress between them", () => {
  assert.equal(hashingSpan([], 100), null);
  assert.equal(hashingSpan([{ bytes: 64 * MiB, atMs: 50 }], 100), null);
  assert.equal(
    hashingSpan([{ bytes: 64, atMs: 50 }, { bytes: 64, atMs: 60 }], 100),
    null,
  );
});
