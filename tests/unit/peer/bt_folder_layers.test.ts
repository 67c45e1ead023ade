import assert from "node:assert/strict";
import {
  answerHashRequest,
  bytesEqual,
  encodeFolderManifest,
  FileMerkleTree,
  findDictValueSpan,
  type FolderManifest,
  ProtocolError,
} from "@shoal/protocol";
import { FolderLayerAssembly } from "../../../peer/download/bt_folder_layers.ts";
import { folderOf, hashedFile } from "../../_helpers/folder_fixtures.ts";

const PIECE = 16_384;

/** Two files of several pieces, one of one piece, an empty one. */
function album(): {
  folder: FolderManifest;
  bytes: Uint8Array;
  info: Uint8Array;
} {
  const folder = folderOf([
    hashedFile("a/long.bin", 600 * PIECE + 3, 1),
    hashedFile("a/empty", 0, 2),
    hashedFile("b.bin", 3 * PIECE, 3),
    hashedFile("c.txt", 100, 4),
  ]);
  const bytes = encodeFolderManifest(folder);
  const span = findDictValueSpan(bytes, "info")!;
  return { folder, bytes, info: bytes.slice(span.start, span.end) };
}

Deno.test("FolderLayerAssembly fetches each multi-piece file's layer by its own root and puts the manifest together byte for byte", () => {
  const { folder, bytes, info } = album();
  const layers = new FolderLayerAssembly(info);
  const trees = new Map(
    folder.files.filter((file) => file.chunkCount > 1).map((file) => [
      file.piecesRoot!.toString(),
      FileMerkleTree.fromPieceLayer(file.chunkHashes, {
        fileBytes: file.length,
        pieceBytes: PIECE,
      }),
    ]),
  );
  // long.bin needs two requests, b.bin one.
  assert.equal(layers.requests.length, 3);
  assert.ok(!layers.complete);
  const answers = layers.requests.map((request) => ({
    ...request,
    hashes: answerHashRequest(
      request,
      trees.get(request.piecesRoot.toString())!,
    )!,
  }));
  // A root no file has, or hashes that do not prove: lies.
  assert.equal(
    layers.add({ ...answers[0]!, piecesRoot: new Uint8Array(32) }).kind,
    "lied",
  );
  const forged = { ...answers[2]!, hashes: answers[2]!.hashes.slice() };
  forged.hashes[3]! ^= 1;
  assert.equal(layers.add(forged).kind, "lied");
  assert.equal(layers.add(answers[2]!).kind, "more");
  assert.equal(layers.add(answers[0]!).kind, "more");
  assert.equal(layers.add(answers[1]!).kind, "done");
  assert.ok(layers.complete);
  assert.ok(bytesEqual(layers.manifestBytes(info), bytes));
});

Deno.test("FolderLayerAssembly refuses a hostile folder before asking for anything", () => {
  const { folder } = album();
  const hostile = encodeFolderManifest(folder);
  // "a/long.bin" -> "./long.bin" keeps the bencode's lengths.
  const at = new TextDecoder().decode(hostile).indexOf("1:ad");
  hostile[at + 2] = ".".charCodeAt(0);
  const span = findDictValueSpan(hostile, "info")!;
  assert.throws(
    () => new FolderLayerAssembly(hostile.slice(span.start, span.end)),
    (error: unknown) =>
      error instanceof ProtocolError && /relative folder/.test(error.message),
  );
});
