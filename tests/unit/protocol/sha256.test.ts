/**
 * protocol/sha256.ts: node:crypto read back as hex must give the same bytes
 * as WebCrypto, into any 32-byte view, even over its own input.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sha256, sha256Into, toHex } from "@shoal/protocol";
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
