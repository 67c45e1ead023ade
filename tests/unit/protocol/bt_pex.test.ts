import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodePexMessage,
  encodeBencode,
  encodePexMessage,
  MAX_BT_EXTENDED_BYTES,
  MAX_BT_PEX_ADDED,
  ProtocolError,
} from "@shoal/protocol";
import { pexMessageArb } from "../../../bench/_bt_inputs.ts";

const LATIN1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function rejects(payload: Uint8Array, code: ProtocolError["code"]): void {
  assert.throws(
    () => decodePexMessage(payload),
    (error: unknown) => error instanceof ProtocolError && error.code === code,
  );
}

Deno.test("decodePexMessage() round-trips every message encodePexMessage() writes", () => {
  fc.assert(
    fc.property(pexMessageArb, (message) => {
      assert.deepStrictEqual(
        decodePexMessage(encodePexMessage(message)),
        { ...message },
      );
    }),
    { seed: 0x5045_5801, numRuns: 300 },
  );
});

Deno.test("decodePexMessage() reads libtorrent's keys and ignores others", () => {
  const payload = LATIN1(
    "d5:added6:\x7f\x00\x00\x01\x1b\x58" + "7:added.f1:\x12" +
      "7:dropped0:" + "1:xi3ee",
  );
  assert.deepStrictEqual(decodePexMessage(payload), {
    added: [{ host: "127.0.0.1", port: 7000, flags: 0x12 }],
    dropped: [],
  });
  // Added peers without flags are read with flags 0.
  assert.deepStrictEqual(
    decodePexMessage(LATIN1("d5:added6:\x0a\x00\x00\x01\x00\x50e")).added,
    [{ host: "10.0.0.1", port: 80, flags: 0 }],
  );
  assert.deepStrictEqual(decodePexMessage(LATIN1("de")), {
    added: [],
    dropped: [],
  });
});

Deno.test("decodePexMessage() refuses lists that are not whole entries", () => {
  rejects(LATIN1("d5:added5:\x7f\x00\x00\x01\x1be"), "bad_length");
  rejects(LATIN1("d6:added617:" + "\x00".repeat(17) + "e"), "bad_length");
  rejects(LATIN1("d7:dropped7:" + "\x00".repeat(7) + "e"), "bad_length");
  // Flags for two peers, one peer.
  rejects(
    LATIN1("d5:added6:\x7f\x00\x00\x01\x1b\x587:added.f2:\x00\x00e"),
    "bad_length",
  );
  rejects(LATIN1("d5:addedi3ee"), "bad_value");
  rejects(LATIN1("li1ee"), "bad_type");
  rejects(LATIN1("d5:added"), "too_short");
});

Deno.test("decodePexMessage() refuses a flood of added peers and an oversized payload", () => {
  const peers = MAX_BT_PEX_ADDED + 1;
  const added = new Uint8Array(peers * 6).fill(1);
  const flood = encodeBencode(
    new Map([["added", added], ["added.f", new Uint8Array(peers)]]),
  );
  rejects(flood, "too_long");
  const ok = encodeBencode(new Map([["added", added.subarray(6)]]));
  assert.equal(decodePexMessage(ok).added.length, MAX_BT_PEX_ADDED);
  const big = encodeBencode(
    new Map([["x", new Uint8Array(MAX_BT_EXTENDED_BYTES)]]),
  );
  rejects(big, "too_long");
});

Deno.test("encodePexMessage() refuses more than 50 peers in a list (BEP 11)", () => {
  const peer = { host: "10.0.0.1", port: 1, flags: 0 };
  assert.throws(
    () => encodePexMessage({ added: Array(51).fill(peer), dropped: [] }),
    RangeError,
  );
});
