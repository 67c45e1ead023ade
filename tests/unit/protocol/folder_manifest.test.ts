import assert from "node:assert/strict";
import {
  type BDict,
  bkey,
  decodeBencode,
  encodeBencode,
  encodeFolderManifest,
  type FolderManifest,
  parseFolderManifest,
  parseManifest,
  parseTorrent,
  ProtocolError,
} from "@shoal/protocol";
import { folderOf, hashedFile } from "../../_helpers/folder_fixtures.ts";

const PIECE = 16_384;

function folder(): FolderManifest {
  // Already in BEP 52 order, so firstChunk follows from the sizes.
  return folderOf([
    hashedFile("a/deep/one.bin", 3 * PIECE + 1, 14),
    hashedFile("a/empty", 0, 7),
    hashedFile("b.txt", PIECE, 5),
    hashedFile("c.bin", 2 * PIECE, 5),
  ]);
}

function refusal(bytes: Uint8Array): ProtocolError {
  try {
    parseFolderManifest(bytes);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.ok(!error.message.includes("\n"));
    return error;
  }
  assert.fail("accepted");
}

function edited(bytes: Uint8Array, edit: (top: BDict) => void): Uint8Array {
  const top = decodeBencode(bytes) as BDict;
  edit(top);
  return encodeBencode(top);
}

Deno.test("parseFolderManifest() reads what encodeFolderManifest writes: files aligned to pieces, one layer per multi-piece file", () => {
  const manifest = folder();
  const bytes = encodeFolderManifest(manifest);
  const parsed = parseFolderManifest(bytes);
  assert.deepStrictEqual(parsed, manifest);
  assert.deepStrictEqual(
    parsed.files.map((f) => [f.firstChunk, f.chunkCount]),
    [
      [0, 4],
      [4, 0],
      [4, 1],
      [5, 2],
    ],
  );
  const layers = (decodeBencode(bytes) as BDict).get("piece layers") as BDict;
  assert.equal(layers.size, 2, "files of one piece or empty have no layer");
  // parseTorrent takes it as a folder, with a summary in the manifest's place.
  const torrent = parseTorrent(bytes);
  assert.equal(torrent.folder?.files.length, 4);
  assert.equal(torrent.manifest.name, "album");
  assert.equal(torrent.manifest.chunkCount, torrent.folder?.chunkCount);
});

Deno.test("parseFolderManifest() refuses a missing, short or forged piece layer and bad headers", () => {
  const bytes = encodeFolderManifest(folder());
  const root = folder().files[0]!.piecesRoot!;
  const layersOf = (top: BDict) => top.get("piece layers") as BDict;
  const infoOf = (top: BDict) => top.get("info") as BDict;
  const cases: [Uint8Array, RegExp][] = [
    [
      edited(bytes, (t) => layersOf(t).delete(bkey(root))),
      /no piece layer for a\/deep\/one.bin/,
    ],
    [edited(bytes, (t) => t.delete("piece layers")), /no piece layers/],
    [
      edited(bytes, (t) => layersOf(t).set(bkey(root), new Uint8Array(96))),
      /has 96 bytes, expected 128/,
    ],
    [
      edited(bytes, (t) => layersOf(t).set(bkey(root), new Uint8Array(128))),
      /does not hash to its pieces root/,
    ],
    [
      edited(bytes, (t) => infoOf(t).set("piece length", 3000n)),
      /power of two/,
    ],
    [
      edited(
        bytes,
        (t) => infoOf(t).set("name", new TextEncoder().encode("..")),
      ),
      /relative folder/,
    ],
    [edited(bytes, (t) => infoOf(t).delete("name")), /no name/],
    [edited(bytes, (t) => infoOf(t).set("meta version", 1n)), /v2/],
    [new TextEncoder().encode("le"), /not a dictionary/],
  ];
  for (const [input, reason] of cases) {
    assert.match(refusal(input).message, reason);
  }
});

Deno.test("parseManifest() names a valid folder as one, and a hostile folder by its rule", () => {
  const bytes = encodeFolderManifest(folder());
  assert.throws(
    () => parseManifest(bytes),
    (error: unknown) =>
      error instanceof ProtocolError && error.code === "folder" &&
      /the folder "album" of 4 files, not one file/
        .test(
          error.message,
        ),
  );
  const hostile = edited(bytes, (top) => {
    const tree = (top.get("info") as BDict).get("file tree") as BDict;
    tree.set(bkey(new TextEncoder().encode("A")), tree.get("a")!);
  });
  assert.throws(
    () => parseManifest(hostile),
    (error: unknown) =>
      error instanceof ProtocolError && /case-insensitive/.test(error.message),
  );
});
