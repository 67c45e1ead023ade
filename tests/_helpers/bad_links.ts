/**
 * Hostile `.torrent` files and magnet links, one per class of mistake a
 * user or an attacker can hand the peer, made from a good torrent so each
 * differs from it in one way only.
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
  toHex,
} from "@shoal/protocol";

const UTF8 = new TextEncoder();

function k(name: string): string {
  return bkey(UTF8.encode(name));
}

/** A copy of the good torrent's info dictionary with `change` applied. */
function withInfo(good: Uint8Array, change: (info: BDict) => void): Uint8Array {
  const top = new Map(decodeBencode(good) as BDict);
  const info = new Map(dictGet(top, "info") as BDict);
  change(info);
  top.set(k("info"), info);
  return encodeBencode(top);
}

/** The good torrent's single file tree entry (its `length`, `pieces root`). */
function fileEntry(info: BDict): BValue {
  const tree = dictGet(info, "file tree") as BDict;
  return [...tree.values()][0]!;
}

/** A copy of the good torrent whose file tree is `tree(entry)`, `entry` its one file's. */
function withTree(
  good: Uint8Array,
  tree: (entry: BValue) => [string, BValue][],
): Uint8Array {
  return withInfo(good, (info) => {
    info.set(k("file tree"), new Map(tree(fileEntry(info))));
  });
}

/**
 * Bad `.torrent` files, by class, each made from `good` (a Shoal torrent of
 * a file of more than one chunk).
 *
 * @param good a valid v2 torrent
 * @returns name of the class to the bytes of the file
 */
export function badTorrents(good: Uint8Array): Record<string, Uint8Array> {
  return {
    truncated: good.subarray(0, Math.floor(good.byteLength / 2)),
    "wrong types": withInfo(good, (info) => {
      info.set(k("piece length"), UTF8.encode("524288"));
    }),
    "v1-only": withInfo(good, (info) => {
      info.delete(k("file tree"));
      info.delete(k("meta version"));
      info.set(k("length"), 1000n);
      info.set(k("pieces"), new Uint8Array(20));
    }),
    "a folder path that escapes": withTree(good, (entry) => [
      [k("a"), new Map([[k(".."), new Map([[k("x"), entry]])]])],
    ]),
    "a folder whose names collide": withTree(good, (entry) => [
      [k("A.bin"), entry],
      [k("a.bin"), entry],
    ]),
    "a name that escapes the folder": withInfo(good, (info) => {
      const entry = fileEntry(info);
      info.set(k("name"), UTF8.encode("../escaped.bin"));
      info.set(k("file tree"), new Map([[k("../escaped.bin"), entry]]));
    }),
    "not bencode": UTF8.encode("<html>not a torrent</html>"),
  };
}

/**
 * Bad magnet links, by class.
 *
 * @param id a 32-byte id to put in links that need one
 * @returns name of the class to the link
 */
export function badMagnets(id: Uint8Array): Record<string, string> {
  const hex = toHex(id);
  return {
    "v1-only": `magnet:?xt=urn:btih:${hex.slice(0, 40)}&dn=a.bin`,
    truncated: `magnet:?xt=urn:btmh:1220${hex.slice(0, 20)}`,
    "wrong hash type": `magnet:?xt=urn:btmh:1114${hex.slice(0, 40)}&dn=a.bin`,
    "not hexadecimal": `magnet:?xt=urn:btmh:1220${"zz".repeat(32)}`,
    "no infohash": "magnet:?dn=a.bin&tr=udp%3A%2F%2F127.0.0.1%3A6969",
    "a name that escapes the folder": `magnet:?xt=urn:btmh:1220${hex}&dn=${
      encodeURIComponent("../../escaped.bin")
    }`,
    "bad %-encoding": `magnet:?xt=urn:btmh:1220${hex}&dn=%E0%A4%A`,
  };
}
