/**
 * BEP 52 Merkle trees: protocol/merkle.ts against a naive reference written
 * here from the BEP text (WebCrypto, recursion over the padded leaves), and
 * against the pieces root python3-libtorrent writes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import {
  BLOCK_BYTES,
  blockHash,
  fileMerkle,
  merkleRoot,
  nodeHash,
  padHash,
  pieceHash,
  PieceHasher,
  pieceLeafCount,
  piecesRootFromLayer,
  toHex,
  ZERO_HASH,
} from "@shoal/protocol";
import { Rng } from "../../../bench/_protocol_inputs.ts";

const KIB = 1024;

// --- The reference: BEP 52 read literally ------------------------------------

async function sha(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * The padded leaves of a file: SHA-256 of each 16 KiB block (the last one as
 * it is), then 32 zero bytes up to `width` (default: the next power of two).
 */
async function refLeaves(data: Uint8Array, width?: number) {
  const leaves: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK_BYTES) {
    leaves.push(await sha(data.slice(at, at + BLOCK_BYTES)));
  }
  let n = 1;
  while (n < leaves.length) n *= 2;
  while (leaves.length < (width ?? n)) leaves.push(new Uint8Array(32));
  return leaves;
}

/** Node `index` at `height` above the leaves: SHA-256(left || right). */
async function refNode(
  leaves: Uint8Array[],
  height: number,
  index: number,
): Promise<Uint8Array> {
  if (height === 0) return leaves[index]!;
  const left = await refNode(leaves, height - 1, 2 * index);
  const right = await refNode(leaves, height - 1, 2 * index + 1);
  const both = new Uint8Array(64);
  both.set(left);
  both.set(right, 32);
  return await sha(both);
}

/** pieces root and piece layer (one hash per piece) of the reference. */
async function reference(data: Uint8Array, pieceBytes: number) {
  const leaves = await refLeaves(data);
  const top = Math.log2(leaves.length);
  const root = await refNode(leaves, top, 0);
  if (data.length <= pieceBytes) return { root, layer: [root] };
  const height = Math.log2(pieceBytes / BLOCK_BYTES);
  const layer: Uint8Array[] = [];
  for (let i = 0; i * pieceBytes < data.length; i++) {
    layer.push(await refNode(leaves, height, i));
  }
  return { root, layer };
}

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
    const ours = fileMerkle(data, piece)!;
    const ref = await reference(data, piece);
    const what = `${size} bytes, pieces of ${piece}`;
    assert.equal(toHex(ours.piecesRoot), toHex(ref.root), what);
    assert.deepEqual(ours.pieceHashes.map(toHex), ref.layer.map(toHex), what);
  }
});

Deno.test("fileMerkle matches the reference on random sizes and piece lengths", async () => {
  const rng = new Rng(7);
  for (let run = 0; run < 25; run++) {
    const piece = BLOCK_BYTES * 2 ** rng.int(4);
    const size = 1 + rng.int(12 * piece);
    const data = rng.bytes(size);
    const ours = fileMerkle(data, piece)!;
    const ref = await reference(data, piece);
    assert.equal(
      toHex(ours.piecesRoot),
      toHex(ref.root),
      `${size} bytes, pieces of ${piece}`,
    );
  }
});

Deno.test("an empty file has no pieces root", () => {
  assert.equal(fileMerkle(new Uint8Array(), 16 * KIB), null);
});

Deno.test("the root over all blocks equals the root over the piece layer padded with padHash", async () => {
  const rng = new Rng(3);
  for (const pieces of [2, 3, 5, 8, 9]) {
    const piece = 32 * KIB;
    const data = rng.bytes((pieces - 1) * piece + 1 + rng.int(piece));
    const leaves = await refLeaves(data);
    const width = pieceLeafCount(data.length, piece);
    const layer: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += piece) {
      layer.push(pieceHash(
        leaves.slice(
          at / BLOCK_BYTES,
          Math.min(
            (at + piece) / BLOCK_BYTES,
            Math.ceil(data.length / BLOCK_BYTES),
          ),
        ),
        width,
      ));
    }
    assert.equal(
      toHex(piecesRootFromLayer(layer, width)),
      toHex(merkleRoot(leaves, leaves.length)),
      `${pieces} pieces`,
    );
    // Padding the layer with zero bytes instead gives another root.
    let padded = 1;
    while (padded < pieces) padded *= 2;
    if (padded > pieces) {
      assert.notEqual(
        toHex(merkleRoot(layer, padded)),
        toHex(piecesRootFromLayer(layer, width)),
      );
    }
  }
});

Deno.test("padHash(k) is the root of 2^k zero leaves", async () => {
  for (let k = 0; k <= 6; k++) {
    const zeros = Array.from({ length: 2 ** k }, () => new Uint8Array(32));
    assert.equal(toHex(padHash(k)), toHex(await refNode(zeros, k, 0)));
  }
  assert.equal(padHash(0), ZERO_HASH);
});

Deno.test("PieceHasher gives the same hash however the piece is sliced", () => {
  const rng = new Rng(11);
  const data = rng.bytes(3 * BLOCK_BYTES + 123);
  const expected = toHex(
    pieceHash(
      [0, 1, 2, 3].map((i) =>
        blockHash(data.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES))
      ),
      8,
    ),
  );
  const hasher = new PieceHasher(8);
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
        assert.equal(toHex(hasher.digest()), expected);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("merkleRoot pads with zero leaves, and wide trees cost only log2 extra", () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  assert.deepEqual(merkleRoot([a], 1), a);
  assert.deepEqual(merkleRoot([a, b], 2), nodeHash(a, b));
  assert.deepEqual(
    merkleRoot([a], 4),
    nodeHash(nodeHash(a, ZERO_HASH), padHash(1)),
  );
  assert.deepEqual(merkleRoot([], 2 ** 30), padHash(30));
});

Deno.test("bad widths, sizes and counts throw RangeError", () => {
  const h = new Uint8Array(32);
  for (const width of [0, 3, 6, -2, 1.5, 2 ** 37, NaN]) {
    assert.throws(() => merkleRoot([], width), RangeError, String(width));
    assert.throws(() => new PieceHasher(width), RangeError, String(width));
  }
  assert.throws(() => merkleRoot([h, h, h], 2), RangeError);
  assert.throws(() => merkleRoot([new Uint8Array(31)], 2), RangeError);
  assert.throws(() => nodeHash(h, new Uint8Array(33)), RangeError);
  assert.throws(() => blockHash(new Uint8Array()), RangeError);
  assert.throws(() => blockHash(new Uint8Array(BLOCK_BYTES + 1)), RangeError);
  assert.throws(() => padHash(-1), RangeError);
  assert.throws(() => padHash(37), RangeError);
  assert.throws(() => pieceHash([], 2), RangeError);
  assert.throws(() => pieceHash([h, h, h], 2), RangeError);
  assert.throws(() => piecesRootFromLayer([], 2), RangeError);
  assert.throws(() => pieceLeafCount(0, 16 * KIB), RangeError);
  assert.throws(() => pieceLeafCount(10, 8 * KIB), RangeError);
  assert.throws(() => pieceLeafCount(10, 48 * KIB), RangeError);
  assert.throws(() => pieceLeafCount(2 ** 51, 16 * KIB), RangeError);
  const hasher = new PieceHasher(2);
  assert.throws(() => hasher.digest(), RangeError);
  hasher.update(new Uint8Array(2 * BLOCK_BYTES));
  assert.throws(() => hasher.update(new Uint8Array(1)), RangeError);
});

// --- Cross-check with libtorrent ---------------------------------------------

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../../fixtures/lt_pieces_root.py", import.meta.url)
  .pathname;
const HAS_LIBTORRENT = await new Deno.Command(PYTHON, {
  args: ["-c", "import libtorrent"],
  stdout: "null",
  stderr: "null",
}).output().then((out) => out.success, () => false);

if (!HAS_LIBTORRENT) {
  // deno-lint-ignore no-console
  console.warn(
    `Skipping the libtorrent Merkle cross-check: ${PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)`,
  );
}

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
          toHex(fileMerkle(data, piece)!.piecesRoot),
          await libtorrentPiecesRoot(path, piece),
          `${size} bytes, pieces of ${piece}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
