/**
 * BEP 52 Merkle trees read literally, as a reference for protocol/merkle.ts
 * and the manifest: WebCrypto for every hash (not node:crypto, which the
 * code under test uses), recursion over the padded leaves, no buffers
 * shared or reused.
 *
 * @module
 */
import { BLOCK_BYTES } from "@shoal/protocol";

async function sha(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * The padded leaves of a file: SHA-256 of each 16 KiB block (the last one as
 * it is), then 32 zero bytes up to `width` (default: the next power of two).
 */
export async function refLeaves(
  data: Uint8Array,
  width?: number,
): Promise<Uint8Array[]> {
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
export async function refNode(
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

/** A file's pieces root and piece layer (one hash per piece). */
export async function reference(
  data: Uint8Array,
  pieceBytes: number,
): Promise<{ root: Uint8Array; layer: Uint8Array[] }> {
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
