import assert from "node:assert/strict";
import { SendBuffers } from "../../../peer/wire/send_buffers.ts";

Deno.test("SendBuffers hands the same buffer back out once it is given back", () => {
  const buffers = new SendBuffers(2);
  const first = buffers.take(1000);
  assert.ok(first.byteLength >= 1000);
  buffers.give(first);
  assert.equal(buffers.kept, 1);
  assert.equal(buffers.take(1000), first);
  assert.equal(buffers.kept, 0);
});

Deno.test("SendBuffers makes a new buffer when none kept is free or large enough", () => {
  const buffers = new SendBuffers(4);
  const a = buffers.take(100);
  const b = buffers.take(100);
  assert.notEqual(a, b);
  buffers.give(a);
  // Too small for this frame: a new one, and the small one stays kept.
  const big = buffers.take(200);
  assert.notEqual(big, a);
  assert.ok(big.byteLength >= 200);
  assert.equal(buffers.kept, 1);
});

Deno.test("SendBuffers keeps no more than it was told, however many were out", () => {
  const buffers = new SendBuffers(3);
  const out = Array.from({ length: 10 }, () => buffers.take(64));
  for (const buffer of out) buffers.give(buffer);
  assert.equal(buffers.kept, 3);
});
