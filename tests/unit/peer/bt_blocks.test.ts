import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BtBlocks,
  MAX_BUFFER_BYTES,
  MAX_REQUESTS,
} from "../../../peer/workers/bt_blocks.ts";

const KIB16 = 16 * 1024;
/** Three pieces of 64 KiB (4 blocks each) and a last piece of 1 block and 100 bytes. */
const SHAPE = {
  size: 3 * 65_536 + KIB16 + 100,
  chunkSize: 65_536,
  chunkCount: 4,
};

function block(index: number, begin: number, length: number): Uint8Array {
  return new Uint8Array(length).fill((index * 7 + begin / KIB16) & 0xff);
}

Deno.test("BtBlocks asks for every 16 KiB block of a piece, the last block of the file at its real length", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  blocks.queue([3, 0]);
  assert.deepEqual(blocks.nextRequests(), [
    { index: 3, begin: 0, length: KIB16 },
    { index: 3, begin: KIB16, length: 100 },
    { index: 0, begin: 0, length: KIB16 },
    { index: 0, begin: KIB16, length: KIB16 },
    { index: 0, begin: 2 * KIB16, length: KIB16 },
    { index: 0, begin: 3 * KIB16, length: KIB16 },
  ]);
  assert.equal(blocks.outstanding, 6);
  assert.deepEqual(blocks.nextRequests(), []);
});

Deno.test("BtBlocks assembles a piece from blocks in any order and hands it back whole", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  blocks.queue([1]);
  const ranges = blocks.nextRequests();
  const expected = new Uint8Array(65_536);
  for (const r of ranges) expected.set(block(1, r.begin, r.length), r.begin);
  for (const r of [ranges[2]!, ranges[0]!, ranges[3]!]) {
    assert.deepEqual(blocks.receive(1, r.begin, block(1, r.begin, r.length)), {
      kind: "partial",
    });
  }
  const last = blocks.receive(1, ranges[1]!.begin, block(1, KIB16, KIB16));
  assert.equal(last.kind, "piece");
  if (last.kind !== "piece") return;
  assert.equal(last.index, 1);
  assert.deepEqual(last.bytes, expected);
  assert.equal(blocks.outstanding, 0);
  assert.equal(blocks.pieces, 0);
  assert.equal(blocks.buffersOut, 1);
  blocks.release(last.buffer);
  assert.equal(blocks.buffersOut, 0);
});

Deno.test("BtBlocks takes libtorrent's zero-padded 16 KiB answer for the file's last block, trimmed", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  blocks.queue([3]);
  blocks.nextRequests();
  assert.equal(blocks.receive(3, 0, block(3, 0, KIB16)).kind, "partial");
  const padded = new Uint8Array(KIB16);
  padded.fill(9, 0, 100);
  const last = blocks.receive(3, KIB16, padded);
  assert.equal(last.kind, "piece");
  if (last.kind !== "piece") return;
  assert.equal(last.bytes.byteLength, KIB16 + 100);
  assert.deepEqual(last.bytes.subarray(KIB16), new Uint8Array(100).fill(9));
});

Deno.test("BtBlocks calls a block nobody asked for, a repeated block or one of the wrong size the peer's fault", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16)).kind, "unasked");
  blocks.queue([0]);
  blocks.nextRequests();
  assert.equal(blocks.receive(0, 100, block(0, 0, KIB16)).kind, "unasked");
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16 - 1)).kind, "unasked");
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16)).kind, "partial");
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16)).kind, "unasked");
  // A 16 KiB answer is only the last block of the file's padded form.
  assert.equal(blocks.receive(2, 0, block(2, 0, KIB16)).kind, "unasked");
});

Deno.test("BtBlocks cancels a piece's outstanding requests, and their late answers are no fault", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  blocks.queue([0, 1]);
  blocks.nextRequests();
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16)).kind, "partial");
  assert.deepEqual(blocks.cancel(0), [
    { index: 0, begin: KIB16, length: KIB16 },
    { index: 0, begin: 2 * KIB16, length: KIB16 },
    { index: 0, begin: 3 * KIB16, length: KIB16 },
  ]);
  assert.equal(blocks.outstanding, 4);
  assert.equal(blocks.receive(0, KIB16, block(0, KIB16, KIB16)).kind, "late");
  // Each taken-back request excuses one answer, not two.
  assert.equal(
    blocks.receive(0, KIB16, block(0, KIB16, KIB16)).kind,
    "unasked",
  );
  assert.equal(blocks.has(0), false);
  assert.equal(blocks.has(1), true);
  // A piece only queued is dropped with nothing to cancel.
  blocks.queue([2]);
  assert.deepEqual(blocks.cancel(2), []);
  assert.equal(blocks.has(2), false);
});

Deno.test("BtBlocks: a reject gives the piece up and names the requests to cancel; a reject of nothing is the peer's fault", () => {
  const blocks = new BtBlocks({ shape: SHAPE });
  blocks.queue([2]);
  blocks.nextRequests();
  const result = blocks.reject({ index: 2, begin: KIB16, length: KIB16 });
  assert.equal(result.kind, "rejected");
  if (result.kind !== "rejected") return;
  assert.equal(result.index, 2);
  assert.equal(result.cancel.length, 3);
  assert.equal(blocks.outstanding, 0);
  assert.equal(
    blocks.reject({ index: 2, begin: 0, length: KIB16 }).kind,
    "late",
  );
  assert.equal(
    blocks.reject({ index: 1, begin: 0, length: KIB16 }).kind,
    "unasked",
  );
});

Deno.test("BtBlocks.dropAll() gives every piece back when the peer chokes", () => {
  const blocks = new BtBlocks({ shape: SHAPE, maxRequests: 4 });
  blocks.queue([0, 1, 2]);
  assert.equal(blocks.nextRequests().length, 4);
  assert.deepEqual(blocks.dropAll().sort(), [0, 1, 2]);
  assert.equal(blocks.outstanding, 0);
  assert.equal(blocks.pieces, 0);
  assert.equal(blocks.buffersOut, 0);
  assert.equal(blocks.receive(0, 0, block(0, 0, KIB16)).kind, "late");
});

Deno.test("BtBlocks keeps no more requests out than the peer's reqq, and no more buffers than its bound", () => {
  const big = { size: 64 * 512 * 1024, chunkSize: 512 * 1024, chunkCount: 64 };
  const blocks = new BtBlocks({ shape: big, maxRequests: 5 });
  blocks.queue([...Array(64).keys()]);
  assert.equal(blocks.nextRequests().length, 5);
  assert.equal(blocks.nextRequests().length, 0);
  blocks.setMaxRequests(100_000);
  const more = blocks.nextRequests();
  const bound = MAX_BUFFER_BYTES / big.chunkSize;
  // Whichever is smaller: the request cap or the blocks of the buffers.
  assert.equal(5 + more.length, Math.min(MAX_REQUESTS, bound * 32));
  assert.ok(blocks.buffersOut <= bound);
  assert.equal(blocks.maxBuffers, bound);
});

Deno.test("BtBlocks reuses a released buffer and starts no piece while every buffer is out", () => {
  const shape = {
    size: 8 * 2 * 1024 * 1024,
    chunkSize: 2 * 1024 * 1024,
    chunkCount: 8,
  };
  const blocks = new BtBlocks({ shape });
  assert.equal(blocks.maxBuffers, 2);
  blocks.queue([0, 1, 2]);
  const first = blocks.nextRequests();
  // Two pieces of 128 blocks fill the 256 requests and both buffers.
  assert.equal(first.length, 256);
  assert.ok(first.every((r) => r.index === 0 || r.index === 1));
  let whole: Uint8Array | null = null;
  for (const r of first.filter((r) => r.index === 0)) {
    const got = blocks.receive(0, r.begin, block(0, r.begin, r.length));
    if (got.kind === "piece") whole = got.buffer;
  }
  assert.ok(whole);
  // Room for requests, but the finished piece still holds its buffer (being written).
  assert.deepEqual(blocks.nextRequests(), []);
  blocks.release(whole);
  const next = blocks.nextRequests();
  assert.equal(next.length, 128);
  assert.ok(next.every((r) => r.index === 2));
});

for (const chunkSize of [65_536, 2 * 1024 * 1024]) {
  Deno.test(`BtBlocks keeps its bounds whatever a peer sends and the scheduler asks, in any order (${chunkSize / 1024} KiB pieces)`, () => {
    const shape = { size: 5 * chunkSize + 700, chunkSize, chunkCount: 6 };
    const index = fc.integer({ min: 0, max: 7 });
    const step = fc.oneof(
      fc.record({ kind: fc.constant("queue"), indices: fc.array(index) }),
      fc.record({ kind: fc.constant("next") }),
      fc.record({ kind: fc.constant("cancel"), index }),
      fc.record({ kind: fc.constant("drop") }),
      fc.record({
        kind: fc.constant("block"),
        index,
        block: fc.integer({ min: 0, max: 5 }),
        length: fc.constantFrom(700, KIB16, KIB16 - 1, 1),
      }),
      fc.record({
        kind: fc.constant("reject"),
        index,
        block: fc.integer({ min: 0, max: 5 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 200 }),
        fc.integer({ min: 1, max: 9 }),
        (steps, reqq) => {
          const blocks = new BtBlocks({ shape, maxRequests: reqq });
          const out = new Map<string, number>();
          const held: Uint8Array[] = [];
          for (const s of steps) {
            switch (s.kind) {
              case "queue":
                blocks.queue(s.indices);
                break;
              case "next":
                for (const r of blocks.nextRequests()) {
                  assert.ok(r.length >= 1 && r.length <= KIB16);
                  out.set(`${r.index}:${r.begin}`, r.length);
                }
                break;
              case "cancel":
                blocks.cancel(s.index);
                break;
              case "drop":
                blocks.dropAll();
                break;
              case "block": {
                const begin = s.block * KIB16;
                const got = blocks.receive(
                  s.index,
                  begin,
                  new Uint8Array(s.length),
                );
                if (got.kind === "partial" || got.kind === "piece") {
                  // Stored only as the answer to a request, at its length.
                  const asked = out.get(`${s.index}:${begin}`);
                  assert.ok(
                    asked === s.length ||
                      (s.length === KIB16 && s.index === 5 && asked === 700),
                  );
                }
                if (got.kind === "piece") held.push(got.buffer);
                break;
              }
              case "reject":
                blocks.reject({
                  index: s.index,
                  begin: s.block * KIB16,
                  length: KIB16,
                });
                break;
            }
            assert.ok(blocks.outstanding >= 0 && blocks.outstanding <= reqq);
            assert.ok(blocks.buffersOut <= blocks.maxBuffers);
            // Finished pieces hold their buffers until written; release some.
            if (held.length > 1) blocks.release(held.shift()!);
          }
        },
      ),
      { seed: 17, numRuns: 300 },
    );
  });
}
