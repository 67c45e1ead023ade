import assert from "node:assert/strict";
import { fileIdOf, parseFolderManifest, toHex } from "@shoal/protocol";
import { scanFolder } from "../../../peer/library/folder_scan.ts";
import { hashFolder } from "../../../peer/library/folder_hash.ts";
import {
  type FolderPart,
  openPart,
  partOfPiece,
  sharedFolderOf,
} from "../../../peer/library/shared_folder.ts";
import { folderBlockRequestProblem } from "../../../peer/bt/request_check.ts";
import * as h from "../../_helpers/mod.ts";
import { join } from "node:path";

const PIECE = 16_384;

/** A folder of piece size 16 KiB: 2 pieces, an empty file, 1 piece, 3 pieces (the last 1 byte). */
async function seeded(root: string) {
  await Deno.mkdir(join(root, "d"), { recursive: true });
  await Deno.writeFile(join(root, "a"), new Uint8Array(2 * PIECE).fill(1));
  await Deno.writeFile(join(root, "b"), new Uint8Array());
  await Deno.writeFile(join(root, "d", "c"), new Uint8Array(100).fill(2));
  await Deno.writeFile(join(root, "e"), new Uint8Array(2 * PIECE + 1).fill(3));
  const scanned = scanFolder(root, "seed");
  const built = hashFolder(scanned, { chunkSize: PIECE });
  const manifest = parseFolderManifest(built.manifestBytes);
  const id = fileIdOf(built.manifestBytes);
  return sharedFolderOf(
    id,
    toHex(id),
    manifest,
    built.manifestBytes,
    root,
    scanned.files.map((file, i) => ({ ...file, ...built.times[i]! })),
    Date.now(),
  );
}

Deno.test("partOfPiece() finds the file holding each of a folder's pieces, each file starting a piece; an empty file holds none", async () => {
  await using dir = await h.tempDir();
  const entry = await seeded(join(dir.path, "f"));
  const folder = entry.folder!;
  assert.equal(entry.manifest.chunkCount, 6);
  assert.deepEqual(
    folder.parts.map((part) => [part.manifest.name, part.firstChunk]),
    [["a", 0], ["c", 2], ["e", 3]],
  );
  const where = [0, 1, 2, 3, 4, 5].map((i) => {
    const found = partOfPiece(folder, i)!;
    return [found.part.manifest.name, found.local];
  });
  assert.deepEqual(where, [["a", 0], ["a", 1], ["c", 0], ["e", 0], [
    "e",
    1,
  ], ["e", 2]]);
  assert.equal(partOfPiece(folder, 6), null);
  // A part is stale when its folder is, and marking it marks the folder.
  folder.parts[1]!.stale = true;
  assert.ok(entry.stale && folder.parts[0]!.stale);
});

Deno.test("folderBlockRequestProblem() accepts blocks up to a whole piece (padding after a file's end), the folder's last piece padded to one block; refuses the rest", async () => {
  await using dir = await h.tempDir();
  const folder = (await seeded(join(dir.path, "f"))).folder!.manifest;
  for (
    const range of [
      { index: 0, begin: 0, length: PIECE },
      // d/c: 100 bytes, then padding to the piece's end.
      { index: 2, begin: 0, length: PIECE },
      { index: 5, begin: 0, length: PIECE },
    ]
  ) assert.equal(folderBlockRequestProblem(folder, range), null);
  for (
    const range of [
      { index: 6, begin: 0, length: PIECE },
      { index: 0, begin: 1, length: PIECE },
      { index: 5, begin: 1, length: PIECE },
    ]
  ) assert.notEqual(folderBlockRequestProblem(folder, range), null);
});

Deno.test("openPart() opens a folder's file only while it is the very file hashed: a link put in its place is refused", async () => {
  await using dir = await h.tempDir();
  const root = join(dir.path, "f");
  const entry = await seeded(root);
  const part = entry.folder!.parts[0] as FolderPart;
  const handle = openPart(part);
  assert.ok(handle);
  handle.close();
  const outside = join(dir.path, "outside");
  await Deno.writeFile(outside, new Uint8Array(2 * PIECE).fill(1));
  await Deno.remove(join(root, "a"));
  await Deno.symlink(outside, join(root, "a"));
  assert.equal(openPart(part), null);
  await Deno.remove(join(root, "a"));
  assert.equal(openPart(part), null);
});
