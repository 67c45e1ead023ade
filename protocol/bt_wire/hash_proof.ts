/**
 * BEP 52 hash requests as Merkle math: which hashes answer a request (a
 * range of one layer of a file's tree, then the uncle hashes up towards the
 * root), and whether a `hashes` message proves its range against a known
 * `pieces root`. Layers count from the leaves (layer 0: one hash per 16 KiB
 * block) to the root (layer `treeLayers`); the piece layer is
 * `pieceLayer` (log2 of the leaves per piece). As BEP 52 and libtorrent
 * 2.0 have it, a `hashes` message holds the `length` base hashes, then one
 * uncle for each layer from `baseLayer + log2(length)` to
 * `baseLayer + proofLayers`: the first `log2(length) - 1` proof layers are
 * omitted, since the base hashes give them. See docs/PROTOCOL.md,
 * "BitTorrent".
 *
 * @module
 */
import { BLOCK_BYTES, HASH_BYTES } from "../constants.ts";
import { bytesEqual } from "../hex.ts";
import {
  blockHash,
  isPowerOfTwo,
  nodeHash,
  padHash,
  pieceLeafCount,
} from "../merkle.ts";
import { MAX_BT_HASHES_PER_REQUEST } from "./constants.ts";
import type { BtHashRequest } from "./messages.ts";

/** The sizes a file's tree follows from. */
export interface MerkleShape {
  /** File size in bytes (at least 1). */
  fileBytes: number;
  /** Piece length: a power of two, at least 16 KiB. */
  pieceBytes: number;
}

/** The layers of a file's tree. */
export interface TreeLayers {
  /** Layers above the leaves: the root's layer (0 for a one-block file). */
  treeLayers: number;
  /** The piece layer (equal to treeLayers for a file of one piece). */
  pieceLayer: number;
  /** Number of pieces. */
  pieceCount: number;
}

function log2(value: number): number {
  return Math.round(Math.log2(value));
}

/**
 * The layers of a file's tree.
 *
 * @param shape file size and piece length
 * @returns the root's layer, the piece layer and the piece count
 * @throws {RangeError} for a size or piece length BEP 52 cannot have
 * @example
 * ```ts
 * import { treeLayersOf } from "@shoal/protocol";
 * treeLayersOf({ fileBytes: 3 * 524288, pieceBytes: 524288 });
 * // { treeLayers: 7, pieceLayer: 5, pieceCount: 3 }
 * ```
 */
export function treeLayersOf(shape: MerkleShape): TreeLayers {
  const perPiece = pieceLeafCount(shape.fileBytes, shape.pieceBytes);
  const pieceCount = Math.ceil(shape.fileBytes / shape.pieceBytes);
  const pieceLayer = log2(perPiece);
  return {
    treeLayers: pieceLayer + Math.ceil(Math.log2(pieceCount)),
    pieceLayer,
    pieceCount,
  };
}

/**
 * Why a hash request cannot be answered for this file, or null when it is
 * well formed: base layer below the root, `length` a power of two from 2 to
 * {@linkcode MAX_BT_HASHES_PER_REQUEST}, `index` a multiple of it, the range
 * inside its layer, proofs below the root (libtorrent's
 * `validate_hash_request`, plus BEP 52's alignment). A range below the
 * piece layer must lie inside one piece.
 *
 * @param request the request (its pieces root is not checked here)
 * @param shape file size and piece length
 * @returns a short reason, or null
 * @example
 * ```ts
 * import { hashRequestProblem } from "@shoal/protocol";
 * const shape = { fileBytes: 3 * 524288, pieceBytes: 524288 };
 * hashRequestProblem({ piecesRoot: new Uint8Array(32), baseLayer: 5, index: 0, length: 4, proofLayers: 1 }, shape); // null
 * ```
 */
export function hashRequestProblem(
  request: BtHashRequest,
  shape: MerkleShape,
): string | null {
  const { treeLayers, pieceLayer } = treeLayersOf(shape);
  const { baseLayer, index, length, proofLayers } = request;
  if (baseLayer >= treeLayers) {
    return `base layer ${baseLayer} is not below the root (layer ${treeLayers})`;
  }
  if (
    !isPowerOfTwo(length) || length < 2 || length > MAX_BT_HASHES_PER_REQUEST
  ) {
    return `length ${length} is not a power of two from 2 to ${MAX_BT_HASHES_PER_REQUEST}`;
  }
  if (index % length !== 0) {
    return `index ${index} is not a multiple of length ${length}`;
  }
  const layerSize = 2 ** (treeLayers - baseLayer);
  if (index + length > layerSize) {
    return `hashes ${index} to ${
      index + length - 1
    } are past layer ${baseLayer}'s ${layerSize}`;
  }
  if (proofLayers >= treeLayers - baseLayer) {
    return `${proofLayers} proof layers reach the root`;
  }
  if (baseLayer < pieceLayer && baseLayer + log2(length) > pieceLayer) {
    return `hashes ${index} to ${
      index + length - 1
    } of layer ${baseLayer} span more than one piece`;
  }
  return null;
}

/** Uncle hashes a `hashes` message carries for this request. */
export function uncleCount(request: BtHashRequest): number {
  return Math.max(0, request.proofLayers - log2(request.length) + 1);
}

/** The piece a range below the piece layer lies in (it may be past the file). */
function pieceOfRange(request: BtHashRequest, pieceLayer: number): number {
  return Math.floor(request.index / 2 ** (pieceLayer - request.baseLayer));
}

/**
 * The piece whose block hashes are needed to answer a request below the
 * piece layer, or null when none are: the piece layer answers it, or the
 * range lies past the end of the file (all zero leaves).
 *
 * @param request a request that passed {@linkcode hashRequestProblem}
 * @param shape file size and piece length
 * @returns a piece index, or null
 */
export function hashRequestPiece(
  request: BtHashRequest,
  shape: MerkleShape,
): number | null {
  const { pieceLayer, pieceCount } = treeLayersOf(shape);
  if (request.baseLayer >= pieceLayer) return null;
  const piece = pieceOfRange(request, pieceLayer);
  return piece < pieceCount ? piece : null;
}

/**
 * A file's tree from its piece layer up to its root, computed once and kept
 * to answer hash requests (about twice the piece layer's size). A node past
 * the end of the file is the root of an all-zero subtree.
 *
 * @example
 * ```ts
 * import { FileMerkleTree } from "@shoal/protocol";
 * // const tree = FileMerkleTree.fromPieceLayer(manifest.chunkHashes, { fileBytes: manifest.size, pieceBytes: manifest.chunkSize });
 * // bytesEqual(tree.root, manifest.piecesRoot)
 * ```
 */
export class FileMerkleTree {
  /** The layers of this file's tree. */
  readonly layers: TreeLayers;
  /** The file size and piece length. */
  readonly shape: MerkleShape;
  /** Real nodes of each layer from the piece layer up, back to back. */
  readonly #upper: Uint8Array[];

  private constructor(shape: MerkleShape, upper: Uint8Array[]) {
    this.shape = shape;
    this.layers = treeLayersOf(shape);
    this.#upper = upper;
  }

  /**
   * Builds the tree above the piece layer.
   *
   * @param pieceHashes one hash per piece, back to back (a one-piece file: its pieces root)
   * @param shape file size and piece length
   * @returns the tree
   * @throws {RangeError} when the layer does not have one hash per piece
   */
  static fromPieceLayer(
    pieceHashes: Uint8Array,
    shape: MerkleShape,
  ): FileMerkleTree {
    const { treeLayers, pieceLayer, pieceCount } = treeLayersOf(shape);
    if (pieceHashes.byteLength !== pieceCount * HASH_BYTES) {
      throw new RangeError(
        `Cannot build Merkle tree: ${pieceHashes.byteLength} bytes of piece hashes for ${pieceCount} pieces`,
      );
    }
    const upper = [pieceHashes];
    for (let layer = pieceLayer; layer < treeLayers; layer++) {
      const below = upper[upper.length - 1]!;
      const count = below.byteLength / HASH_BYTES;
      const next = new Uint8Array(Math.ceil(count / 2) * HASH_BYTES);
      for (let i = 0; i < count; i += 2) {
        const left = below.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
        const right = i + 1 < count
          ? below.subarray((i + 1) * HASH_BYTES, (i + 2) * HASH_BYTES)
          : padHash(layer);
        next.set(nodeHash(left, right), (i / 2) * HASH_BYTES);
      }
      upper.push(next);
    }
    return new FileMerkleTree(shape, upper);
  }

  /** The pieces root. */
  get root(): Uint8Array {
    return this.node(this.layers.treeLayers, 0);
  }

  /**
   * Node `index` of `layer`, for a layer at or above the piece layer.
   *
   * @throws {RangeError} below the piece layer or past the layer's width
   */
  node(layer: number, index: number): Uint8Array {
    const { treeLayers, pieceLayer } = this.layers;
    if (layer < pieceLayer || layer > treeLayers) {
      throw new RangeError(
        `Cannot read Merkle node: layer ${layer} is not from ${pieceLayer} to ${treeLayers}`,
      );
    }
    if (index < 0 || index >= 2 ** (treeLayers - layer)) {
      throw new RangeError(
        `Cannot read Merkle node: index ${index} is outside layer ${layer}`,
      );
    }
    const nodes = this.#upper[layer - pieceLayer]!;
    return index * HASH_BYTES < nodes.byteLength
      ? nodes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)
      : padHash(layer);
  }
}

/**
 * The subtree of one piece from its block (leaf) hashes: layer k holds
 * 2^(pieceLayer - k) nodes; zero leaves pad it.
 */
function pieceSubtree(leaves: Uint8Array, pieceLayer: number): Uint8Array[] {
  const width = 2 ** pieceLayer;
  const layers: Uint8Array[] = [];
  let layer = new Uint8Array(width * HASH_BYTES);
  layer.set(leaves);
  layers.push(layer);
  for (let k = 1; k <= pieceLayer; k++) {
    const count = layer.byteLength / HASH_BYTES / 2;
    const next = new Uint8Array(count * HASH_BYTES);
    for (let i = 0; i < count; i++) {
      next.set(
        nodeHash(
          layer.subarray(2 * i * HASH_BYTES, (2 * i + 1) * HASH_BYTES),
          layer.subarray((2 * i + 1) * HASH_BYTES, (2 * i + 2) * HASH_BYTES),
        ),
        i * HASH_BYTES,
      );
    }
    layers.push(next);
    layer = next;
  }
  return layers;
}

/**
 * The `hashes` of the answer to a hash request: the base-layer range, then
 * the uncles. A range at or above the piece layer comes from `tree`; one
 * below it needs the block hashes of the piece {@linkcode hashRequestPiece}
 * names (read from disk by the caller), which must hash to that piece's
 * hash.
 *
 * @param request a request that passed {@linkcode hashRequestProblem}
 * @param tree the file's tree above the piece layer
 * @param blockHashes below the piece layer: the piece's leaf hashes, one per
 *   16 KiB block it has, back to back
 * @returns the hashes, back to back; null when `blockHashes` are missing or
 *   do not match the piece hash (the file changed)
 * @throws {RangeError} for a request that did not pass hashRequestProblem
 * @example
 * ```ts
 * import { answerHashRequest, FileMerkleTree } from "@shoal/protocol";
 * // answerHashRequest(request, tree) -> 32 * (length + uncles) bytes
 * ```
 */
export function answerHashRequest(
  request: BtHashRequest,
  tree: FileMerkleTree,
  blockHashes?: Uint8Array,
): Uint8Array | null {
  const problem = hashRequestProblem(request, tree.shape);
  if (problem) {
    throw new RangeError(`Cannot answer hash request: ${problem}`);
  }
  const { pieceLayer, pieceCount } = tree.layers;
  const { baseLayer, index, length, proofLayers } = request;
  let subtree: Uint8Array[] | null = null;
  const piece = pieceOfRange(request, pieceLayer);
  if (baseLayer < pieceLayer && piece < pieceCount) {
    const perPiece = 2 ** pieceLayer;
    if (
      !blockHashes || blockHashes.byteLength % HASH_BYTES !== 0 ||
      blockHashes.byteLength === 0 ||
      blockHashes.byteLength > perPiece * HASH_BYTES
    ) return null;
    subtree = pieceSubtree(blockHashes, pieceLayer);
    if (!bytesEqual(subtree[pieceLayer]!, tree.node(pieceLayer, piece))) {
      return null;
    }
  }
  const node = (layer: number, at: number): Uint8Array => {
    if (layer >= pieceLayer) return tree.node(layer, at);
    // Past the last piece every leaf is zero.
    if (!subtree) return padHash(layer);
    const local = at - piece * 2 ** (pieceLayer - layer);
    return subtree[layer]!.subarray(
      local * HASH_BYTES,
      (local + 1) * HASH_BYTES,
    );
  };
  const uncles = uncleCount(request);
  const out = new Uint8Array((length + uncles) * HASH_BYTES);
  for (let i = 0; i < length; i++) {
    out.set(node(baseLayer, index + i), i * HASH_BYTES);
  }
  let at = length;
  for (
    let layer = baseLayer + log2(length);
    layer <= baseLayer + proofLayers;
    layer++
  ) {
    const ancestor = Math.floor(index / 2 ** (layer - baseLayer));
    out.set(node(layer, ancestor ^ 1), at++ * HASH_BYTES);
  }
  return out;
}

/**
 * Whether a `hashes` message proves its base-layer range against the
 * file's `pieces root`: the right number of hashes, and the range's root
 * combined with each uncle, left or right by position, gives the pieces
 * root. A proof that stops short of the root is not accepted.
 *
 * @param message the request fields and the hashes received
 * @param shape file size and piece length
 * @param piecesRoot the root the file's infohash vouches for
 * @returns true when the hashes are proven
 * @example
 * ```ts
 * import { verifyHashes } from "@shoal/protocol";
 * // if (!verifyHashes(message, { fileBytes, pieceBytes }, piecesRoot)) dropPeer();
 * ```
 */
export function verifyHashes(
  message: BtHashRequest & { hashes: Uint8Array },
  shape: MerkleShape,
  piecesRoot: Uint8Array,
): boolean {
  if (hashRequestProblem(message, shape) !== null) return false;
  const { treeLayers } = treeLayersOf(shape);
  const { baseLayer, index, length, hashes } = message;
  const uncles = uncleCount(message);
  if (hashes.byteLength !== (length + uncles) * HASH_BYTES) return false;
  if (baseLayer + log2(length) + uncles !== treeLayers) return false;
  let layer: Uint8Array[] = [];
  for (let i = 0; i < length; i++) {
    layer.push(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  }
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) {
      next.push(nodeHash(layer[i]!, layer[i + 1]!));
    }
    layer = next;
  }
  let node = layer[0]!;
  for (let u = 0; u < uncles; u++) {
    const uncle = hashes.subarray(
      (length + u) * HASH_BYTES,
      (length + u + 1) * HASH_BYTES,
    );
    const ancestor = Math.floor(index / 2 ** (log2(length) + u));
    node = ancestor % 2 === 0 ? nodeHash(node, uncle) : nodeHash(uncle, node);
  }
  return bytesEqual(node, piecesRoot);
}

/**
 * The hash requests that fetch a file's whole piece layer, each proven
 * against the pieces root: ranges of {@linkcode MAX_BT_HASHES_PER_REQUEST}
 * pieces (the last one the next power of two over what is left), as
 * libtorrent asks for them. None for a file of one piece, whose piece hash
 * is its pieces root.
 *
 * @param shape file size and piece length
 * @param piecesRoot the file's pieces root
 * @returns the requests, in order
 * @example
 * ```ts
 * import { pieceLayerRequests } from "@shoal/protocol";
 * pieceLayerRequests({ fileBytes: 3 * 524288, pieceBytes: 524288 }, new Uint8Array(32));
 * // [{ baseLayer: 5, index: 0, length: 4, proofLayers: 1, piecesRoot }]
 * ```
 */
export function pieceLayerRequests(
  shape: MerkleShape,
  piecesRoot: Uint8Array,
): BtHashRequest[] {
  const { treeLayers, pieceLayer, pieceCount } = treeLayersOf(shape);
  if (pieceCount < 2) return [];
  const requests: BtHashRequest[] = [];
  for (let index = 0; index < pieceCount; index += MAX_BT_HASHES_PER_REQUEST) {
    const left = pieceCount - index;
    requests.push({
      piecesRoot,
      baseLayer: pieceLayer,
      index,
      length: Math.min(
        MAX_BT_HASHES_PER_REQUEST,
        2 ** Math.ceil(Math.log2(left)),
      ),
      proofLayers: treeLayers - pieceLayer - 1,
    });
  }
  return requests;
}

/**
 * The leaf hashes of one piece's bytes: SHA-256 of each 16 KiB block, the
 * last one as it is (BEP 52 hashes a short last block unpadded).
 *
 * @param bytes the piece
 * @returns the hashes, back to back
 */
export function blockHashesOf(bytes: Uint8Array): Uint8Array {
  const count = Math.ceil(bytes.byteLength / BLOCK_BYTES);
  const out = new Uint8Array(count * HASH_BYTES);
  for (let i = 0; i < count; i++) {
    out.set(
      blockHash(bytes.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES)),
      i * HASH_BYTES,
    );
  }
  return out;
}
