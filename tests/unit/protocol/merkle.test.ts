/**
 * BEP 52 Merkle trees: protocol/merkle.ts against a naive reference written
 * from the BEP text (tests/_helpers/bep52_reference.ts: WebCrypto, recursion
 * over the padded leaves), and against the pieces root python3-libtorrent
 * writes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import * as m from "@shoal/protocol";
import { Rng } from "../../../bench/_protocol_inputs.ts";
import {
  reference,
  refLeaves,
  refNode,
} from "../../_helpers/bep52_reference.ts";
import {
  hasLibtorrent,
  LT_PYTHON,
  ltFixture,
} from "../../_helpers/libtorrent.ts";

const KIB = 1024;

// --- Tests -------------------------------------------------------------------

const CASES: [size: number, piece: number][] = [
  [1, 16 * KIB],
  [16 * KIB - 1, 16 * KIB],
  [16 * KIB, 16 * KIB],
  [16 * KIB + 1, 16 * KIB],
  [16 * KIB + 1, 64 * KIB], // one piece of 2 blocks
  [40 * KIB, 128 * KIB], // one piece of 3 blocks: 4 leaves, not the piece's 8
  [100 * KIB, 128 * KIB], // one piece of 7 blocks: 8 leaves
  [96 * KIB, 32 * KIB], // 3 whole pieces
  [100 * KIB, 32 * KIB], // 4 pieces, the last one block of 4 KiB
  [5 * 32 * KIB - 100, 32 * KIB], // 5 pieces, the last partial
  [9 * 64 * KIB + 17, 64 * KIB], // 10 pieces, the last 17 bytes
];

Deno.test("fileMerkle matches the BEP 52 reference on awkward sizes", async () => {
  const rng = new Rng(52);
  for (const [size, piece] of CASES) {
    const data = rng.bytes(size);
    const ours = m.fileMerkle(data, piece)!;
    const ref = await reference(data, piece);
    const what = `${size} bytes, pieces of ${piece}`;
    assert.equal(m.toHex(ours.piecesRoot), m.toHex(ref.root), what);
    assert.deepEqual(
      ours.pieceHashes.map(m.toHex),
      ref.layer.map(m.toHex),
      what,
    );
  }
});

Deno.test("fileMerkle matches the reference on random sizes and piece lengths", async () => {
  const rng = new Rng(7);
  for (let run = 0; run < 25; run++) {
    const piece = m.BLOCK_BYTES * 2 ** rng.int(4);
    const size = 1 + rng.int(12 * piece);
    const data = rng.bytes(size);
    const ours = m.fileMerkle(data, piece)!;
    const ref = await reference(data, piece);
    assert.equal(
      m.toHex(ours.piecesRoot),
      m.toHex(ref.root),
      `${size} bytes, pieces of ${piece}`,
    );
  }
});

/** A piece size for `width` leaves: whole blocks, a byte either side, full, or any. */
function pieceSize(rng: Rng, width: number): number {
  const blocks = 1 + rng.int(width);
  const full = width * m.BLOCK_BYTES;
  return [
    blocks * m.BLOCK_BYTES,
    blocks * m.BLOCK_BYTES - 1,
    (blocks - 1) * m.BLOCK_BYTES + 1,
    full,
    1 + rng.int(full),
  ][rng.int(5)]!;
}

Deno.test("pieceRoot, PieceHasher and merkleRootInPlace equal the BEP 52 reference over random sizes and widths", async () => {
  const rng = new Rng(16);
  for (let run = 0; run < 40; run++) {
    const width = 2 ** rng.int(7); // 1 to 64 leaves: up to a 1 MiB piece
    const data = rng.bytes(pieceSize(rng, width));
    const what = `${data.length} bytes, width ${width}`;
    const leaves = await refLeaves(data, width);
    const expected = m.toHex(await refNode(leaves, Math.log2(width), 0));
    assert.equal(m.toHex(m.pieceRoot(data, width)), expected, what);

    const hasher = new m.PieceHasher(width);
    for (let at = 0; at < data.length;) {
      const take = 1 + rng.int(3 * m.BLOCK_BYTES);
      hasher.update(data.subarray(at, at + take));
      at += take;
    }
    assert.equal(m.toHex(hasher.digest()), expected, `PieceHasher, ${what}`);

    const blocks = Math.ceil(data.length / m.BLOCK_BYTES);
    const flat = new Uint8Array(blocks * 32);
    leaves.slice(0, blocks).forEach((leaf, i) => flat.set(leaf, i * 32));
    assert.equal(
      m.toHex(m.merkleRootInPlace(flat, width)),
      expected,
      `merkleRootInPlace, ${what}`,
    );
    assert.equal(
      m.toHex(m.merkleRoot(leaves.slice(0, blocks), width)),
      expected,
      `merkleRoot, ${what}`,
    );
  }
});

Deno.test("pieceRoot and merkleRootInPlace refuse what is not a piece of the width", () => {
  assert.throws(() => m.pieceRoot(new Uint8Array(), 2), RangeError);
  assert.throws(
    () => m.pieceRoot(new Uint8Array(2 * m.BLOCK_BYTES + 1), 2),
    RangeError,
  );
  assert.throws(() => m.pieceRoot(new Uint8Array(1), 3), RangeError);
  assert.throws(
    () => m.merkleRootInPlace(new Uint8Array(3 * 32), 2),
    RangeError,
  );
  assert.throws(() => m.merkleRootInPlace(new Uint8Array(33), 2), RangeError);
  assert.deepEqual(m.merkleRootInPlace(new Uint8Array(), 8), m.padHash(3));
});

Deno.test("an empty file has no pieces root", () => {
  assert.equal(m.fileMerkle(new Uint8Array(), 16 * KIB), null);
});

Deno.test("the root over all blocks equals the root over the piece layer padded with padHash", async () => {
  const rng = new Rng(3);
  for (const pieces of [2, 3, 5, 8, 9]) {
    const piece = 32 * KIB;
    const data = rng.bytes((pieces - 1) * piece + 1 + rng.int(piece));
    const leaves = await refLeaves(data);
    const width = m.pieceLeafCount(data.length, piece);
    const layer: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += piece) {
      layer.push(m.pieceHash(
        leaves.slice(
          at / m.BLOCK_BYTES,
          Math.min(
            (at + piece) / m.BLOCK_BYTES,
            Math.ceil(data.length / m.BLOCK_BYTES),
          ),
        ),
        width,
      ));
    }
    assert.equal(
      m.toHex(m.piecesRootFromLayer(layer, width)),
      m.toHex(m.merkleRoot(leaves, leaves.length)),
      `${pieces} pieces`,
    );
    // Padding the layer with zero bytes instead gives another root.
    let padded = 1;
    while (padded < pieces) padded *= 2;
    if (padded > pieces) {
      assert.notEqual(
        m.toHex(m.merkleRoot(layer, padded)),
        m.toHex(m.piecesRootFromLayer(layer, width)),
      );
    }
  }
});

Deno.test("padHash(k) is the root of 2^k zero leaves", async () => {
  for (let k = 0; k <= 6; k++) {
    const zeros = Array.from({ length: 2 ** k }, () => new Uint8Array(32));
    assert.equal(m.toHex(m.padHash(k)), m.toHex(await refNode(zeros, k, 0)));
  }
  assert.equal(m.padHash(0), m.ZERO_HASH);
});

Deno.test("PieceHasher gives the same hash however the piece is sliced", () => {
  const rng = new Rng(11);
  const data = rng.bytes(3 * m.BLOCK_BYTES + 123);
  const expected = m.toHex(
    m.pieceHash(
      [0, 1, 2, 3].map((i) =>
        m.blockHash(data.subarray(i * m.BLOCK_BYTES, (i + 1) * m.BLOCK_BYTES))
      ),
      8,
    ),
  );
  const hasher = new m.PieceHasher(8);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 12 }),
      (cuts) => {
        let at = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          hasher.update(data.subarray(at, cut));
          at = cut;
        }
        hasher.update(data.subarray(at));
        assert.equal(hasher.bytes, data.length);
        assert.equal(m.toHex(hasher.digest()), expected);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("merkleRoot pads with zero leaves, and wide trees cost only log2 extra", () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  assert.deepEqual(m.merkleRoot([a], 1), a);
  assert.deepEqual(m.merkleRoot([a, b], 2), m.nodeHash(a, b));
  assert.deepEqual(
    m.merkleRoot([a], 4),
    m.nodeHash(m.nodeHash(a, m.ZERO_HASH), m.padHash(1)),
  );
  assert.deepEqual(m.merkleRoot([], 2 ** 30), m.padHash(30));
});

Deno.test("bad widths, sizes and counts throw RangeError", () => {
  const h = new Uint8Array(32);
  for (const width of [0, 3, 6, -2, 1.5, 2 ** 37, NaN]) {
    assert.throws(() => m.merkleRoot([], width), RangeError, String(width));
    assert.throws(() => new m.PieceHasher(width), RangeError, String(width));
  }
  assert.throws(() => m.merkleRoot([h, h, h], 2), RangeError);
  assert.throws(() => m.merkleRoot([new Uint8Array(31)], 2), RangeError);
  assert.throws(() => m.nodeHash(h, new Uint8Array(33)), RangeError);
  assert.throws(() => m.blockHash(new Uint8Array()), RangeError);
  assert.throws(
    () => m.blockHash(new Uint8Array(m.BLOCK_BYTES + 1)),
    RangeError,
  );
  assert.throws(() => m.padHash(-1), RangeError);
  assert.throws(() => m.padHash(37), RangeError);
  assert.throws(() => m.pieceHash([], 2), RangeError);
  assert.throws(() => m.pieceHash([h, h, h], 2), RangeError);
  assert.throws(() => m.piecesRootFromLayer([], 2), RangeError);
  assert.throws(() => m.pieceLeafCount(0, 16 * KIB), RangeError);
  assert.throws(() => m.pieceLeafCount(10, 8 * KIB), RangeError);
  assert.throws(() => m.pieceLeafCount(10, 48 * KIB), RangeError);
  assert.throws(() => m.pieceLeafCount(2 ** 51, 16 * KIB), RangeError);
  const hasher = new m.PieceHasher(2);
  assert.throws(() => hasher.digest(), RangeError);
  hasher.update(new Uint8Array(2 * m.BLOCK_BYTES));
  assert.throws(() => hasher.update(new Uint8Array(1)), RangeError);
});

// --- Cross-check with libtorrent ---------------------------------------------

const PYTHON = LT_PYTHON;
const SCRIPT = ltFixture("lt_pieces_root.py");
const HAS_LIBTORRENT = await hasLibtorrent("the libtorrent Merkle cross-check");

/** libtorrent's pieces root (hex) for a v2-only torrent of `path`. */
async function libtorrentPiecesRoot(path: string, piece: number) {
  const out = await new Deno.Command(PYTHON, {
    args: [SCRIPT, path, String(piece)],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const dec = new TextDecoder();
  assert.ok(out.success, dec.decode(out.stderr));
  return dec.decode(out.stdout).trim();
}

Deno.test({
  name: "pieces root equals the one libtorrent writes in a v2 torrent",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const rng = new Rng(2);
      for (
        const [size, piece] of [
          [100 * KIB, 32 * KIB], // 4 pieces, the last partial
          [40 * KIB, 128 * KIB], // one piece of 3 blocks: 4 leaves, not 8
          [5 * 16 * KIB + 1, 16 * KIB], // 6 pieces of one block
        ] as const
      ) {
        const path = join(dir, `f-${size}.bin`);
        const data = rng.bytes(size);
        await Deno.writeFile(path, data);
        assert.equal(
          m.toHex(m.fileMerkle(data, piece)!.piecesRoot),
          await libtorrentPiecesRoot(path, piece),
          `${size} bytes, pieces of ${piece}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
