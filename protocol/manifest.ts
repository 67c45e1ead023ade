/**
 * The manifest: a file's name, size, chunk size, the SHA-256 of every chunk
 * and of the whole file, in one canonical byte form. A file's id is the
 * SHA-256 of those bytes, so a manifest from any peer is checked against the
 * id, and every chunk against the manifest (docs/PROTOCOL.md, "Manifest").
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  DEFAULT_CHUNK_BYTES,
  HASH_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MAX_MANIFEST_BYTES,
  MIN_CHUNK_BYTES,
} from "./constants.ts";
import { ByteReader, ByteWriter, utf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";

/** "SHMF": the first four bytes of a manifest. */
export const MANIFEST_MAGIC = 0x53484d46;
/** Manifest format version. */
export const MANIFEST_VERSION = 1;
/** Hash algorithm number for SHA-256, the only one in version 1. */
export const HASH_SHA256 = 1;

/** A decoded, checked manifest. */
export interface Manifest {
  /** Safe file name. */
  name: string;
  /** File size in bytes. */
  size: number;
  /** Chunk size in bytes (a power of two); the last chunk may be shorter. */
  chunkSize: number;
  /** `ceil(size / chunkSize)`. */
  chunkCount: number;
  /** SHA-256 of the whole file. */
  fileHash: Uint8Array;
  /** The SHA-256 of every chunk, 32 bytes each, in order. */
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
 * The expected SHA-256 of chunk `index` (a view into the manifest).
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

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/**
 * Encodes a manifest in its canonical form.
 *
 * @param manifest the manifest
 * @returns canonical bytes, whose SHA-256 is the file id
 * @throws {TypeError} when a field is invalid
 * @example
 * ```ts
 * import { encodeManifest, parseManifest } from "@shoal/protocol";
 * // parseManifest(encodeManifest(m)) deep-equals m
 * ```
 */
export function encodeManifest(manifest: Manifest): Uint8Array {
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
  const name = utf8(manifest.name);
  const size = 8 + name.byteLength + 8 + 4 + 4 + HASH_BYTES +
    manifest.chunkHashes.byteLength;
  return new ByteWriter(size)
    .u32(MANIFEST_MAGIC).u8(MANIFEST_VERSION).u8(HASH_SHA256).u16(
      name.byteLength,
    ).bytes(name)
    .u64(manifest.size).u32(manifest.chunkSize).u32(manifest.chunkCount)
    .bytes(manifest.fileHash).bytes(manifest.chunkHashes)
    .finish();
}

/**
 * Decodes and checks a manifest: magic, version, a safe name, a chunk size
 * that is a power of two within limits, and a chunk count that matches the
 * size. Total: any input gives a manifest or a {@linkcode ProtocolError}.
 *
 * @param bytes untrusted bytes
 * @param options `viewHashes`: the chunk hashes are a view into `bytes`
 *   instead of a copy. Only for bytes nobody writes again, such as the one
 *   shared copy of a download's manifest that its workers all read (a 32 GiB
 *   file's hashes are 2 MiB; a copy per isolate grows with the file).
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
  options: { viewHashes?: boolean } = {},
): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ProtocolError(
      "too_long",
      `Cannot decode manifest: ${bytes.byteLength} bytes, at most ${MAX_MANIFEST_BYTES}`,
    );
  }
  const reader = new ByteReader(bytes);
  const magic = reader.u32("manifest magic");
  if (magic !== MANIFEST_MAGIC) {
    throw new ProtocolError(
      "bad_magic",
      'Cannot decode manifest: magic is not "SHMF"',
    );
  }
  const version = reader.u8("manifest version");
  if (version !== MANIFEST_VERSION) {
    throw new ProtocolError(
      "bad_version",
      `Cannot decode manifest: version ${version}, expected ${MANIFEST_VERSION}`,
      4,
    );
  }
  const algorithm = reader.u8("hash algorithm");
  if (algorithm !== HASH_SHA256) {
    throw new ProtocolError(
      "bad_value",
      `Cannot decode manifest: hash algorithm ${algorithm}, expected SHA-256`,
      5,
    );
  }
  const nameAt = reader.offset;
  const name = reader.string(reader.u16("name length"), "file name");
  const problem = fileNameProblem(name);
  if (problem) {
    throw new ProtocolError(
      "bad_string",
      `Cannot decode manifest: file name ${problem}`,
      nameAt,
    );
  }
  const size = reader.u64("file size", MAX_FILE_BYTES);
  const chunkSizeAt = reader.offset;
  const chunkSize = reader.u32("chunk size");
  if (
    !isPowerOfTwo(chunkSize) || chunkSize < MIN_CHUNK_BYTES ||
    chunkSize > MAX_CHUNK_BYTES
  ) {
    throw new ProtocolError(
      "bad_manifest",
      `Cannot decode manifest: chunk size ${chunkSize} is not a power of two from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`,
      chunkSizeAt,
    );
  }
  const countAt = reader.offset;
  const chunkCount = reader.u32("chunk count");
  if (
    chunkCount > MAX_CHUNK_COUNT ||
    chunkCount !== chunkCountFor(size, chunkSize)
  ) {
    throw new ProtocolError(
      "bad_manifest",
      `Cannot decode manifest: ${chunkCount} chunks, expected ${
        chunkCountFor(size, chunkSize)
      } (at most ${MAX_CHUNK_COUNT})`,
      countAt,
    );
  }
  const fileHash = reader.copy(HASH_BYTES, "file hash");
  const chunkHashes = options.viewHashes
    ? reader.bytes(chunkCount * HASH_BYTES, "chunk hashes")
    : reader.copy(chunkCount * HASH_BYTES, "chunk hashes");
  reader.end("manifest");
  return { name, size, chunkSize, chunkCount, fileHash, chunkHashes };
}

/**
 * SHA-256 of some bytes.
 *
 * @param bytes the data
 * @returns 32 bytes
 * @example
 * ```ts
 * import { sha256 } from "@shoal/protocol";
 * sha256(new Uint8Array()).byteLength; // 32
 * ```
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/**
 * The file id: SHA-256 of the canonical manifest bytes.
 *
 * @param manifestBytes canonical manifest bytes
 * @returns 32 bytes
 * @example
 * ```ts
 * import { fileIdOf } from "@shoal/protocol";
 * // toHex(fileIdOf(encodeManifest(manifest)))
 * ```
 */
export function fileIdOf(manifestBytes: Uint8Array): Uint8Array {
  return sha256(manifestBytes);
}

/**
 * Builds a manifest from a file's bytes fed in order, in pieces of any size,
 * so a file is hashed while it streams from disk and never held whole.
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
  readonly #fileHash = createHash("sha256");
  #chunkHash = createHash("sha256");
  #chunkFill = 0;
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
    this.#fileHash.update(bytes);
    this.#size += bytes.byteLength;
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(
        this.#chunkSize - this.#chunkFill,
        bytes.byteLength - at,
      );
      this.#chunkHash.update(bytes.subarray(at, at + take));
      this.#chunkFill += take;
      at += take;
      if (this.#chunkFill === this.#chunkSize) this.#closeChunk();
    }
    // A partly filled chunk counts too: finish() will close it.
    const chunks = this.#chunkCount + (this.#chunkFill > 0 ? 1 : 0);
    if (chunks > MAX_CHUNK_COUNT || this.#size > MAX_FILE_BYTES) {
      throw new RangeError(
        `Cannot build manifest: the file is larger than ${MAX_CHUNK_COUNT} chunks`,
      );
    }
  }

  #closeChunk(): void {
    const at = this.#chunkCount * HASH_BYTES;
    if (at + HASH_BYTES > this.#chunkHashes.byteLength) {
      const grown = new Uint8Array(
        Math.max(this.#chunkHashes.byteLength * 2, 64 * HASH_BYTES),
      );
      grown.set(this.#chunkHashes);
      this.#chunkHashes = grown;
    }
    this.#chunkHashes.set(this.#chunkHash.digest(), at);
    this.#chunkCount++;
    this.#chunkHash = createHash("sha256");
    this.#chunkFill = 0;
  }

  /**
   * Ends the file and returns its manifest, canonical bytes and id.
   *
   * @param name the file name to record
   */
  finish(
    name: string,
  ): { manifest: Manifest; bytes: Uint8Array; id: Uint8Array } {
    if (this.#chunkFill > 0) this.#closeChunk();
    const used = this.#chunkCount * HASH_BYTES;
    // The buffer itself when it is exactly full (the expected size was right).
    const chunkHashes = used === this.#chunkHashes.byteLength
      ? this.#chunkHashes
      : this.#chunkHashes.slice(0, used);
    const manifest: Manifest = {
      name,
      size: this.#size,
      chunkSize: this.#chunkSize,
      chunkCount: this.#chunkCount,
      fileHash: new Uint8Array(this.#fileHash.digest()),
      chunkHashes,
    };
    const bytes = encodeManifest(manifest);
    return { manifest, bytes, id: fileIdOf(bytes) };
  }
}
