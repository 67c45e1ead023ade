/**
 * SHA-256 Merkle trees as BEP 52 (BitTorrent v2) defines them. A file is cut
 * into 16 KiB blocks (the last one may be shorter, and is hashed as it is);
 * each leaf is the SHA-256 of one block; an inner node is
 * SHA-256(left || right); the leaves are padded on the right with 32 zero
 * bytes up to a power of two. The root over all leaves is the file's
 * `pieces root`. A piece of P bytes (a power of two, at least 16 KiB) is the
 * subtree over its P / 16 KiB leaves, so its hash is a node of the same tree:
 * the `piece layer`. Empty files have no tree.
 *
 * @example
 * ```ts
 * import { fileMerkle, piecesRootFromLayer, pieceLeafCount } from "@shoal/protocol";
 * const file = new Uint8Array(100 * 1024);
 * const { piecesRoot, pieceHashes } = fileMerkle(file, 32 * 1024)!;
 * // The root follows from the piece layer alone: no second read of the file.
 * piecesRootFromLayer(pieceHashes, pieceLeafCount(file.byteLength, 32 * 1024));
 * ```
 *
 * @module
 */
import {
  BLOCK_BYTES,
  HASH_BYTES,
  MAX_FILE_BYTES,
  MAX_MERKLE_LEVELS,
} from "./constants.ts";
import { sha256, sha256Into } from "./sha256.ts";
import { sha256Pair } from "./_sha256_pair.ts";

/** The pad leaf: 32 zero bytes stand for each leaf past the end of a file. */
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** Largest tree width (leaves): 2^MAX_MERKLE_LEVELS. */
const MAX_WIDTH = 2 ** MAX_MERKLE_LEVELS;

/** True for a power of two; exact for every safe integer (bitwise tricks stop at 2^31). */
export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 &&
    2 ** Math.round(Math.log2(value)) === value;
}

/** The smallest power of two >= `value` (value >= 1). */
function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(value));
}

function checkWidth(width: number, what: string): void {
  if (!isPowerOfTwo(width) || width > MAX_WIDTH) {
    throw new RangeError(
      `Cannot build Merkle tree: ${what} ${width} is not a power of two from 1 to 2^${MAX_MERKLE_LEVELS}`,
    );
  }
}

function checkHash(hash: Uint8Array): void {
  if (hash.byteLength !== HASH_BYTES) {
    throw new RangeError(
      `Cannot build Merkle tree: a hash has ${hash.byteLength} bytes, not ${HASH_BYTES}`,
    );
  }
}

/**
 * The leaf hash of one block: SHA-256 of 1 to 16 KiB bytes (only a file's
 * last block is shorter than 16 KiB, and it is not padded).
 *
 * @param bytes one block
 * @returns 32 bytes
 * @example
 * ```ts
 * import { blockHash } from "@shoal/protocol";
 * blockHash(new Uint8Array(16384)).byteLength; // 32
 * ```
 */
export function blockHash(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < 1 || bytes.byteLength > BLOCK_BYTES) {
    throw new RangeError(
      `Cannot hash block: ${bytes.byteLength} bytes is not from 1 to ${BLOCK_BYTES}`,
    );
  }
  return sha256(bytes);
}

/**
 * An inner node: SHA-256(left || right).
 *
 * @example
 * ```ts
 * import { nodeHash, ZERO_HASH } from "@shoal/protocol";
 * nodeHash(ZERO_HASH, ZERO_HASH).byteLength; // 32
 * ```
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  checkHash(left);
  checkHash(right);
  nodePair.set(left, 0);
  nodePair.set(right, HASH_BYTES);
  sha256Pair(nodePairView, 0, 0);
  return nodePair.slice(0, HASH_BYTES);
}

/** SHA-256 of `bytes` (a leaf's block) into the 32 bytes of `buffer` from `at`. */
function hashAt(bytes: Uint8Array, buffer: Uint8Array, at: number): void {
  sha256Into(bytes, buffer.subarray(at, at + HASH_BYTES));
}

/** nodeHash's input, and an odd last node's with its pad (hashing is synchronous). */
const nodePair = new Uint8Array(2 * HASH_BYTES);
const nodePairView = new DataView(nodePair.buffer);

/**
 * Reduces a layer of hashes, back to back in `layer`, to the root `levels`
 * levels above it, in place: two children side by side are already the 64
 * bytes of their parent, which overwrites the left one. A missing node at
 * `level` above the layer is `padAt(level)`.
 *
 * @returns a view of `layer`'s first hash, or the pad when `layer` is empty
 */
function reduceLayer(
  layer: Uint8Array,
  levels: number,
  padAt: (level: number) => Uint8Array,
): Uint8Array {
  let n = layer.byteLength / HASH_BYTES;
  if (n === 0) return padAt(levels);
  const view = new DataView(layer.buffer, layer.byteOffset, layer.byteLength);
  for (let level = 0; level < levels; level++) {
    const pairs = Math.floor(n / 2);
    for (let i = 0; i < pairs; i++) {
      sha256Pair(view, 2 * i * HASH_BYTES, i * HASH_BYTES);
    }
    if (n % 2 === 1) {
      // The last node has no right neighbour: it pairs with the pad (found
      // first: finding it may hash a new pad through nodePair).
      const pad = padAt(level);
      nodePair.set(layer.subarray((n - 1) * HASH_BYTES, n * HASH_BYTES));
      nodePair.set(pad, HASH_BYTES);
      sha256Pair(nodePairView, 0, 0);
      layer.set(nodePair.subarray(0, HASH_BYTES), pairs * HASH_BYTES);
    }
    n = Math.ceil(n / 2);
  }
  return layer.subarray(0, HASH_BYTES);
}

/** A layer kept for pieceRoot and merkleRoot: a 4 MiB piece's leaves. */
let scratchLayer = new Uint8Array(256 * HASH_BYTES);

/** A view of `hashes` hashes' room: in the kept buffer unless it is too small. */
function layerOf(hashes: number): Uint8Array {
  const bytes = hashes * HASH_BYTES;
  if (bytes > scratchLayer.byteLength) {
    const layer = new Uint8Array(bytes);
    // Keep it only while small: a one-off wide tree should not pin memory.
    if (bytes > 64 * 1024) return layer;
    scratchLayer = layer;
  }
  return scratchLayer.subarray(0, bytes);
}

/** padHash(k) for k = 0.. as far as asked; each level is computed once. */
const padHashes: Uint8Array[] = [ZERO_HASH];

/**
 * The root of a subtree of 2^levels zero leaves: what stands for a whole
 * piece past the end of a file when the root is computed from the piece
 * layer (levels = log2 of the leaves per piece).
 *
 * @param levels 0 (a zero leaf) to MAX_MERKLE_LEVELS
 * @example
 * ```ts
 * import { padHash, ZERO_HASH } from "@shoal/protocol";
 * padHash(0) === ZERO_HASH; // true
 * ```
 */
export function padHash(levels: number): Uint8Array {
  if (!Number.isInteger(levels) || levels < 0 || levels > MAX_MERKLE_LEVELS) {
    throw new RangeError(
      `Cannot build Merkle tree: ${levels} levels is not from 0 to ${MAX_MERKLE_LEVELS}`,
    );
  }
  while (padHashes.length <= levels) {
    const below = padHashes[padHashes.length - 1]!;
    padHashes.push(nodeHash(below, below));
  }
  return padHashes[levels]!;
}

/**
 * The root of a tree of `width` leaves: `leaves` from the left, then `pad`
 * for every leaf after them. Pad subtrees are hashed once per level, so a
 * wide tree with few leaves costs only log2(width) extra hashes.
 *
 * @param leaves at most `width` hashes of 32 bytes
 * @param width a power of two, at most 2^MAX_MERKLE_LEVELS
 * @param pad the value of a missing leaf @default {ZERO_HASH}
 * @example
 * ```ts
 * import { merkleRoot, nodeHash, ZERO_HASH } from "@shoal/protocol";
 * const a = new Uint8Array(32).fill(1);
 * merkleRoot([a], 2); // equals nodeHash(a, ZERO_HASH)
 * ```
 */
export function merkleRoot(
  leaves: readonly Uint8Array[],
  width: number,
  pad: Uint8Array = ZERO_HASH,
): Uint8Array {
  checkWidth(width, "width");
  checkHash(pad);
  if (leaves.length > width) {
    throw new RangeError(
      `Cannot build Merkle tree: ${leaves.length} leaves do not fit in ${width}`,
    );
  }
  for (const leaf of leaves) checkHash(leaf);
  const layer = layerOf(leaves.length);
  leaves.forEach((leaf, i) => layer.set(leaf, i * HASH_BYTES));
  return reduceLayer(
    layer,
    Math.log2(width),
    pad === ZERO_HASH ? padHash : padChain(pad),
  ).slice();
}

/**
 * merkleRoot over leaf hashes lying back to back in one buffer, padded with
 * zero leaves: no array of small hashes to build. It overwrites `layer`
 * (each parent takes its left child's place).
 *
 * @param layer at most `width` hashes of 32 bytes, back to back; overwritten
 * @param width a power of two, at most 2^MAX_MERKLE_LEVELS
 * @returns 32 bytes (a new array)
 * @example
 * ```ts
 * import { merkleRootInPlace } from "@shoal/protocol";
 * const leaves = new Uint8Array(3 * 32).fill(1); // three leaf hashes
 * merkleRootInPlace(leaves, 4); // equals merkleRoot of the three, width 4
 * ```
 */
export function merkleRootInPlace(
  layer: Uint8Array,
  width: number,
): Uint8Array {
  checkWidth(width, "width");
  if (
    layer.byteLength % HASH_BYTES !== 0 || layer.byteLength / HASH_BYTES > width
  ) {
    throw new RangeError(
      `Cannot build Merkle tree: ${layer.byteLength} bytes are not up to ${width} hashes`,
    );
  }
  return reduceLayer(layer, Math.log2(width), padHash).slice();
}

/** pad, nodeHash(pad, pad), and so on up: each level hashed once, when first asked. */
function padChain(pad: Uint8Array): (level: number) => Uint8Array {
  const pads = [pad];
  return (level) => {
    while (pads.length <= level) {
      const below = pads[pads.length - 1]!;
      pads.push(nodeHash(below, below));
    }
    return pads[level]!;
  };
}

/**
 * A piece hash from the piece's bytes: the root over its 16 KiB blocks,
 * padded with zero leaves to `width` (from `pieceLeafCount`). The leaf
 * hashes go back to back into one buffer and each inner node is hashed from
 * its children where they lie, so a 512 KiB piece costs 63 calls to the
 * hash and no other allocation than the result.
 *
 * @param bytes the piece: 1 to `width` × 16 KiB bytes
 * @param width leaves per piece, a power of two
 * @returns 32 bytes
 * @example
 * ```ts
 * import { pieceRoot } from "@shoal/protocol";
 * pieceRoot(new Uint8Array(20_000), 2).byteLength; // 32
 * ```
 */
export function pieceRoot(bytes: Uint8Array, width: number): Uint8Array {
  checkWidth(width, "width");
  if (bytes.byteLength < 1 || bytes.byteLength > width * BLOCK_BYTES) {
    throw new RangeError(
      `Cannot hash piece: ${bytes.byteLength} bytes is not from 1 to ${
        width * BLOCK_BYTES
      }`,
    );
  }
  const count = Math.ceil(bytes.byteLength / BLOCK_BYTES);
  const layer = layerOf(count);
  for (let i = 0; i < count; i++) {
    const at = i * BLOCK_BYTES;
    hashAt(bytes.subarray(at, at + BLOCK_BYTES), layer, i * HASH_BYTES);
  }
  return reduceLayer(layer, Math.log2(width), padHash).slice();
}

/**
 * How many leaves the subtree of one piece has. A file larger than a piece
 * has P / 16 KiB leaves per piece, the last piece padded with zero leaves. A
 * file of one piece or less has no piece layer in BEP 52: its only piece is
 * the whole tree, padded only up to the next power of two of its blocks, so
 * its piece hash is its pieces root.
 *
 * @param fileBytes file size, 1 to MAX_FILE_BYTES
 * @param pieceBytes piece length: a power of two, at least 16 KiB
 * @example
 * ```ts
 * import { pieceLeafCount } from "@shoal/protocol";
 * pieceLeafCount(100 * 1024, 32 * 1024); // 2
 * pieceLeafCount(40 * 1024, 128 * 1024); // 4 (3 blocks, one piece), not 8
 * ```
 */
export function pieceLeafCount(fileBytes: number, pieceBytes: number): number {
  if (
    !isPowerOfTwo(pieceBytes) || pieceBytes < BLOCK_BYTES ||
    pieceBytes / BLOCK_BYTES > MAX_WIDTH
  ) {
    throw new RangeError(
      `Cannot build Merkle tree: piece length ${pieceBytes} is not a power of two of at least ${BLOCK_BYTES}`,
    );
  }
  if (
    !Number.isSafeInteger(fileBytes) || fileBytes < 1 ||
    fileBytes > MAX_FILE_BYTES
  ) {
    throw new RangeError(
      `Cannot build Merkle tree: file size ${fileBytes} is not from 1 to ${MAX_FILE_BYTES}`,
    );
  }
  if (fileBytes > pieceBytes) return pieceBytes / BLOCK_BYTES;
  return nextPowerOfTwo(Math.ceil(fileBytes / BLOCK_BYTES));
}

/**
 * A piece hash: the root over its block hashes, padded with zero leaves to
 * `width` (from `pieceLeafCount`).
 *
 * @param blockHashes 1 to `width` leaf hashes
 * @param width leaves per piece, a power of two
 * @example
 * ```ts
 * import { blockHash, pieceHash } from "@shoal/protocol";
 * pieceHash([blockHash(new Uint8Array(100))], 2).byteLength; // 32
 * ```
 */
export function pieceHash(
  blockHashes: readonly Uint8Array[],
  width: number,
): Uint8Array {
  if (blockHashes.length < 1) {
    throw new RangeError("Cannot hash piece: it has no blocks");
  }
  return merkleRoot(blockHashes, width);
}

/**
 * A file's `pieces root` from its piece layer: the piece hashes padded to a
 * power of two with the root of an all-zero piece (padHash), not with zero
 * bytes. It equals the root over all blocks (BEP 52's tree), so the whole
 * file is checked without reading it again.
 *
 * @param pieceHashes the piece layer: one or more hashes
 * @param leavesPerPiece `pieceLeafCount` for the file and piece length
 * @example
 * ```ts
 * import { piecesRootFromLayer } from "@shoal/protocol";
 * const piece = new Uint8Array(32).fill(7);
 * piecesRootFromLayer([piece], 2); // the piece itself: one piece is the tree
 * ```
 */
export function piecesRootFromLayer(
  pieceHashes: readonly Uint8Array[],
  leavesPerPiece: number,
): Uint8Array {
  checkWidth(leavesPerPiece, "leaves per piece");
  if (pieceHashes.length < 1) {
    throw new RangeError("Cannot build Merkle tree: the piece layer is empty");
  }
  const width = nextPowerOfTwo(pieceHashes.length);
  if (width * leavesPerPiece > MAX_WIDTH) {
    throw new RangeError(
      `Cannot build Merkle tree: ${pieceHashes.length} pieces exceed 2^${MAX_MERKLE_LEVELS} leaves`,
    );
  }
  for (const hash of pieceHashes) checkHash(hash);
  const layer = layerOf(pieceHashes.length);
  pieceHashes.forEach((hash, i) => layer.set(hash, i * HASH_BYTES));
  const below = Math.log2(leavesPerPiece);
  return reduceLayer(
    layer,
    Math.log2(width),
    (level) => padHash(below + level),
  ).slice();
}

/**
 * Hashes one piece from its bytes fed in order, in slices of any size. It
 * holds one partial block and one hash per tree level, never the piece.
 * `digest()` returns the piece hash and makes it ready for the next piece.
 *
 * @example
 * ```ts
 * import { PieceHasher } from "@shoal/protocol";
 * const hasher = new PieceHasher(2); // a 32 KiB piece
 * hasher.update(new Uint8Array(20000));
 * hasher.update(new Uint8Array(12768));
 * hasher.digest().byteLength; // 32
 * ```
 */
export class PieceHasher {
  readonly #width: number;
  readonly #block = new Uint8Array(BLOCK_BYTES);
  #blockFill = 0;
  #blocks = 0;
  /**
   * Roots of complete subtrees, left to right, back to back (so two
   * neighbours are the 64 bytes of their parent), with room for a pad after.
   */
  readonly #stack: Uint8Array;
  readonly #stackView: DataView;
  /** Each subtree's level, strictly decreasing. */
  readonly #levels: number[] = [];

  /** @param width leaves per piece (`pieceLeafCount`), a power of two */
  constructor(width: number) {
    checkWidth(width, "width");
    this.#width = width;
    // At most log2(width) + 1 subtrees at once, and a pad.
    this.#stack = new Uint8Array((Math.log2(width) + 2) * HASH_BYTES);
    this.#stackView = new DataView(this.#stack.buffer);
  }

  /** Bytes fed since the last digest. */
  get bytes(): number {
    return (this.#blocks * BLOCK_BYTES) + this.#blockFill;
  }

  /** Feeds the next bytes of the piece; throws RangeError past its size. */
  update(bytes: Uint8Array): void {
    if (this.bytes + bytes.byteLength > this.#width * BLOCK_BYTES) {
      throw new RangeError(
        `Cannot hash piece: more than ${this.#width * BLOCK_BYTES} bytes`,
      );
    }
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(
        BLOCK_BYTES - this.#blockFill,
        bytes.byteLength - at,
      );
      if (take === BLOCK_BYTES) {
        // A whole block in place: no copy.
        this.#pushLeaf(bytes.subarray(at, at + take));
      } else {
        this.#block.set(bytes.subarray(at, at + take), this.#blockFill);
        this.#blockFill += take;
        if (this.#blockFill === BLOCK_BYTES) this.#flushBlock();
      }
      at += take;
    }
  }

  /** The piece hash; zero leaves pad it to the width. Resets the hasher. */
  digest(): Uint8Array {
    if (this.#blockFill > 0) this.#flushBlock();
    if (this.#blocks === 0) {
      throw new RangeError("Cannot hash piece: it has no bytes");
    }
    const top = Math.log2(this.#width);
    const levels = this.#levels;
    // Close the right edge: pad the last subtree until it pairs with its
    // left neighbour, up to the piece's root.
    while (levels.length > 1 || levels[0]! < top) {
      const last = levels.length - 1;
      const at = last * HASH_BYTES;
      this.#stack.set(padHash(levels[last]!), at + HASH_BYTES);
      sha256Pair(this.#stackView, at, at);
      levels[last]!++;
      this.#merge();
    }
    const root = this.#stack.slice(0, HASH_BYTES);
    levels.length = 0;
    this.#blocks = 0;
    return root;
  }

  #flushBlock(): void {
    this.#pushLeaf(this.#block.subarray(0, this.#blockFill));
    this.#blockFill = 0;
  }

  /** Hashes a block onto the stack, merging it with left neighbours of its level. */
  #pushLeaf(block: Uint8Array): void {
    hashAt(block, this.#stack, this.#levels.length * HASH_BYTES);
    this.#levels.push(0);
    this.#blocks++;
    this.#merge();
  }

  /** While the last two subtrees have one level, replaces them with their parent. */
  #merge(): void {
    const levels = this.#levels;
    while (
      levels.length > 1 &&
      levels[levels.length - 1] === levels[levels.length - 2]
    ) {
      levels.pop();
      const at = (levels.length - 1) * HASH_BYTES;
      sha256Pair(this.#stackView, at, at);
      levels[levels.length - 1]!++;
    }
  }
}

/**
 * A whole file's tree, from bytes in memory: its `pieces root` and piece
 * hashes, or null for an empty file (BEP 52: no pieces root). For tests and
 * small files; streams go through PieceHasher or ManifestBuilder.
 *
 * @param bytes the file
 * @param pieceBytes piece length: a power of two, at least 16 KiB
 * @example
 * ```ts
 * import { fileMerkle } from "@shoal/protocol";
 * fileMerkle(new Uint8Array(), 16384); // null
 * fileMerkle(new Uint8Array(5), 16384)!.pieceHashes.length; // 1
 * ```
 */
export function fileMerkle(
  bytes: Uint8Array,
  pieceBytes: number,
): { piecesRoot: Uint8Array; pieceHashes: Uint8Array[] } | null {
  if (bytes.byteLength === 0) return null;
  const width = pieceLeafCount(bytes.byteLength, pieceBytes);
  const pieceHashes: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += pieceBytes) {
    pieceHashes.push(pieceRoot(bytes.subarray(at, at + pieceBytes), width));
  }
  return { piecesRoot: piecesRootFromLayer(pieceHashes, width), pieceHashes };
}
