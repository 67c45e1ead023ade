/**
 * BEP 52 hash requests against a literal reference tree
 * (tests/_helpers/bep52_reference.ts: WebCrypto, recursion over the padded
 * leaves): every well-formed request on small files of several shapes is
 * answered with exactly the reference's nodes and uncles, and the answer
 * verifies against the pieces root; a changed hash does not. The
 * libtorrent cross-check is tests/integration/bt_hashes_libtorrent.test.ts.
 */
import assert from "node:assert/strict";
import {
  answerHashRequest,
  blockHashesOf,
  type BtHashRequest,
  fileMerkle,
  FileMerkleTree,
  hashRequestPiece,
  hashRequestProblem,
  type MerkleShape,
  pieceLayerRequests,
  treeLayersOf,
  uncleCount,
  verifyHashes,
} from "@shoal/protocol";
import { refLeaves, refNode } from "../../_helpers/bep52_reference.ts";
import { Rng } from "../../../bench/_protocol_inputs.ts";

const KIB = 1024;

interface Case {
  name: string;
  fileBytes: number;
  pieceBytes: number;
}

const CASES: Case[] = [
  {
    name: "5 pieces of 32 KiB",
    fileBytes: 5 * 32 * KIB - 1000,
    pieceBytes: 32 * KIB,
  },
  {
    name: "3 pieces of 512 KiB",
    fileBytes: 3 * 512 * KIB - 5,
    pieceBytes: 512 * KIB,
  },
  {
    name: "one piece of 4 blocks",
    fileBytes: 3 * 16 * KIB + 7,
    pieceBytes: 64 * KIB,
  },
  { name: "7 pieces of 16 KiB", fileBytes: 7 * 16 * KIB, pieceBytes: 16 * KIB },
  {
    name: "a last piece of 2 of its 4 blocks",
    fileBytes: 2 * 64 * KIB + 20 * KIB,
    pieceBytes: 64 * KIB,
  },
];

function concatHashes(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((hash, i) => out.set(hash, i * 32));
  return out;
}

async function referenceTree(data: Uint8Array) {
  const leaves = await refLeaves(data);
  const cache = new Map<string, Uint8Array>();
  return async (layer: number, index: number) => {
    const key = `${layer}/${index}`;
    let node = cache.get(key);
    if (!node) {
      node = await refNode(leaves, layer, index);
      cache.set(key, node);
    }
    return node;
  };
}

/** Every well-formed request for a file of this shape. */
function allRequests(shape: MerkleShape, root: Uint8Array): BtHashRequest[] {
  const { treeLayers } = treeLayersOf(shape);
  const out: BtHashRequest[] = [];
  for (let base = 0; base < treeLayers; base++) {
    const width = 2 ** (treeLayers - base);
    for (let length = 2; length <= width; length *= 2) {
      for (let index = 0; index < width; index += length) {
        for (let proof = 0; proof < treeLayers - base; proof++) {
          const request = {
            piecesRoot: root,
            baseLayer: base,
            index,
            length,
            proofLayers: proof,
          };
          if (hashRequestProblem(request, shape) === null) out.push(request);
        }
      }
    }
  }
  return out;
}

for (const { name, fileBytes, pieceBytes } of CASES) {
  Deno.test(`answerHashRequest() matches the reference tree: ${name}`, async () => {
    const data = new Rng(fileBytes).bytes(fileBytes);
    const shape = { fileBytes, pieceBytes };
    const built = fileMerkle(data, pieceBytes)!;
    const tree = FileMerkleTree.fromPieceLayer(
      concatHashes(built.pieceHashes),
      shape,
    );
    const node = await referenceTree(data);
    const { treeLayers, pieceLayer } = tree.layers;
    assert.deepEqual(tree.root, await node(treeLayers, 0));
    const requests = allRequests(shape, tree.root);
    assert.ok(requests.length > 3, `${requests.length} requests`);
    let verified = 0;
    for (const request of requests) {
      const label = JSON.stringify({ ...request, piecesRoot: undefined });
      const piece = hashRequestPiece(request, shape);
      const blocks = piece === null ? undefined : blockHashesOf(
        data.subarray(piece * pieceBytes, (piece + 1) * pieceBytes),
      );
      const pastEnd = request.index * 2 ** request.baseLayer * 16 * KIB >=
        tree.layers.pieceCount * pieceBytes;
      assert.equal(
        piece === null,
        request.baseLayer >= pieceLayer || pastEnd,
        label,
      );
      const answer = answerHashRequest(request, tree, blocks);
      assert.ok(answer, label);
      const expected: Uint8Array[] = [];
      for (let i = 0; i < request.length; i++) {
        expected.push(await node(request.baseLayer, request.index + i));
      }
      const top = request.baseLayer + request.proofLayers;
      for (
        let layer = request.baseLayer + Math.log2(request.length);
        layer <= top;
        layer++
      ) {
        const ancestor = request.index >> (layer - request.baseLayer);
        expected.push(await node(layer, ancestor ^ 1));
      }
      assert.equal(expected.length, request.length + uncleCount(request));
      assert.deepEqual(answer, concatHashes(expected), label);
      const message = { ...request, hashes: answer };
      const reachesRoot = request.baseLayer +
          Math.max(Math.log2(request.length), request.proofLayers + 1) ===
        treeLayers;
      assert.equal(verifyHashes(message, shape, tree.root), reachesRoot, label);
      if (reachesRoot) {
        verified++;
        // Any one hash changed, the proof fails.
        for (let h = 0; h < answer.byteLength / 32; h++) {
          const bad = answer.slice();
          bad[h * 32 + 5]! ^= 1;
          assert.equal(
            verifyHashes({ ...request, hashes: bad }, shape, tree.root),
            false,
            `${label} with hash ${h} changed`,
          );
        }
      }
    }
    assert.ok(verified > 0);
  });
}

Deno.test("answerHashRequest() below the piece layer refuses block hashes of other bytes", () => {
  const fileBytes = 5 * 32 * KIB;
  const shape = { fileBytes, pieceBytes: 32 * KIB };
  const data = new Rng(3).bytes(fileBytes);
  const built = fileMerkle(data, shape.pieceBytes)!;
  const tree = FileMerkleTree.fromPieceLayer(
    concatHashes(built.pieceHashes),
    shape,
  );
  const request = {
    piecesRoot: tree.root,
    baseLayer: 0,
    index: 4,
    length: 2,
    proofLayers: 3,
  };
  assert.equal(hashRequestPiece(request, shape), 2);
  const changed = data.slice(2 * 32 * KIB, 3 * 32 * KIB);
  changed[100]! ^= 1;
  assert.equal(answerHashRequest(request, tree, blockHashesOf(changed)), null);
  assert.equal(answerHashRequest(request, tree), null);
});

Deno.test("hashRequestProblem() refuses what libtorrent's validate_hash_request refuses, and misaligned ranges", () => {
  const shape = { fileBytes: 3 * 512 * KIB, pieceBytes: 512 * KIB };
  // 96 blocks: 128 leaves, root at layer 7, pieces at layer 5.
  const ok = {
    piecesRoot: new Uint8Array(32),
    baseLayer: 5,
    index: 0,
    length: 4,
    proofLayers: 1,
  };
  assert.equal(hashRequestProblem(ok, shape), null);
  const bad: [string, Partial<BtHashRequest>][] = [
    ["base at the root", { baseLayer: 7 }],
    ["length 1", { length: 1 }],
    ["length 3", { length: 3 }],
    ["length 1024", { baseLayer: 0, length: 1024 }],
    ["index not a multiple of length", { index: 2 }],
    ["past the layer", { index: 4 }],
    ["proofs up to the root", { proofLayers: 2 }],
    ["leaves over two pieces", { baseLayer: 0, length: 64, proofLayers: 6 }],
  ];
  for (const [name, change] of bad) {
    assert.notEqual(
      hashRequestProblem({ ...ok, ...change }, shape),
      null,
      name,
    );
  }
});

Deno.test("pieceLayerRequests() asks for the piece layer as libtorrent does, and the answers rebuild it", () => {
  const pieceBytes = 16 * KIB;
  const fileBytes = 1300 * pieceBytes - 3; // 1300 pieces: 512 + 512 + 276
  const shape = { fileBytes, pieceBytes };
  const layer = new Rng(5).bytes(1300 * 32);
  const tree = FileMerkleTree.fromPieceLayer(layer, shape);
  const requests = pieceLayerRequests(shape, tree.root);
  assert.deepEqual(
    requests.map((r) => [r.baseLayer, r.index, r.length, r.proofLayers]),
    [[0, 0, 512, 10], [0, 512, 512, 10], [0, 1024, 512, 10]],
  );
  const rebuilt: Uint8Array[] = [];
  for (const request of requests) {
    const hashes = answerHashRequest(request, tree)!;
    assert.ok(verifyHashes({ ...request, hashes }, shape, tree.root));
    const kept = Math.min(request.length, 1300 - request.index);
    rebuilt.push(hashes.subarray(0, kept * 32));
  }
  const joined = new Uint8Array(1300 * 32);
  let at = 0;
  for (const part of rebuilt) {
    joined.set(part, at);
    at += part.byteLength;
  }
  assert.deepEqual(joined, layer);
  assert.deepEqual(
    pieceLayerRequests({ fileBytes: 100, pieceBytes }, tree.root),
    [],
  );
});
