import assert from "node:assert/strict";
import {
  folderChunkLength,
  folderChunkMatches,
  folderFileAt,
  type FolderManifest,
} from "@shoal/protocol";
import { fileBytes, hashedFile } from "../../_helpers/folder_fixtures.ts";

const PIECE = 16_384;

/** A file of `length` bytes, its hashes, and its bytes. */
function built(path: string, length: number, seed: number) {
  return {
    file: hashedFile(path, length, seed, PIECE),
    bytes: fileBytes(length, seed),
  };
}

/** An empty file first, a 3-piece file with a short last piece, another empty, a one-piece file of one block. */
function album() {
  const parts = [
    built("a/empty", 0, 1),
    built("a/one.bin", 2 * PIECE + 100, 2),
    built("b/empty", 0, 3),
    built("c.txt", 700, 4),
  ];
  let chunk = 0;
  for (const { file } of parts) {
    file.firstChunk = chunk;
    chunk += file.chunkCount;
  }
  const folder: FolderManifest = {
    name: "album",
    chunkSize: PIECE,
    files: parts.map(({ file }) => file),
    size: parts.reduce((sum, { file }) => sum + file.length, 0),
    chunkCount: chunk,
  };
  return { folder, bytes: parts.map((part) => part.bytes) };
}

Deno.test("folderFileAt() finds the file holding each piece, empty files holding none", () => {
  const { folder } = album();
  assert.equal(folder.chunkCount, 4);
  assert.deepEqual([0, 1, 2, 3].map((i) => folderFileAt(folder, i)), [
    1,
    1,
    1,
    3,
  ]);
  assert.equal(folderFileAt(folder, 4), -1);
  assert.equal(folderFileAt(folder, -1), -1);
});

Deno.test("folderChunkLength() gives a file's last piece its own length", () => {
  const { folder } = album();
  assert.deepEqual([0, 1, 2, 3].map((i) => folderChunkLength(folder, i)), [
    PIECE,
    PIECE,
    100,
    700,
  ]);
  assert.throws(() => folderChunkLength(folder, 4), RangeError);
});

Deno.test("folderChunkMatches() checks each piece against its own file's layer, padded to that file's width", () => {
  const { folder, bytes } = album();
  const one = bytes[1]!;
  const pieces = [
    one.subarray(0, PIECE),
    one.subarray(PIECE, 2 * PIECE),
    one.subarray(2 * PIECE),
    bytes[3]!,
  ];
  pieces.forEach((piece, i) => {
    assert.ok(folderChunkMatches(folder, i, piece), `piece ${i}`);
  });
  // Other bytes, a flipped byte, a wrong length, no such piece.
  assert.ok(!folderChunkMatches(folder, 0, new Uint8Array(PIECE).fill(9)));
  const flipped = pieces[3]!.slice();
  flipped[5]! ^= 1;
  assert.ok(!folderChunkMatches(folder, 3, flipped));
  assert.ok(!folderChunkMatches(folder, 2, pieces[2]!.subarray(1)));
  assert.ok(!folderChunkMatches(folder, 4, pieces[3]!));
});
