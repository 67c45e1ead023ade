/**
 * Folder manifests for unit tests, built in memory: laid out only (sizes and
 * piece places, no hashes) for code that maps pieces to files, or hashed
 * for code that checks them.
 *
 * @module
 */
import {
  type FolderFile,
  folderLayout,
  type FolderManifest,
  ManifestBuilder,
} from "@shoal/protocol";

/**
 * A folder of these files, in the order given (BEP 52 order when the paths
 * are sorted), each starting on a piece of its own.
 *
 * @param files each file's path ("/"-separated) and size, or whole files
 * @param chunkSize the piece length @default {16384}
 * @param name the folder's name @default {"album"}
 */
export function folderOf(
  files: readonly ([string, number] | FolderFile)[],
  chunkSize = 16_384,
  name = "album",
): FolderManifest {
  const laid = files.map((entry): FolderFile =>
    Array.isArray(entry)
      ? {
        path: entry[0].split("/"),
        length: entry[1],
        piecesRoot: null,
        firstChunk: 0,
        chunkCount: Math.ceil(entry[1] / chunkSize),
        chunkHashes: new Uint8Array(),
      }
      : entry
  );
  const layout = folderLayout(laid.map((file) => file.length), chunkSize);
  if (typeof layout === "string") throw new RangeError(layout);
  laid.forEach((file, i) => file.firstChunk = layout.firstChunks[i]!);
  return {
    name,
    chunkSize,
    files: laid,
    size: layout.size,
    chunkCount: layout.chunkCount,
  };
}

/** The bytes {@linkcode hashedFile} hashes: `length` of them, made from `seed`. */
export function fileBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7) & 0xff;
  if (length > 0) bytes[0] = seed;
  return bytes;
}

/**
 * A file of a folder with real hashes: `length` bytes made from `seed`,
 * hashed in pieces of `chunkSize`.
 */
export function hashedFile(
  path: string,
  length: number,
  seed: number,
  chunkSize = 16_384,
): FolderFile {
  const builder = new ManifestBuilder(chunkSize);
  builder.update(fileBytes(length, seed));
  const { manifest } = builder.finish("x");
  return {
    path: path.split("/"),
    length,
    piecesRoot: manifest.piecesRoot,
    firstChunk: 0,
    chunkCount: manifest.chunkCount,
    chunkHashes: manifest.chunkHashes,
  };
}
