/**
 * The manifest of a folder: a BEP 52 info dictionary whose `file tree` holds
 * many files (protocol/file_tree.ts) and the piece layer of each file of more
 * than one piece, bencoded as a minimal `.torrent`. In v2 every file starts
 * on a piece of its own, so a file's pieces are numbered on from the last
 * piece of the file before it, in BEP 52 order (docs/PROTOCOL.md, "Folders").
 *
 * @module
 */
import {
  HASH_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MAX_MANIFEST_BYTES,
  MIN_CHUNK_BYTES,
} from "./constants.ts";
import {
  type BDict,
  bkey,
  type BValue,
  decodeBencode,
  dictGet,
  encodeBencode,
} from "./bencode.ts";
import { utf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";
import { decodeFileTree, encodeFileTree, type TreeFile } from "./file_tree.ts";
import { bytesEqual } from "./hex.ts";
import { pieceLeafCount, piecesRootFromLayer } from "./merkle.ts";

/** One file of a folder, with its place among the folder's pieces. */
export interface FolderFile extends TreeFile {
  /** Index of its first piece in the folder (files are aligned to pieces). */
  firstChunk: number;
  /** `ceil(length / chunkSize)`. */
  chunkCount: number;
  /** Its piece layer, 32 bytes per piece; a one-piece file's is its root. */
  chunkHashes: Uint8Array;
}

/** A decoded, checked folder manifest. */
export interface FolderManifest {
  /** The folder's name (BEP 52 `name`), a safe file name. */
  name: string;
  /** The piece length: a power of two. */
  chunkSize: number;
  /** The files in BEP 52 order. */
  files: FolderFile[];
  /** Total size of the files in bytes. */
  size: number;
  /** Pieces of all files. */
  chunkCount: number;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function fail(
  message: string,
  code: "bad_manifest" | "bad_string" | "too_long" = "bad_manifest",
): never {
  throw new ProtocolError(code, `Cannot read folder manifest: ${message}`);
}

/**
 * Lays out files in pieces: each file's first piece and piece count, and
 * the totals, or why they do not fit Shoal's limits.
 *
 * @param files file lengths, in BEP 52 order
 * @param chunkSize the piece length
 * @returns the first piece of each file and the totals, or a reason
 * @example
 * ```ts
 * import { folderLayout } from "@shoal/protocol";
 * folderLayout([0, 3, 40_000], 16_384); // firstChunks [0, 0, 1], chunkCount 4
 * ```
 */
export function folderLayout(
  lengths: readonly number[],
  chunkSize: number,
): { firstChunks: number[]; chunkCount: number; size: number } | string {
  const firstChunks: number[] = [];
  let chunkCount = 0;
  let size = 0;
  for (const length of lengths) {
    firstChunks.push(chunkCount);
    chunkCount += Math.ceil(length / chunkSize);
    size += length;
    if (chunkCount > MAX_CHUNK_COUNT) {
      return `more than ${MAX_CHUNK_COUNT} pieces`;
    }
    if (size > MAX_FILE_BYTES) return `more than ${MAX_FILE_BYTES} bytes`;
  }
  return { firstChunks, chunkCount, size };
}

/**
 * The info dictionary of a folder, as BEP 52 writes it.
 *
 * @param manifest the folder manifest
 * @returns the dictionary; its bencoding's SHA-256 is the v2 infohash
 * @throws {TypeError} when a name or a file breaks a rule
 * @example
 * ```ts
 * import { encodeBencode, folderInfoDictionary, sha256 } from "@shoal/protocol";
 * // const id = sha256(encodeBencode(folderInfoDictionary(manifest)));
 * ```
 */
export function folderInfoDictionary(manifest: FolderManifest): BDict {
  const problem = fileNameProblem(manifest.name);
  if (problem) {
    throw new TypeError(
      `Cannot encode folder manifest: the name ${problem}`,
    );
  }
  return new Map<string, BValue>([
    ["file tree", encodeFileTree(manifest.files)],
    ["meta version", 2n],
    ["name", utf8(manifest.name)],
    ["piece length", BigInt(manifest.chunkSize)],
  ]);
}

/**
 * Encodes a folder manifest: `{info, piece layers}` in canonical bencode.
 *
 * @param manifest the folder manifest
 * @returns its bytes (a `.torrent` without trackers)
 * @throws {TypeError} when a field is invalid
 * @example
 * ```ts
 * import { encodeFolderManifest, parseFolderManifest } from "@shoal/protocol";
 * // parseFolderManifest(encodeFolderManifest(m)) deep-equals m
 * ```
 */
export function encodeFolderManifest(manifest: FolderManifest): Uint8Array {
  const layers: BDict = new Map();
  for (const file of manifest.files) {
    if (file.chunkHashes.byteLength !== file.chunkCount * HASH_BYTES) {
      throw new TypeError(
        `Cannot encode folder manifest: ${
          file.path.join("/")
        } has a piece layer of the wrong size`,
      );
    }
    if (file.chunkCount > 1 && file.piecesRoot) {
      layers.set(bkey(file.piecesRoot), file.chunkHashes);
    }
  }
  return encodeBencode(
    new Map<string, BValue>([
      ["info", folderInfoDictionary(manifest)],
      ["piece layers", layers],
    ]),
  );
}

/**
 * Decodes and checks a BEP 52 torrent of any number of files: the meta
 * version, a power-of-two piece length within Shoal's limits, a safe name,
 * a file tree whose every path is safe (decodeFileTree), and for each file
 * of more than one piece a piece layer that hashes to its `pieces root`.
 * Pieces and bytes in total stay within a single file's limits. Total: any
 * input gives a folder manifest or a {@linkcode ProtocolError}.
 *
 * @param bytes untrusted `.torrent` or manifest bytes
 * @param options `layerChecked`: these exact bytes already passed this
 *   parser in this process (a fetch worker handed the download's copy), so
 *   the piece layers are not hashed up to their roots again
 * @returns the folder manifest (a one-file torrent gives one file)
 * @throws {ProtocolError} when the bytes are not a valid v2 torrent
 * @example
 * ```ts
 * import { parseFolderManifest } from "@shoal/protocol";
 * // parseFolderManifest(torrentBytes).files.map((f) => f.path.join("/"))
 * ```
 */
export function parseFolderManifest(
  bytes: Uint8Array,
  options: { layerChecked?: boolean } = {},
): FolderManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    fail(
      `${bytes.byteLength} bytes, at most ${MAX_MANIFEST_BYTES}`,
      "too_long",
    );
  }
  const top = decodeBencode(bytes);
  if (!(top instanceof Map)) fail("it is not a dictionary");
  const info = dictGet(top, "info");
  if (!(info instanceof Map)) fail("no info dictionary");
  if (dictGet(info, "meta version") !== 2n) {
    throw new ProtocolError(
      "bad_version",
      "Cannot read folder manifest: not a BitTorrent v2 (BEP 52) torrent",
    );
  }
  const pieceLength = dictGet(info, "piece length");
  if (
    typeof pieceLength !== "bigint" || pieceLength < MIN_CHUNK_BYTES ||
    pieceLength > MAX_CHUNK_BYTES ||
    (pieceLength & (pieceLength - 1n)) !== 0n
  ) {
    fail(
      `the piece length is not a power of two from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`,
    );
  }
  const chunkSize = Number(pieceLength);
  const rawName = dictGet(info, "name");
  if (!(rawName instanceof Uint8Array)) fail("no name");
  let name: string;
  try {
    name = STRICT_UTF8.decode(rawName);
  } catch {
    fail("the name is not UTF-8", "bad_string");
  }
  const problem = fileNameProblem(name);
  if (problem) fail(`the name ${problem}`, "bad_string");
  const tree = decodeFileTree(dictGet(info, "file tree"));
  const layout = folderLayout(tree.map((file) => file.length), chunkSize);
  if (typeof layout === "string") fail(layout, "too_long");
  const layers = dictGet(top, "piece layers");
  const files = tree.map((file, i): FolderFile => {
    const chunkCount = Math.ceil(file.length / chunkSize);
    const firstChunk = layout.firstChunks[i]!;
    if (chunkCount <= 1) {
      return {
        ...file,
        firstChunk,
        chunkCount,
        chunkHashes: file.piecesRoot ?? new Uint8Array(),
      };
    }
    return {
      ...file,
      firstChunk,
      chunkCount,
      chunkHashes: checkedLayer(
        layers,
        file,
        chunkCount,
        chunkSize,
        options.layerChecked ?? false,
      ),
    };
  });
  return {
    name,
    chunkSize,
    files,
    size: layout.size,
    chunkCount: layout.chunkCount,
  };
}

/**
 * Whether manifest or `.torrent` bytes describe a folder (several files, or
 * files under a folder) rather than one file, told from the shape of the
 * `file tree` alone, so the right parser runs once: reading a folder with
 * the single-file parser first costs as much as reading it. Bytes that are
 * not even bencode say false, and the single-file parser then says why.
 *
 * @param bytes untrusted manifest bytes
 * @returns true for a folder
 * @example
 * ```ts
 * import { isFolderManifest, parseFolderManifest, parseManifest } from "@shoal/protocol";
 * // const m = isFolderManifest(bytes) ? parseFolderManifest(bytes) : parseManifest(bytes);
 * ```
 */
export function isFolderManifest(bytes: Uint8Array): boolean {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) return false;
  let top: BValue;
  try {
    top = decodeBencode(bytes, { views: true });
  } catch {
    return false;
  }
  const info = top instanceof Map ? dictGet(top, "info") : undefined;
  const tree = info instanceof Map ? dictGet(info, "file tree") : undefined;
  if (!(tree instanceof Map)) return false;
  if (tree.size !== 1) return true;
  const node = [...tree.values()][0];
  return !(node instanceof Map && node.has("") && node.size === 1);
}

function checkedLayer(
  layers: BValue | undefined,
  file: TreeFile,
  chunkCount: number,
  chunkSize: number,
  checked: boolean,
): Uint8Array {
  const where = file.path.join("/");
  if (!(layers instanceof Map)) fail("no piece layers");
  const layer = layers.get(bkey(file.piecesRoot!));
  if (!(layer instanceof Uint8Array)) fail(`no piece layer for ${where}`);
  if (layer.byteLength !== chunkCount * HASH_BYTES) {
    fail(
      `the piece layer of ${where} has ${layer.byteLength} bytes, expected ${
        chunkCount * HASH_BYTES
      }`,
    );
  }
  if (checked) return layer.slice();
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < layer.byteLength; at += HASH_BYTES) {
    hashes.push(layer.subarray(at, at + HASH_BYTES));
  }
  const width = pieceLeafCount(file.length, chunkSize);
  if (!bytesEqual(piecesRootFromLayer(hashes, width), file.piecesRoot!)) {
    fail(`the piece layer of ${where} does not hash to its pieces root`);
  }
  return layer.slice();
}
