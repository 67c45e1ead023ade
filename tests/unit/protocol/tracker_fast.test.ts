import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  ErrorCode,
  fastRequestKind,
  type Message,
  parseMessage,
  registeredFiles,
  writeAck,
  writeReplyCopy,
} from "@shoal/protocol";
import {
  datagramArb,
  fastPathOutcome,
  messageArb,
  mutatedArb,
  trackerHotDatagramArb,
} from "../../../bench/_protocol_inputs.ts";

// The tracker reads its hot requests in place (protocol/tracker_fast.ts).
// They must accept exactly what parseMessage accepts and read the same
// fields, or a change to a message in one place breaks the other unseen.

Deno.test("the in-place readers agree with parseMessage() on every valid REGISTER, KEEPALIVE and REQUEST", () => {
  const outcomes = new Set<string>();
  fc.assert(
    fc.property(trackerHotDatagramArb, (bytes) => {
      outcomes.add(fastPathOutcome(bytes));
    }),
    { seed: 0x5348_1501, numRuns: 3000 },
  );
  // A REQUEST by name or id prefix takes the general path.
  assert.deepStrictEqual(
    [...outcomes].sort(),
    ["general path", "keepalive", "register", "request"],
  );
});

Deno.test("the in-place readers agree with parseMessage() on mutated datagrams", () => {
  const outcomes = new Set<string>();
  fc.assert(
    fc.property(
      fc.oneof(mutatedArb(trackerHotDatagramArb), mutatedArb(datagramArb)),
      (bytes) => {
        outcomes.add(fastPathOutcome(bytes));
      },
    ),
    { seed: 0x5348_1502, numRuns: 8000 },
  );
  // The mutations must reach every path, or this test is weak.
  assert.deepStrictEqual(
    [...outcomes].sort(),
    ["general path", "keepalive", "register", "register refused", "request"],
  );
});

Deno.test("the in-place readers agree with parseMessage() on random bytes behind a valid header", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 3),
      fc.uint8Array({ minLength: 26, maxLength: 400 }),
      (code, body) => {
        const bytes = new Uint8Array(14 + body.byteLength);
        bytes.set([0x53, 0x48, 1, 1, code, 0]);
        new DataView(bytes.buffer).setUint32(10, body.byteLength);
        bytes.set(body, 14);
        fastPathOutcome(bytes);
      },
    ),
    { seed: 0x5348_1503, numRuns: 3000 },
  );
});

Deno.test("registeredFiles() refuses what parseMessage() refuses: a name with a slash", () => {
  const file = {
    id: new Uint8Array(32),
    name: "a.txt",
    size: 5,
    chunkCount: 1,
    complete: true,
  };
  const bytes = createMessage({
    kind: "register",
    txid: 1,
    cookie: 1n,
    peerId: new Uint8Array(16),
    port: 6881,
    files: [file],
  });
  bytes[bytes.byteLength - 2] = 0x2f; // "a/txt"
  assert.equal(fastRequestKind(bytes), "register");
  assert.equal(registeredFiles(bytes), null);
  assert.throws(() => parseMessage(bytes));
});

Deno.test("writeAck() and writeReplyCopy() write what createMessage() writes", () => {
  fc.assert(
    fc.property(messageArb("ack"), (ack) => {
      const out = new Uint8Array(64);
      const length = writeAck(out, ack.txid, ack.intervalSeconds);
      // A tracker's ACK never carries the peers' PEX flag.
      const { pex: _pex, ...trackerAck } = ack;
      assert.deepStrictEqual(
        out.subarray(0, length),
        createMessage(trackerAck),
      );
    }),
    { seed: 0x5348_1504, numRuns: 500 },
  );
  const template = createMessage({
    kind: "error",
    txid: 0,
    code: ErrorCode.BUSY,
    text: "Tracker is full: try later",
  });
  const out = new Uint8Array(1452).fill(0xee);
  const length = writeReplyCopy(out, template, 0xdeadbeef);
  const expected: Message = {
    kind: "error",
    txid: 0xdeadbeef,
    code: ErrorCode.BUSY,
    text: "Tracker is full: try later",
  };
  assert.deepStrictEqual(out.subarray(0, length), createMessage(expected));
});
