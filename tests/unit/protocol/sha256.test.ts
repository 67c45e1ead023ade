/**
 * protocol/sha256.ts: node:crypto read back as hex must give the same bytes
 * as WebCrypto, into any 32-byte view, even over its own input; and
 * protocol/_sha256_pair.ts, SHA-256 of 64 bytes in JavaScript, the same as
 * node:crypto's.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256, sha256Into, toHex } from "@shoal/protocol";
import { sha256Pair } from "../../../protocol/_sha256_pair.ts";
import { Rng } from "../../../bench/_protocol_inputs.ts";

async function webSha(bytes: Uint8Array): Promise<string> {
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())),
  );
}

Deno.test("sha256 and sha256Into equal WebCrypto's SHA-256 over random lengths", async () => {
  const rng = new Rng(256);
  const out = new Uint8Array(100);
  for (let run = 0; run < 60; run++) {
    const length = run < 3 ? [0, 64, 16_384][run]! : rng.int(20_000);
    const data = rng.bytes(length);
    const expected = await webSha(data);
    assert.equal(toHex(sha256(data)), expected, `${length} bytes`);
    const at = rng.int(100 - 32 + 1);
    sha256Into(data, out.subarray(at, at + 32));
    assert.equal(
      toHex(out.subarray(at, at + 32)),
      expected,
      `${length} at ${at}`,
    );
  }
});

Deno.test("sha256Into reads all of its input before it writes over it", async () => {
  const nodes = new Rng(64).bytes(64);
  const expected = await webSha(nodes);
  sha256Into(nodes, nodes.subarray(0, 32)); // a parent over its left child
  assert.equal(toHex(nodes.subarray(0, 32)), expected);
});

Deno.test("sha256Into refuses an output that is not 32 bytes", () => {
  for (const size of [0, 31, 33]) {
    assert.throws(
      () => sha256Into(new Uint8Array(1), new Uint8Array(size)),
      RangeError,
    );
  }
});

Deno.test("sha256Pair (inner nodes in JavaScript) equals node:crypto's SHA-256 of 64 bytes", () => {
  const rng = new Rng(64);
  const buffer = new Uint8Array(64 + 32);
  const view = new DataView(buffer.buffer);
  const inputs = [
    new Uint8Array(64),
    new Uint8Array(64).fill(0xff),
    new Uint8Array(64).fill(0x80),
    ...Array.from({ length: 2_000 }, () => rng.bytes(64)),
  ];
  for (const input of inputs) {
    const expected = createHash("sha256").update(input).digest("hex");
    buffer.set(input);
    sha256Pair(view, 0, 64);
    assert.equal(toHex(buffer.subarray(64)), expected, toHex(input));
    // Over its own input, as a parent over its left child.
    sha256Pair(view, 0, 0);
    assert.equal(toHex(buffer.subarray(0, 32)), expected, toHex(input));
  }
});

Deno.test("sha256Pair reads and writes only inside its view", () => {
  const bytes = new Uint8Array(96);
  const view = new DataView(bytes.buffer, 16, 64);
  assert.throws(() => sha256Pair(view, 1, 0), RangeError);
  assert.throws(() => sha256Pair(view, 0, 33), RangeError);
  assert.deepEqual(bytes.subarray(0, 16), new Uint8Array(16));
  assert.deepEqual(bytes.subarray(80), new Uint8Array(16));
});
