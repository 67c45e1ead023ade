/**
 * The BEP 52 `file tree` of a folder: a nested dictionary whose keys are
 * path components and whose leaves are `{"": {length, pieces root}}`, read
 * into a flat list of files and written back. Paths come from the network,
 * so every component is a safe file name (protocol/file_name.ts), no two
 * siblings can land on the same file on a case-insensitive file system, a
 * name is a file or a folder but never both, and depth, count and path
 * length are bounded (docs/PROTOCOL.md, "Folders").
 *
 * @module
 */
import {
  HASH_BYTES,
  MAX_FILE_BYTES,
  MAX_PATH_BYTES,
  MAX_TREE_DEPTH,
  MAX_TREE_FILES,
} from "./constants.ts";
import { type BDict, bkey, type BValue } from "./bencode.ts";
import { utf8 } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { fileNameProblem } from "./file_name.ts";

/** One file of a file tree. */
export interface TreeFile {
  /** Its path below the folder, one safe name per component. */
  path: string[];
  /** Its size in bytes. */
  length: number;
  /** The root of its Merkle tree (BEP 52 `pieces root`); null when empty. */
  piecesRoot: Uint8Array | null;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The key two names share when a case-insensitive file system (Windows,
 * macOS) would store them as one file: case folded both ways (so "ß" meets
 * "SS"), in NFC (so a decomposed "é" meets a composed one).
 *
 * @param name a file name
 * @returns the key to compare
 * @example
 * ```ts
 * import { foldedName } from "@shoal/protocol";
 * foldedName("Read.ME") === foldedName("read.me"); // true
 * ```
 */
export function foldedName(name: string): string {
  return name.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC");
}

/** Why a path component cannot be used, or null (the shared checks). */
function componentProblem(
  name: string,
  siblings: Map<string, string>,
): string | null {
  const problem = fileNameProblem(name);
  if (problem) return `name "${printable(name)}" ${problem}`;
  const folded = foldedName(name);
  const other = siblings.get(folded);
  if (other !== undefined) {
    return `"${printable(other)}" and "${
      printable(name)
    }" would be one file on a case-insensitive file system`;
  }
  siblings.set(folded, name);
  return null;
}

/** A name as it may be printed on one line (controls escaped). */
function printable(name: string): string {
  return name.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  ).slice(0, 80);
}

function fail(
  message: string,
  code: "bad_manifest" | "bad_string" | "too_long" = "bad_manifest",
): never {
  throw new ProtocolError(code, `Cannot read file tree: ${message}`);
}

/**
 * Reads a BEP 52 `file tree` into its files, depth first with the keys of
 * each folder in byte order (the order BEP 52 lays files out in). Total:
 * any value gives a list or a {@linkcode ProtocolError}. Keys other than
 * `length` and `pieces root` in a file entry (libtorrent's `attr`) are
 * ignored; an empty file's `pieces root`, if any, is dropped.
 *
 * @param tree the decoded `file tree` value, untrusted
 * @returns at least one file, in BEP 52 order
 * @throws {ProtocolError} when a path breaks a rule or an entry is malformed
 * @example
 * ```ts
 * import { decodeBencode, decodeFileTree } from "@shoal/protocol";
 * const tree = decodeBencode(new TextEncoder().encode("d1:ad0:d6:lengthi0eeee"));
 * decodeFileTree(tree); // [{ path: ["a"], length: 0, piecesRoot: null }]
 * ```
 */
export function decodeFileTree(tree: BValue | undefined): TreeFile[] {
  if (!(tree instanceof Map)) fail("it is not a dictionary");
  const files: TreeFile[] = [];
  walkFolder(tree, [], 0, files);
  if (files.length === 0) fail("it holds no file");
  return files;
}

function walkFolder(
  folder: BDict,
  path: string[],
  pathBytes: number,
  files: TreeFile[],
): void {
  if (path.length >= MAX_TREE_DEPTH) {
    fail(`folders nest deeper than ${MAX_TREE_DEPTH}`, "too_long");
  }
  const siblings = new Map<string, string>();
  // Keys are byte strings (bkey): string order is byte order.
  for (const key of [...folder.keys()].sort()) {
    if (key === "") {
      fail(
        path.length === 0
          ? "a file has no name"
          : `"${path.join("/")}" is a file and a folder at once`,
      );
    }
    const name = nameOf(key);
    const problem = componentProblem(name, siblings);
    if (problem) fail(problem, "bad_string");
    // A key holds one character per byte.
    const bytes = pathBytes + (path.length > 0 ? 1 : 0) + key.length;
    if (bytes > MAX_PATH_BYTES) {
      fail(`a path is longer than ${MAX_PATH_BYTES} bytes`, "too_long");
    }
    const node = folder.get(key);
    if (!(node instanceof Map)) {
      fail(`"${printable(name)}" is not a dictionary`);
    }
    const here = [...path, name];
    if (node.has("")) {
      if (node.size !== 1) {
        fail(`"${printable(here.join("/"))}" is a file and a folder at once`);
      }
      if (files.length >= MAX_TREE_FILES) {
        fail(`more than ${MAX_TREE_FILES} files`, "too_long");
      }
      files.push(fileOf(node.get(""), here));
    } else {
      if (node.size === 0) {
        fail(`the folder "${printable(here.join("/"))}" is empty`);
      }
      walkFolder(node, here, bytes, files);
    }
  }
}

function nameOf(key: string): string {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return fail("a name is not UTF-8", "bad_string");
  }
}

function fileOf(entry: BValue | undefined, path: string[]): TreeFile {
  const where = `"${printable(path.join("/"))}"`;
  if (!(entry instanceof Map)) fail(`${where} has no file entry`);
  const length = entry.get("length");
  if (typeof length !== "bigint" || length < 0n || length > MAX_FILE_BYTES) {
    fail(`${where} has no length from 0 to ${MAX_FILE_BYTES}`);
  }
  if (length === 0n) return { path, length: 0, piecesRoot: null };
  const root = entry.get("pieces root");
  if (!(root instanceof Uint8Array) || root.byteLength !== HASH_BYTES) {
    fail(`${where} has no 32-byte pieces root`);
  }
  return { path, length: Number(length), piecesRoot: root.slice() };
}

/**
 * Why `files` cannot be written as one file tree, or null when they can:
 * the rules {@linkcode decodeFileTree} checks, for a folder on disk.
 *
 * @param files the files, in any order
 * @returns one line, or null
 * @example
 * ```ts
 * import { fileTreeProblem } from "@shoal/protocol";
 * fileTreeProblem([{ path: ["a", ".."], length: 0, piecesRoot: null }]);
 * // 'name ".." is a relative folder'
 * ```
 */
export function fileTreeProblem(files: readonly TreeFile[]): string | null {
  const tree = checkedTree(files);
  return typeof tree === "string" ? tree : null;
}

/**
 * Writes files as a BEP 52 `file tree` (encode it with encodeBencode, which
 * sorts the keys).
 *
 * @param files at least one file, each path a list of safe names
 * @returns the nested dictionary
 * @throws {TypeError} when the files break a rule of {@linkcode decodeFileTree}
 * @example
 * ```ts
 * import { encodeBencode, encodeFileTree } from "@shoal/protocol";
 * encodeBencode(encodeFileTree([{ path: ["a"], length: 0, piecesRoot: null }]));
 * ```
 */
export function encodeFileTree(files: readonly TreeFile[]): BDict {
  const tree = checkedTree(files);
  if (typeof tree === "string") {
    throw new TypeError(`Cannot encode file tree: ${tree}`);
  }
  return tree;
}

/** The tree of `files`, checked by the decoder's own rules, or why not. */
function checkedTree(files: readonly TreeFile[]): BDict | string {
  // Checked as given: UTF-8 would turn a lone surrogate into U+FFFD.
  for (const file of files) {
    for (const name of file.path) {
      if (name.isWellFormed()) continue;
      return `name "${printable(name)}" ${fileNameProblem(name)}`;
    }
  }
  try {
    const tree = encodeUnchecked(files);
    decodeFileTree(tree);
    return tree;
  } catch (error) {
    if (error instanceof ProtocolError) {
      return error.message.replace(/^Cannot read file tree: /, "");
    }
    if (error instanceof TypeError) return error.message;
    throw error;
  }
}

/** The dictionary key of a name: its UTF-8 bytes, one character each. */
function keyOf(name: string): string {
  return PRINTABLE_ASCII.test(name) ? name : bkey(utf8(name));
}

const PRINTABLE_ASCII = /^[ -~]*$/;

function encodeUnchecked(files: readonly TreeFile[]): BDict {
  const tree: BDict = new Map();
  for (const file of files) {
    if (file.path.length === 0) {
      throw new TypeError("a file has no path");
    }
    let folder = tree;
    for (const name of file.path.slice(0, -1)) {
      const key = keyOf(name);
      let next = folder.get(key);
      if (next === undefined) {
        next = new Map();
        folder.set(key, next);
      }
      if (!(next instanceof Map) || next.has("")) {
        throw new TypeError(
          `"${printable(name)}" is a file and a folder at once`,
        );
      }
      folder = next;
    }
    if (!Number.isSafeInteger(file.length) || file.length < 0) {
      throw new TypeError(
        `"${
          printable(file.path.join("/"))
        }" has no length from 0 to ${MAX_FILE_BYTES}`,
      );
    }
    const key = keyOf(file.path.at(-1)!);
    if (folder.has(key)) {
      throw new TypeError(
        `"${
          printable(file.path.join("/"))
        }" is listed twice, or as a file and a folder at once`,
      );
    }
    const entry: BDict = new Map<string, BValue>([[
      "length",
      BigInt(file.length),
    ]]);
    if (file.length > 0) {
      if (file.piecesRoot?.byteLength !== HASH_BYTES) {
        throw new TypeError(
          `"${printable(file.path.join("/"))}" has no 32-byte pieces root`,
        );
      }
      entry.set("pieces root", file.piecesRoot);
    }
    folder.set(key, new Map([["", entry]]));
  }
  return tree;
}
