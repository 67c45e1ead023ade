/**
 * The manifest: a file's BitTorrent v2 (BEP 52) info dictionary and its
 * piece layer, bencoded as a minimal `.torrent`:
 * `{ "info": { "file tree", "meta version": 2, "name", "piece length" },
 * "piece layers": { pieces root: layer } }`. A file's id is the SHA-256 of
 * the bencoded info dictionary, its v2 infohash; a chunk is a piece, and its
 * hash is the root of the SHA-256 Merkle tree over its 16 KiB blocks. The
 * piece layer is checked against the `pieces root` when the manifest is
 * read, so a file whose every chunk matches is the file the id names: no
 * second pass over the file (docs/PROTOCOL.md, "Manifest").
 *
 * @module
 */
import {
  BLOCK_BYTES,
  DEFAULT_CHUNK_BYTES,
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
  findDictValueSpan,
} from "./bencode.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";
import { decodeFileTree } from "./file_tree.ts";
import { bytesEqual } from "./hex.ts";
import {
  merkleRootInPlace,
  pieceLeafCount,
  pieceRoot,
  piecesRootFromLayer,
} from "./merkle.ts";
import { sha256, sha256Into } from "./sha256.ts";

/** The BEP 52 `meta version` Shoal speaks. */
export const META_VERSION = 2;

/** A decoded, checked manifest. */
export interface Manifest {
  /** Safe file name (the file's key in the file tree). */
  name: string;
  /** File size in bytes. */
  size: number;
  /** Chunk size in bytes (the BEP 52 piece length, a power of two); the last chunk may be shorter. */
  chunkSize: number;
  /** `ceil(size / chunkSize)`. */
  chunkCount: number;
  /**
   * The BEP 52 `pieces root`: the Merkle root over the file's 16 KiB
   * blocks. Null for an empty file, which has no tree.
   */
  piecesRoot: Uint8Array | null;
  /**
   * The piece layer: every chunk's hash, 32 bytes each, in order. A file of
   * one chunk has one, its pieces root.
   */
  chunkHashes: Uint8Array;
}

/**
 * Number of chunks a file of `size` bytes has.
 *
 * @param size file size
 * @param chunkSize chunk size
 * @returns the chunk count (0 for an empty file)
 * @example
 * ```ts
 * import { chunkCountFor } from "@shoal/protocol";
 * chunkCountFor(1_048_577, 524_288); // 3
 * ```
 */
export function chunkCountFor(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/**
 * The chunk size to share a file of `size` bytes with: 512 KiB, doubled as
 * often as it takes to stay within {@linkcode MAX_CHUNK_COUNT} chunks (1 MiB
 * past 128 GiB, up to 4 MiB for 1 TiB), or null when even the largest chunks
 * are too few (over 1 TiB).
 *
 * @param size the file's size in bytes
 * @returns the chunk size, or null when the file is too large to share
 * @example
 * ```ts
 * import { chunkSizeFor } from "@shoal/protocol";
 * chunkSizeFor(4 * 2 ** 30); // 524288
 * chunkSizeFor(200 * 2 ** 30); // 1048576
 * ```
 */
export function chunkSizeFor(size: number): number | null {
  for (
    let chunkSize = DEFAULT_CHUNK_BYTES;
    chunkSize <= MAX_CHUNK_BYTES;
    chunkSize *= 2
  ) {
    if (chunkCountFor(size, chunkSize) <= MAX_CHUNK_COUNT) return chunkSize;
  }
  return null;
}

/**
 * Length of chunk `index` (the last one may be short).
 *
 * @param manifest the manifest
 * @param index chunk index
 * @returns bytes in that chunk
 * @example
 * ```ts
 * import { chunkLength } from "@shoal/protocol";
 * // chunkLength(manifest, manifest.chunkCount - 1)
 * ```
 */
export function chunkLength(manifest: Manifest, index: number): number {
  if (index < 0 || index >= manifest.chunkCount) {
    throw new RangeError(
      `Cannot size chunk ${index}: the file has ${manifest.chunkCount} chunks`,
    );
  }
  return Math.min(
    manifest.chunkSize,
    manifest.size - index * manifest.chunkSize,
  );
}

/**
 * The expected hash of chunk `index` (a view into the manifest).
 *
 * @param manifest the manifest
 * @param index chunk index
 * @returns 32 bytes
 * @example
 * ```ts
 * import { chunkHash } from "@shoal/protocol";
 * // chunkHash(manifest, 0).byteLength === 32
 * ```
 */
export function chunkHash(manifest: Manifest, index: number): Uint8Array {
  return manifest.chunkHashes.subarray(
    index * HASH_BYTES,
    (index + 1) * HASH_BYTES,
  );
}

/**
 * The hash of a chunk's bytes: the root of the Merkle tree over its 16 KiB
 * blocks, padded with zero leaves as BEP 52 pads a piece of this file.
 *
 * @param manifest the file's manifest (for its size and chunk size)
 * @param bytes one chunk, 1 to `chunkSize` bytes
 * @returns 32 bytes
 * @example
 * ```ts
 * import { chunkDigest } from "@shoal/protocol";
 * // bytesEqual(chunkDigest(manifest, bytes), chunkHash(manifest, index))
 * ```
 */
export function chunkDigest(manifest: Manifest, bytes: Uint8Array): Uint8Array {
  return pieceRoot(bytes, pieceLeafCount(manifest.size, manifest.chunkSize));
}

/**
 * Whether `bytes` are chunk `index` of the file: the right length and hash.
 *
 * @param manifest the file's manifest
 * @param index chunk index
 * @param bytes the bytes to check
 * @returns true when they match the piece layer
 */
export function chunkMatches(
  manifest: Manifest,
  index: number,
  bytes: Uint8Array,
): boolean {
  return index >= 0 && index < manifest.chunkCount &&
    bytes.byteLength === chunkLength(manifest, index) &&
    bytesEqual(chunkDigest(manifest, bytes), chunkHash(manifest, index));
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

const UTF8 = new TextEncoder();
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A dictionary key for a text name. */
function k(name: string): string {
  return bkey(UTF8.encode(name));
}

/**
 * The info dictionary of a manifest, as BEP 52 writes it for one file.
 *
 * @param manifest the manifest
 * @returns the dictionary (encode it with encodeBencode)
 * @throws {TypeError} when a field is invalid
 */
export function infoDictionary(manifest: Manifest): BDict {
  const problem = fileNameProblem(manifest.name);
  if (problem) {
    throw new TypeError(
      `Cannot encode manifest: file name "${manifest.name}" ${problem}`,
    );
  }
  if (manifest.chunkHashes.byteLength !== manifest.chunkCount * HASH_BYTES) {
    throw new TypeError(
      "Cannot encode manifest: chunk hashes do not match the chunk count",
    );
  }
  const fileEntry: BDict = new Map<string, BValue>([
    [k("length"), BigInt(manifest.size)],
  ]);
  if (manifest.size > 0) {
    if (manifest.piecesRoot?.byteLength !== HASH_BYTES) {
      throw new TypeError("Cannot encode manifest: no pieces root");
    }
    fileEntry.set(k("pieces root"), manifest.piecesRoot);
  }
  const name = UTF8.encode(manifest.name);
  return new Map<string, BValue>([
    [
      k("file tree"),
      new Map<string, BValue>([[bkey(name), new Map([["", fileEntry]])]]),
    ],
    [k("meta version"), BigInt(META_VERSION)],
    [k("name"), name],
    [k("piece length"), BigInt(manifest.chunkSize)],
  ]);
}

/**
 * Whether a `file tree` describes a folder (several files, or one file in a
 * folder) rather than one file: null for one file (or a tree too malformed
 * to say), else the error to refuse it with. A folder whose paths break a
 * rule gets that rule's error (decodeFileTree), a valid one a "folder" error
 * that says so, so a user is told the torrent is fine but not downloadable
 * yet.
 *
 * @param tree the decoded `file tree`, untrusted
 * @param name the info dictionary's `name`, untrusted
 * @returns null, or the {@linkcode ProtocolError} to throw
 * @example
 * ```ts
 * import { decodeBencode, dictGet, folderProblem } from "@shoal/protocol";
 * // const error = folderProblem(dictGet(info, "file tree"), dictGet(info, "name"));
 * ```
 */
export function folderProblem(
  tree: BValue | undefined,
  name: BValue | undefined,
): ProtocolError | null {
  if (!(tree instanceof Map) || tree.size === 0) return null;
  if (tree.size === 1) {
    const node = [...tree.values()][0];
    if (!(node instanceof Map) || node.has("")) return null;
  }
  let files;
  try {
    files = decodeFileTree(tree);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  let folder = "the folder";
  if (name instanceof Uint8Array) {
    try {
      const text = STRICT_UTF8.decode(name);
      if (fileNameProblem(text) === null) folder = `the folder "${text}"`;
    } catch {
      // A name that is not UTF-8 is not shown.
    }
  }
  return new ProtocolError(
    "folder",
    `Cannot read manifest: ${folder} of ${files.length} file${
      files.length === 1 ? "" : "s"
    }, not one file`,
  );
}

/**
 * Manifest bytes from a bencoded info dictionary, kept byte for byte (its
 * SHA-256 is the id), and the piece layer (files of more than one chunk).
 *
 * @param infoBytes the bencoded info dictionary
 * @param manifest the manifest it describes
 * @returns `d4:info<info>12:piece layersd...ee`
 */
export function manifestBytesOf(
  infoBytes: Uint8Array,
  manifest: Manifest,
): Uint8Array {
  const layers: BDict = new Map();
  if (manifest.chunkCount > 1 && manifest.piecesRoot) {
    layers.set(bkey(manifest.piecesRoot), manifest.chunkHashes);
  }
  const head = UTF8.encode("d4:info");
  const middle = UTF8.encode("12:piece layers");
  const tail = encodeBencode(layers);
  const out = new Uint8Array(
    head.byteLength + infoBytes.byteLength + middle.byteLength +
      tail.byteLength + 1,
  );
  let at = 0;
  for (const part of [head, infoBytes, middle, tail]) {
    out.set(part, at);
    at += part.byteLength;
  }
  out[at] = 0x65; // "e"
  return out;
}

/**
 * Encodes a manifest in its canonical form.
 *
 * @param manifest the manifest
 * @returns canonical bytes; the SHA-256 of their info dictionary is the id
 * @throws {TypeError} when a field is invalid
 * @example
 * ```ts
 * import { encodeManifest, parseManifest } from "@shoal/protocol";
 * // parseManifest(encodeManifest(m)) deep-equals m
 * ```
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return manifestBytesOf(encodeBencode(infoDictionary(manifest)), manifest);
}

function fail(
  message: string,
  code: "bad_manifest" | "bad_string" = "bad_manifest",
): never {
  throw new ProtocolError(code, `Cannot read manifest: ${message}`);
}

function checkSize(bytes: Uint8Array): void {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ProtocolError(
      "too_long",
      `Cannot read manifest: ${bytes.byteLength} bytes, at most ${MAX_MANIFEST_BYTES}`,
    );
  }
}

function asDict(value: BValue | undefined, what: string): BDict {
  if (!(value instanceof Map)) fail(`${what} is not a dictionary`);
  return value;
}

function asInt(value: BValue | undefined, what: string): bigint {
  if (typeof value !== "bigint") fail(`${what} is not an integer`);
  return value;
}

function asText(value: BValue | undefined, what: string): string {
  if (!(value instanceof Uint8Array)) fail(`${what} is not a string`);
  try {
    return STRICT_UTF8.decode(value);
  } catch {
    return fail(`${what} is not UTF-8`, "bad_string");
  }
}

/**
 * The id of a manifest or `.torrent`: the SHA-256 of its bencoded info
 * dictionary, exactly as it is in `bytes` (the BEP 52 infohash).
 *
 * @param bytes untrusted manifest or `.torrent` bytes
 * @returns 32 bytes
 * @throws {ProtocolError} when the bytes are not a dictionary whose `info`
 *   is a dictionary
 * @example
 * ```ts
 * import { fileIdOf } from "@shoal/protocol";
 * // toHex(fileIdOf(encodeManifest(manifest)))
 * ```
 */
export function fileIdOf(bytes: Uint8Array): Uint8Array {
  checkSize(bytes);
  const span = findDictValueSpan(bytes, "info");
  // The value of "info" must be a dictionary, not any bencoded value: an id
  // is only ever the hash of something parseManifest could accept.
  if (!span || bytes[span.start] !== 0x64 /* "d" */) {
    fail("no info dictionary");
  }
  return sha256(bytes.subarray(span.start, span.end));
}

/**
 * Decodes and checks a manifest, or the manifest part of a `.torrent`: a
 * BEP 52 info dictionary of one file with a safe name, a piece length that
 * is a power of two within Shoal's limits, and a piece layer whose root is
 * the file's `pieces root`. Other top-level keys (announce, comment) are
 * ignored. Total: any input gives a manifest or a {@linkcode ProtocolError}.
 *
 * @param bytes untrusted bytes
 * @param options `viewHashes`: the chunk hashes are a view into `bytes`
 *   instead of a copy. Only for bytes nobody writes again, such as the one
 *   shared copy of a download's manifest that its workers all read (a 32 GiB
 *   file's hashes are 2 MiB; a copy per isolate grows with the file).
 *   `layerChecked`: these exact bytes already passed parseManifest in this
 *   process (a worker handed the download's copy), so the piece layer is not
 *   hashed up to the pieces root again (1.8 s of CPU for the largest file).
 * @returns the manifest
 * @throws {ProtocolError} when the bytes are not a valid manifest
 * @example
 * ```ts
 * import { parseManifest } from "@shoal/protocol";
 * // const manifest = parseManifest(bytesFromPeer);
 * ```
 */
export function parseManifest(
  bytes: Uint8Array,
  options: { viewHashes?: boolean; layerChecked?: boolean } = {},
): Manifest {
  checkSize(bytes);
  const top = decodeBencode(bytes, { views: options.viewHashes ?? false });
  const info = asDict(
    top instanceof Map ? dictGet(top, "info") : top,
    top instanceof Map ? "info" : "the manifest",
  );
  const version = dictGet(info, "meta version");
  if (version === undefined) {
    if (dictGet(info, "pieces") !== undefined) {
      throw new ProtocolError(
        "bad_version",
        "Cannot read manifest: a BitTorrent v1 torrent; Shoal needs v2 (BEP 52): make it with a v2 client or `--make-torrent`",
      );
    }
    fail("no meta version");
  }
  if (asInt(version, "meta version") !== BigInt(META_VERSION)) {
    throw new ProtocolError(
      "bad_version",
      `Cannot read manifest: meta version ${version}, expected ${META_VERSION}`,
    );
  }
  const pieceLength = asInt(dictGet(info, "piece length"), "piece length");
  if (
    pieceLength < BigInt(MIN_CHUNK_BYTES) ||
    pieceLength > BigInt(MAX_CHUNK_BYTES) ||
    !isPowerOfTwo(Number(pieceLength))
  ) {
    fail(
      `piece length ${pieceLength} is not a power of two from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`,
    );
  }
  const chunkSize = Number(pieceLength);
  const tree = asDict(dictGet(info, "file tree"), "file tree");
  const folder = folderProblem(tree, dictGet(info, "name"));
  if (folder) throw folder;
  if (tree.size === 0) fail("the file tree is empty");
  const [rawName, node] = [...tree][0]!;
  const nameBytes = new Uint8Array(rawName.length);
  for (let i = 0; i < rawName.length; i++) nameBytes[i] = rawName.charCodeAt(i);
  const name = asText(nameBytes, "file name");
  const problem = fileNameProblem(name);
  if (problem) fail(`file name ${problem}`, "bad_string");
  asText(dictGet(info, "name"), "name");
  const leaf = asDict(node, "file tree entry");
  if (leaf.size !== 1 || !leaf.has("")) {
    fail(`"${name}" is a file and a folder at once`);
  }
  const file = asDict(leaf.get(""), "file entry");
  const length = asInt(dictGet(file, "length"), "length");
  if (length < 0n || length > BigInt(MAX_FILE_BYTES)) {
    fail(`length ${length} is not from 0 to ${MAX_FILE_BYTES}`);
  }
  const size = Number(length);
  const chunkCount = chunkCountFor(size, chunkSize);
  if (chunkCount > MAX_CHUNK_COUNT) {
    fail(`${chunkCount} chunks, at most ${MAX_CHUNK_COUNT}`);
  }
  if (size === 0) {
    return {
      name,
      size,
      chunkSize,
      chunkCount,
      piecesRoot: null,
      chunkHashes: new Uint8Array(),
    };
  }
  const root = dictGet(file, "pieces root");
  if (!(root instanceof Uint8Array) || root.byteLength !== HASH_BYTES) {
    fail("no 32-byte pieces root");
  }
  const piecesRoot = options.viewHashes ? root : root.slice();
  if (chunkCount === 1) {
    return { name, size, chunkSize, chunkCount, piecesRoot, chunkHashes: root };
  }
  const layers = top instanceof Map
    ? asDict(dictGet(top, "piece layers"), "piece layers")
    : fail("no piece layers");
  const layer = layers.get(bkey(root));
  if (!(layer instanceof Uint8Array)) fail("no piece layer for the file");
  if (layer.byteLength !== chunkCount * HASH_BYTES) {
    fail(
      `the piece layer has ${layer.byteLength} bytes, expected ${
        chunkCount * HASH_BYTES
      }`,
    );
  }
  if (!options.layerChecked) {
    const hashes: Uint8Array[] = [];
    for (let at = 0; at < layer.byteLength; at += HASH_BYTES) {
      hashes.push(layer.subarray(at, at + HASH_BYTES));
    }
    const width = pieceLeafCount(size, chunkSize);
    if (!bytesEqual(piecesRootFromLayer(hashes, width), root)) {
      fail("the piece layer does not hash to the pieces root");
    }
  }
  return {
    name,
    size,
    chunkSize,
    chunkCount,
    piecesRoot,
    chunkHashes: options.viewHashes ? layer : layer.slice(),
  };
}

/**
 * Builds a manifest from a file's bytes fed in order, in pieces of any size,
 * so a file is hashed while it streams from disk and never held whole. Each
 * 16 KiB block is hashed once; a chunk keeps only its blocks' hashes.
 *
 * @example
 * ```ts
 * import { ManifestBuilder } from "@shoal/protocol";
 * const builder = new ManifestBuilder();
 * builder.update(new TextEncoder().encode("hello"));
 * const { manifest } = builder.finish("hello.txt");
 * manifest.size; // 5
 * ```
 */
export class ManifestBuilder {
  readonly #chunkSize: number;
  readonly #block = new Uint8Array(BLOCK_BYTES);
  #blockFill = 0;
  /** Block hashes of the chunk being read, back to back (merkleRootInPlace). */
  readonly #leaves: Uint8Array;
  #leafCount = 0;
  #size = 0;
  /** Chunk hashes back to back; grown by doubling (one object, not one per chunk). */
  #chunkHashes = new Uint8Array(64 * HASH_BYTES);
  #chunkCount = 0;

  /**
   * @param chunkSize chunk size in bytes @default {512 KiB}
   * @param options `expectedBytes`: the file's size, if known, so the chunk
   * hashes get one buffer of the right size at once (no growing copies; a
   * 32 GiB file has 2 MiB of them). Any other size still builds correctly.
   */
  constructor(
    chunkSize: number = DEFAULT_CHUNK_BYTES,
    options: { expectedBytes?: number } = {},
  ) {
    if (
      !isPowerOfTwo(chunkSize) || chunkSize < MIN_CHUNK_BYTES ||
      chunkSize > MAX_CHUNK_BYTES
    ) {
      throw new RangeError(
        `Cannot build manifest: chunk size ${chunkSize} is not a power of two from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`,
      );
    }
    this.#chunkSize = chunkSize;
    this.#leaves = new Uint8Array((chunkSize / BLOCK_BYTES) * HASH_BYTES);
    const expected = options.expectedBytes ?? 0;
    if (expected > 0 && expected <= MAX_FILE_BYTES) {
      const chunks = Math.min(
        Math.ceil(expected / chunkSize),
        MAX_CHUNK_COUNT,
      );
      this.#chunkHashes = new Uint8Array(chunks * HASH_BYTES);
    }
  }

  /** Feeds the next bytes of the file. */
  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(
        BLOCK_BYTES - this.#blockFill,
        bytes.byteLength - at,
      );
      if (take === BLOCK_BYTES) {
        // A whole block in place: no copy.
        this.#addLeaf(bytes.subarray(at, at + take));
      } else {
        this.#block.set(bytes.subarray(at, at + take), this.#blockFill);
        this.#blockFill += take;
        if (this.#blockFill === BLOCK_BYTES) this.#flushBlock();
      }
      at += take;
      this.#size += take;
    }
    const chunks = Math.ceil(this.#size / this.#chunkSize);
    if (chunks > MAX_CHUNK_COUNT || this.#size > MAX_FILE_BYTES) {
      throw new RangeError(
        `Cannot build manifest: the file is larger than ${MAX_CHUNK_COUNT} chunks`,
      );
    }
  }

  #flushBlock(): void {
    this.#addLeaf(this.#block.subarray(0, this.#blockFill));
    this.#blockFill = 0;
  }

  #addLeaf(block: Uint8Array): void {
    const at = this.#leafCount * HASH_BYTES;
    sha256Into(block, this.#leaves.subarray(at, at + HASH_BYTES));
    this.#leafCount++;
    // A whole chunk has the full width whether or not more follows (a
    // one-chunk file of exactly chunkSize bytes pads to the same width).
    if (this.#leafCount * BLOCK_BYTES === this.#chunkSize) {
      this.#closeChunk(this.#chunkSize / BLOCK_BYTES);
    }
  }

  /** Stores the hash of the chunk's leaves, padded to `width`. */
  #closeChunk(width: number): void {
    const leaves = this.#leaves.subarray(0, this.#leafCount * HASH_BYTES);
    this.#leafCount = 0;
    this.#storeChunkHash(merkleRootInPlace(leaves, width));
  }

  #storeChunkHash(hash: Uint8Array): void {
    const at = this.#chunkCount * HASH_BYTES;
    if (at + HASH_BYTES > this.#chunkHashes.byteLength) {
      const grown = new Uint8Array(
        Math.max(this.#chunkHashes.byteLength * 2, 64 * HASH_BYTES),
      );
      grown.set(this.#chunkHashes);
      this.#chunkHashes = grown;
    }
    this.#chunkHashes.set(hash, at);
    this.#chunkCount++;
  }

  /**
   * Ends the file and returns its manifest, canonical bytes and id.
   *
   * @param name the file name to record
   */
  finish(
    name: string,
  ): { manifest: Manifest; bytes: Uint8Array; id: Uint8Array } {
    const manifest: Manifest = { name, ...this.finishFile() };
    const infoBytes = encodeBencode(infoDictionary(manifest));
    return {
      manifest,
      bytes: manifestBytesOf(infoBytes, manifest),
      id: sha256(infoBytes),
    };
  }

  /**
   * Ends the file and returns its hashes only, with no manifest encoded: for
   * a file of a folder (protocol/folder_manifest.ts), whose manifest is the
   * folder's. Call {@linkcode reset} to hash the next file with the same
   * buffers.
   *
   * @returns the manifest's fields but the name
   */
  finishFile(): Omit<Manifest, "name"> {
    if (this.#blockFill > 0) this.#flushBlock();
    const size = this.#size;
    // A last, partial chunk: a one-chunk file pads it only to its own
    // blocks (pieceLeafCount), any other file to the full width.
    if (this.#leafCount > 0) {
      this.#closeChunk(pieceLeafCount(size, this.#chunkSize));
    }
    const used = this.#chunkCount * HASH_BYTES;
    // The buffer itself when it is exactly full (the expected size was right).
    const chunkHashes = used === this.#chunkHashes.byteLength
      ? this.#chunkHashes
      : this.#chunkHashes.slice(0, used);
    let piecesRoot: Uint8Array | null = null;
    if (size > this.#chunkSize) {
      const hashes: Uint8Array[] = [];
      for (let at = 0; at < used; at += HASH_BYTES) {
        hashes.push(chunkHashes.subarray(at, at + HASH_BYTES));
      }
      piecesRoot = piecesRootFromLayer(
        hashes,
        pieceLeafCount(size, this.#chunkSize),
      );
    } else if (size > 0) {
      // One chunk: its hash is the pieces root.
      piecesRoot = chunkHashes.slice(0, HASH_BYTES);
    }
    return {
      size,
      chunkSize: this.#chunkSize,
      chunkCount: this.#chunkCount,
      piecesRoot,
      chunkHashes,
    };
  }

  /**
   * Starts the next file with the same chunk size, keeping the block
   * buffers (thousands of small files allocate them once, not per file).
   *
   * @param expectedBytes the next file's size, if known (see the constructor)
   */
  reset(expectedBytes = 0): void {
    this.#blockFill = 0;
    this.#leafCount = 0;
    this.#size = 0;
    this.#chunkCount = 0;
    // A new one: finish may have handed out the last one itself.
    this.#chunkHashes = new Uint8Array(
      expectedBytes > 0 && expectedBytes <= MAX_FILE_BYTES
        ? Math.min(
          Math.ceil(expectedBytes / this.#chunkSize),
          MAX_CHUNK_COUNT,
        ) *
          HASH_BYTES
        : 64 * HASH_BYTES,
    );
  }
}
