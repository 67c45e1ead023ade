/**
 * `.torrent` files: a manifest (info dictionary and piece layers) plus the
 * trackers to announce to (BEP 3 `announce`, BEP 12 `announce-list`).
 *
 * @module
 */
import {
  type BDict,
  bkey,
  type BValue,
  decodeBencode,
  dictGet,
  encodeBencode,
} from "./bencode.ts";
import { MAX_MANIFEST_BYTES } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { fileIdOf, type Manifest, parseManifest } from "./manifest.ts";
import {
  type FolderManifest,
  isFolderManifest,
  parseFolderManifest,
} from "./folder_manifest.ts";

/** Most tracker URLs kept from one `.torrent` or magnet link. */
export const MAX_TORRENT_TRACKERS = 32;
/** Longest tracker URL kept, in bytes. */
export const MAX_TRACKER_URL_BYTES = 512;
/** Largest `.torrent` read: a manifest plus room for trackers and comments. */
export const MAX_TORRENT_BYTES = MAX_MANIFEST_BYTES + 64 * 1024;

/** A decoded, checked `.torrent`. */
export interface Torrent {
  /** The file it describes. */
  manifest: Manifest;
  /** The manifest alone (info and piece layers), as Shoal peers send it. */
  manifestBytes: Uint8Array;
  /** The v2 infohash: SHA-256 of the info dictionary. */
  id: Uint8Array;
  /** Tracker URLs, first tier first, without repeats. */
  trackers: string[];
  /** The folder it describes, when it is one (`manifest` then sums it up). */
  folder?: FolderManifest;
}

const UTF8 = new TextEncoder();
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function k(name: string): string {
  return bkey(UTF8.encode(name));
}

function urlText(value: BValue | undefined): string | null {
  if (!(value instanceof Uint8Array)) return null;
  if (value.byteLength > MAX_TRACKER_URL_BYTES) return null;
  try {
    return STRICT_UTF8.decode(value);
  } catch {
    return null;
  }
}

/**
 * Decodes and checks a `.torrent`: a v2 (or hybrid) torrent of one file or
 * of a folder.
 * Tracker entries that are not text are skipped, not fatal.
 *
 * @param bytes untrusted file contents
 * @returns the torrent
 * @throws {ProtocolError} when the bytes are not a usable v2 torrent
 * @example
 * ```ts
 * import { parseTorrent } from "@shoal/protocol";
 * // const { manifest, id, trackers } = parseTorrent(await Deno.readFile(path));
 * ```
 */
export function parseTorrent(bytes: Uint8Array): Torrent {
  if (bytes.byteLength > MAX_TORRENT_BYTES) {
    throw new ProtocolError(
      "too_long",
      `Cannot read torrent: ${bytes.byteLength} bytes, at most ${MAX_TORRENT_BYTES}`,
    );
  }
  const top = decodeBencode(bytes);
  if (!(top instanceof Map)) {
    throw new ProtocolError(
      "bad_type",
      "Cannot read torrent: it is not a bencoded dictionary",
    );
  }
  const info = dictGet(top, "info");
  const layers = dictGet(top, "piece layers");
  // The strict decoder accepts only canonical bencode, so encoding the
  // decoded values gives back the same bytes: the id does not change.
  const manifestDict: BDict = new Map();
  if (info !== undefined) manifestDict.set(k("info"), info);
  if (layers !== undefined) manifestDict.set(k("piece layers"), layers);
  const manifestBytes = encodeBencode(manifestDict);
  const { manifest, folder } = readAnyManifest(manifestBytes);
  const trackers: string[] = [];
  const add = (value: BValue | undefined) => {
    const url = urlText(value);
    if (
      url && !trackers.includes(url) && trackers.length < MAX_TORRENT_TRACKERS
    ) trackers.push(url);
  };
  const tiers = dictGet(top, "announce-list");
  if (Array.isArray(tiers)) {
    for (const tier of tiers) {
      if (Array.isArray(tier)) { for (const url of tier) add(url); }
    }
  }
  add(dictGet(top, "announce"));
  return {
    manifest,
    manifestBytes,
    id: fileIdOf(manifestBytes),
    trackers,
    ...(folder ? { folder } : {}),
  };
}

/**
 * Reads checked manifest bytes as one file's or a folder's: the one place
 * that tells them apart, for `.torrent` files and for downloads.
 *
 * @param bytes manifest bytes
 * @param options `viewHashes`: keep a view of the piece layer, not a copy;
 *   `layerChecked`: this process has already checked these bytes' piece
 *   layers against their roots (this reader, or a BitTorrent peer's hashes
 *   proven one request at a time), so they are not hashed up to them again
 * @returns the manifest (for a folder, its summary) and the folder, if one
 * @throws {ProtocolError} when they are neither
 * @example
 * ```ts
 * import { readAnyManifest } from "@shoal/protocol";
 * // const { manifest, folder } = readAnyManifest(bytes);
 * ```
 */
export function readAnyManifest(
  bytes: Uint8Array,
  options: { viewHashes?: boolean; layerChecked?: boolean } = {},
): { manifest: Manifest; folder: FolderManifest | null } {
  if (!isFolderManifest(bytes)) {
    return { manifest: parseManifest(bytes, options), folder: null };
  }
  const folder = parseFolderManifest(bytes, {
    layerChecked: options.layerChecked ?? false,
  });
  return { manifest: folderSummary(folder), folder };
}

/**
 * A folder summed up as one manifest: its name, total size and pieces (no
 * piece layer).
 *
 * @param folder the folder manifest
 * @returns the summary
 */
export function folderSummary(folder: FolderManifest): Manifest {
  return {
    name: folder.name,
    size: folder.size,
    chunkSize: folder.chunkSize,
    chunkCount: folder.chunkCount,
    piecesRoot: null,
    chunkHashes: new Uint8Array(),
  };
}

/**
 * Writes a `.torrent` from manifest bytes and tracker URLs (each in a tier
 * of its own, the first also as `announce`).
 *
 * @param manifestBytes a manifest, as a peer or the library holds it, or
 *   a folder's manifest (encodeFolderManifest)
 * @param trackers tracker URLs, e.g. `udp://127.0.0.1:6969/announce`
 * @returns the `.torrent` bytes; their infohash is the manifest's id
 * @throws {ProtocolError} when the manifest bytes are not valid
 * @example
 * ```ts
 * import { encodeTorrent } from "@shoal/protocol";
 * // await Deno.writeFile("a.torrent", encodeTorrent(bytes, ["udp://host:6969/announce"]));
 * ```
 */
export function encodeTorrent(
  manifestBytes: Uint8Array,
  trackers: readonly string[],
): Uint8Array {
  readAnyManifest(manifestBytes, { viewHashes: true });
  const top = decodeBencode(manifestBytes) as BDict;
  const out: BDict = new Map(top);
  if (trackers.length > 0) {
    out.set(k("announce"), UTF8.encode(trackers[0]!));
    if (trackers.length > 1) {
      out.set(
        k("announce-list"),
        trackers.map((url) => [UTF8.encode(url)]),
      );
    }
  }
  out.set(k("created by"), UTF8.encode("Shoal"));
  return encodeBencode(out);
}
