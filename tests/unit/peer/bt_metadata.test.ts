import assert from "node:assert/strict";
import {
  answerHashRequest,
  BT_METADATA_PIECE_BYTES,
  type BValue,
  bytesEqual,
  encodeBencode,
  fileIdOf,
  FileMerkleTree,
  findDictValueSpan,
  ManifestBuilder,
  MAX_BT_METADATA_BYTES,
  parseManifest,
  ProtocolError,
} from "@shoal/protocol";
import {
  btManifestBytes,
  infoShape,
  MetadataAssembly,
  PieceLayerAssembly,
} from "../../../peer/download/bt_metadata.ts";

const CHUNK = 16 * 1024;

/** A manifest of `size` pseudo-random bytes in 16 KiB pieces, and its info dictionary. */
function fileOf(size: number, name = "a.bin") {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
  const builder = new ManifestBuilder(CHUNK);
  builder.update(data);
  const { manifest, bytes, id } = builder.finish(name);
  const span = findDictValueSpan(bytes, "info")!;
  return { manifest, bytes, id, info: bytes.slice(span.start, span.end) };
}

Deno.test("MetadataAssembly puts the info dictionary together from pieces in any order and checks it against the file id", () => {
  // A long name makes the dictionary longer than one 16 KiB metadata piece.
  const { id, info } = fileOf(3 * CHUNK, "n".repeat(200));
  const meta = new MetadataAssembly(id, info.byteLength);
  assert.deepEqual(meta.pieces(), [0]);
  assert.deepEqual(meta.add(0, info.byteLength, info), {
    kind: "done",
    info,
  });
  // Two pieces, the second first.
  const big = new Uint8Array(BT_METADATA_PIECE_BYTES + 100).fill(1);
  const twoPieces = new MetadataAssembly(new Uint8Array(32), big.byteLength);
  assert.deepEqual(twoPieces.pieces(), [0, 1]);
  assert.deepEqual(
    twoPieces.add(1, big.byteLength, big.subarray(BT_METADATA_PIECE_BYTES)),
    { kind: "more" },
  );
  const last = twoPieces.add(
    0,
    big.byteLength,
    big.subarray(0, BT_METADATA_PIECE_BYTES),
  );
  // The bytes are whole, but they do not hash to this id.
  assert.equal(last.kind, "lied");
});

Deno.test("MetadataAssembly calls a dictionary that does not hash to the id, a wrong total size or a repeated piece a lie", () => {
  const { id, info } = fileOf(3 * CHUNK);
  const changed = info.slice();
  changed[5]! ^= 1;
  assert.equal(
    new MetadataAssembly(id, info.byteLength).add(0, info.byteLength, changed)
      .kind,
    "lied",
  );
  const meta = new MetadataAssembly(id, info.byteLength);
  assert.equal(meta.add(0, info.byteLength + 1, info).kind, "lied");
  assert.equal(meta.add(1, info.byteLength, info).kind, "lied");
  assert.throws(() => new MetadataAssembly(id, 0), RangeError);
  assert.throws(
    () => new MetadataAssembly(id, MAX_BT_METADATA_BYTES + 1),
    RangeError,
  );
});

Deno.test("infoShape() reads size, piece length, pieces and root; refuses what is not one v2 file", () => {
  const { manifest, info } = fileOf(5 * CHUNK + 3);
  assert.deepEqual(infoShape(info), {
    size: manifest.size,
    chunkSize: CHUNK,
    chunkCount: 6,
    piecesRoot: manifest.piecesRoot,
  });
  const folder = encodeBencode(
    new Map<string, BValue>([
      ["piece length", BigInt(CHUNK)],
      [
        "file tree",
        new Map([[
          "dir",
          new Map([["a", new Map([["", new Map([["length", 0n]])]])]]),
        ]]),
      ],
    ]),
  );
  // A valid folder is named as one (its layers come file by file: bt_folder_layers.ts).
  assert.throws(
    () => infoShape(folder),
    (error: unknown) =>
      error instanceof ProtocolError && error.code === "folder" &&
      /the folder of 1 file, not one file/.test(error.message),
  );
  assert.throws(() => infoShape(encodeBencode(7n)), /not a dictionary/);
});

Deno.test("PieceLayerAssembly fetches the whole layer with proven hash requests, and calls unproven or unasked hashes lies", () => {
  const { manifest, info, id, bytes } = fileOf(700 * CHUNK + 5);
  const shape = infoShape(info);
  const layer = new PieceLayerAssembly(shape);
  // 701 pieces: two requests (512, then 256 past which are padding).
  assert.equal(layer.requests.length, 2);
  const tree = FileMerkleTree.fromPieceLayer(manifest.chunkHashes, {
    fileBytes: manifest.size,
    pieceBytes: manifest.chunkSize,
  });
  const [first, second] = layer.requests;
  const answer = (request: typeof first) => ({
    ...request!,
    hashes: answerHashRequest(request!, tree)!,
  });
  const bad = answer(second);
  bad.hashes[40]! ^= 1;
  assert.equal(layer.add(bad).kind, "lied");
  assert.equal(
    layer.add({ ...answer(first), index: 1024 }).kind,
    "lied",
  );
  assert.deepEqual(layer.add(answer(second)), { kind: "more" });
  const done = layer.add(answer(first));
  assert.equal(done.kind, "done");
  if (done.kind !== "done") return;
  assert.ok(bytesEqual(done.layer, manifest.chunkHashes));
  // Answered already: a second answer was not asked for.
  assert.equal(layer.add(answer(first)).kind, "lied");
  // The pieces put together are the manifest the id names.
  const assembled = btManifestBytes(info, shape, done.layer);
  assert.ok(bytesEqual(fileIdOf(assembled), id));
  assert.deepEqual(parseManifest(assembled), parseManifest(bytes));
});

Deno.test("PieceLayerAssembly needs no request for a file of one piece", () => {
  const { info, bytes } = fileOf(CHUNK - 1);
  const shape = infoShape(info);
  const layer = new PieceLayerAssembly(shape);
  assert.equal(layer.requests.length, 0);
  assert.equal(layer.complete, true);
  assert.deepEqual(
    parseManifest(btManifestBytes(info, shape, new Uint8Array())),
    parseManifest(bytes),
  );
});
