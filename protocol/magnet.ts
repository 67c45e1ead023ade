/**
 * Magnet links for v2 torrents (BEP 9, BEP 52):
 * `magnet:?xt=urn:btmh:1220<infohash hex>&dn=NAME&tr=TRACKER`. `1220` is
 * the multihash prefix of a 32-byte SHA-256.
 *
 * @module
 */
import { FILE_ID_BYTES } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";
import { fromHex, toHex } from "./hex.ts";
import { MAX_TORRENT_TRACKERS, MAX_TRACKER_URL_BYTES } from "./torrent.ts";

/** Longest magnet link read, in characters. */
export const MAX_MAGNET_CHARS = 16 * 1024;
/** The multihash prefix of a SHA-256 digest: code 0x12, length 0x20. */
const SHA256_MULTIHASH = "1220";

/** A decoded magnet link. */
export interface MagnetLink {
  /** The v2 infohash (the Shoal file id). */
  id: Uint8Array;
  /** The display name (`dn`, a safe file name), or null. */
  name: string | null;
  /** Tracker URLs (`tr`), in order, without repeats. */
  trackers: string[];
}

function fail(message: string): never {
  throw new ProtocolError("bad_value", `Cannot read magnet link: ${message}`);
}

/**
 * Whether `text` looks like a magnet link (to tell it from a file name).
 *
 * @param text user input
 * @returns true when it starts with `magnet:`
 */
export function isMagnetLink(text: string): boolean {
  return /^magnet:/i.test(text);
}

/**
 * Decodes a magnet link with a v2 infohash. Total: a link or a
 * {@linkcode ProtocolError}.
 *
 * @param text untrusted text
 * @returns the infohash, name and trackers
 * @throws {ProtocolError} when it is not a magnet link, has no v2 infohash
 *   (a v1-only link says so), names an unsafe file (`dn`), or is malformed
 * @example
 * ```ts
 * import { parseMagnet } from "@shoal/protocol";
 * parseMagnet("magnet:?xt=urn:btmh:1220" + "ab".repeat(32) + "&dn=a.bin").name; // "a.bin"
 * ```
 */
export function parseMagnet(text: string): MagnetLink {
  if (text.length > MAX_MAGNET_CHARS) {
    fail(`${text.length} characters, at most ${MAX_MAGNET_CHARS}`);
  }
  if (!isMagnetLink(text)) fail('it does not start with "magnet:"');
  const query = text.slice("magnet:".length).replace(/^\?/, "");
  let id: Uint8Array | null = null;
  let v1 = false;
  let name: string | null = null;
  const trackers: string[] = [];
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    let value: string;
    try {
      value = decodeURIComponent(
        (eq < 0 ? "" : part.slice(eq + 1)).replaceAll("+", " "),
      );
    } catch {
      fail(`"${key}" is not properly %-encoded`);
    }
    // BEP 9 allows numbered keys such as xt.1 and tr.2.
    const base = key.replace(/\.\d+$/, "");
    if (base === "xt") {
      const lower = value.toLowerCase();
      if (lower.startsWith("urn:btmh:")) {
        const hash = lower.slice("urn:btmh:".length);
        if (
          !hash.startsWith(SHA256_MULTIHASH) ||
          hash.length !== SHA256_MULTIHASH.length + 2 * FILE_ID_BYTES
        ) fail("the btmh hash is not a 32-byte SHA-256 (1220 + 64 hex digits)");
        id = fromHex(hash.slice(SHA256_MULTIHASH.length));
        if (!id) fail("the btmh hash is not hexadecimal");
      } else if (lower.startsWith("urn:btih:")) {
        v1 = true;
      }
    } else if (base === "dn") {
      // Only advisory (the manifest names the file), but a caller may show
      // it or name a file after it before the manifest arrives.
      const problem = value === "" ? null : fileNameProblem(value);
      if (problem) fail(`its name (dn) ${problem}`);
      if (value !== "") name ??= value;
    } else if (base === "tr") {
      if (
        new TextEncoder().encode(value).byteLength <= MAX_TRACKER_URL_BYTES &&
        !trackers.includes(value) && trackers.length < MAX_TORRENT_TRACKERS
      ) trackers.push(value);
    }
  }
  if (!id) {
    fail(
      v1
        ? "it names only a BitTorrent v1 infohash (btih); Shoal needs a v2 one (xt=urn:btmh:1220...)"
        : "no v2 infohash (xt=urn:btmh:1220...)",
    );
  }
  return { id, name, trackers };
}

/**
 * Writes the magnet link of a file.
 *
 * @param id the v2 infohash
 * @param name the file name (`dn`)
 * @param trackers tracker URLs (`tr`)
 * @returns the link
 * @example
 * ```ts
 * import { magnetLink } from "@shoal/protocol";
 * magnetLink(new Uint8Array(32), "a.bin", ["udp://127.0.0.1:6969/announce"]);
 * // "magnet:?xt=urn:btmh:1220000...&dn=a.bin&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
 * ```
 */
export function magnetLink(
  id: Uint8Array,
  name: string,
  trackers: readonly string[] = [],
): string {
  let link = `magnet:?xt=urn:btmh:${SHA256_MULTIHASH}${toHex(id)}&dn=${
    encodeURIComponent(name)
  }`;
  for (const url of trackers) link += `&tr=${encodeURIComponent(url)}`;
  return link;
}
