import assert from "node:assert/strict";
import {
  type BDict,
  bkey,
  type BValue,
  decodeBencode,
  decodeFileTree,
  encodeBencode,
  encodeFileTree,
  fileTreeProblem,
  MAX_PATH_BYTES,
  MAX_TREE_DEPTH,
  MAX_TREE_FILES,
  ProtocolError,
  type TreeFile,
} from "@shoal/protocol";

const UTF8 = new TextEncoder();
const utf8 = (text: string) => UTF8.encode(text);

const ROOT = new Uint8Array(32).fill(7);

function file(path: string, length = 5): TreeFile {
  return { path: path.split("/"), length, piecesRoot: length ? ROOT : null };
}

/** A raw file tree from paths, with no checks (what a hostile peer sends). */
function rawTree(entries: [string[], BValue][]): BDict {
  const tree: BDict = new Map();
  for (const [path, leaf] of entries) {
    let folder = tree;
    for (const name of path.slice(0, -1)) {
      const key = bkey(utf8(name));
      if (!folder.has(key)) folder.set(key, new Map());
      folder = folder.get(key) as BDict;
    }
    folder.set(bkey(utf8(path.at(-1)!)), leaf);
  }
  return tree;
}

function leaf(length = 5n): BDict {
  const entry: BDict = new Map<string, BValue>([["length", length]]);
  if (length > 0n) entry.set("pieces root", ROOT);
  return new Map([["", entry]]);
}

function refusal(tree: BValue): string {
  try {
    decodeFileTree(tree);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.ok(!error.message.includes("\n"), error.message);
    return error.message;
  }
  assert.fail("the tree was accepted");
}

Deno.test("decodeFileTree() reads a nested tree depth first in byte order, empty files and non-ASCII names kept", () => {
  const files = [
    file("b.txt"),
    file("a/z.bin", 0),
    file("a.txt", 40_000),
    file("a/deep/x/日本語.txt", 3),
    file("Zed"),
    file("a/é 🐟.bin", 1),
  ];
  // Through bencode, as it travels.
  const decoded = decodeFileTree(
    decodeBencode(encodeBencode(encodeFileTree(files))),
  );
  assert.deepStrictEqual(decoded.map((f) => f.path.join("/")), [
    "Zed",
    "a/deep/x/日本語.txt",
    "a/z.bin",
    "a/é 🐟.bin",
    "a.txt",
    "b.txt",
  ]);
  const byPath = new Map(files.map((f) => [f.path.join("/"), f]));
  for (const got of decoded) {
    assert.deepStrictEqual(got, byPath.get(got.path.join("/")));
  }
});

Deno.test("decodeFileTree() ignores other keys of a file entry (libtorrent's attr) and an empty file's root", () => {
  const entry: BDict = new Map<string, BValue>([
    ["attr", utf8("x")],
    ["length", 0n],
    ["pieces root", ROOT],
  ]);
  assert.deepStrictEqual(
    decodeFileTree(rawTree([[["run.sh"], new Map([["", entry]])]])),
    [{ path: ["run.sh"], length: 0, piecesRoot: null }],
  );
});

Deno.test("decodeFileTree() refuses each hostile path with one line", () => {
  const cases: [string, BValue, RegExp][] = [
    ["..", rawTree([[["a", "..", "x"], leaf()]]), /relative folder/],
    [".", rawTree([[[".", "x"], leaf()]]), /relative folder/],
    ["empty name", rawTree([[["a", "", "x"], leaf()]]), /no length/],
    ["empty file name", rawTree([[[""], leaf()]]), /no name/],
    ["absolute", rawTree([[["/etc", "passwd"], leaf()]]), /forbidden/],
    ["backslash", rawTree([[["..\\..\\x"], leaf()]]), /forbidden/],
    ["drive", rawTree([[["C:", "x"], leaf()]]), /forbidden/],
    ["reserved", rawTree([[["a", "CON.txt"], leaf()]]), /reserved/],
    ["reserved, space", rawTree([[["nul .tar.gz"], leaf()]]), /reserved/],
    ["reserved, superscript", rawTree([[["d", "COM¹"], leaf()]]), /reserved/],
    ["reserved console", rawTree([[["CONOUT$"], leaf()]]), /reserved/],
    ["control", rawTree([[["a\nb"], leaf()]]), /forbidden/],
    ["bidi", rawTree([[["invoice\u202Efdp.exe"], leaf()]]), /U\+202E/],
    ["zero width", rawTree([[["a\u200Bb"], leaf()]]), /U\+200B/],
    ["hidden", rawTree([[[".git", "config"], leaf()]]), /starts with a dot/],
    ["not NFC", rawTree([[["e\u0301"], leaf()]]), /NFC/],
    ["long name", rawTree([[["a".repeat(256)], leaf()]]), /255 bytes/],
    ["case", rawTree([[["A.txt"], leaf()], [["a.txt"], leaf()]]), /case/],
    [
      "case, file and folder",
      rawTree([[["Dir"], leaf()], [["dir", "x"], leaf()]]),
      /case/,
    ],
    ["folded", rawTree([[["straße"], leaf()], [["STRASSE"], leaf()]]), /case/],
    [
      "file and folder",
      rawTree([[
        ["a"],
        new Map<string, BValue>([
          ["", leaf().get("")!],
          [bkey(utf8("x")), leaf()],
        ]),
      ]]),
      /file and a folder/,
    ],
    ["empty folder", rawTree([[["a"], new Map()]]), /empty/],
    ["empty tree", new Map(), /no file/],
    ["not a dictionary", utf8("x"), /not a dictionary/],
    ["no entry", rawTree([[["a"], new Map([["", 5n]])]]), /no file entry/],
    ["no length", rawTree([[["a"], new Map([["", new Map()]])]]), /length/],
    ["negative", rawTree([[["a"], leaf(-1n)]]), /length/],
    ["huge", rawTree([[["a"], leaf(2n ** 60n)]]), /length/],
    [
      "no root",
      rawTree([[["a"], new Map([["", new Map([["length", 5n]])]])]]),
      /pieces root/,
    ],
    [
      "not UTF-8",
      new Map([[bkey(new Uint8Array([0xff, 0x41])), leaf()]]),
      /UTF-8/,
    ],
    [
      "deep",
      rawTree([[
        Array.from({ length: MAX_TREE_DEPTH + 1 }, () => "d"),
        leaf(),
      ]]),
      /deeper/,
    ],
    [
      "long path",
      rawTree([[
        Array.from(
          { length: Math.ceil(MAX_PATH_BYTES / 200) + 1 },
          () => "p".repeat(199),
        ),
        leaf(),
      ]]),
      /longer than/,
    ],
  ];
  for (const [what, tree, reason] of cases) {
    assert.match(refusal(tree), reason, what);
  }
});

Deno.test("decodeFileTree() refuses more than MAX_TREE_FILES files", () => {
  const entries: [string[], BValue][] = [];
  const one = leaf(0n);
  for (let i = 0; i <= MAX_TREE_FILES; i++) entries.push([[`f${i}`], one]);
  assert.match(refusal(rawTree(entries)), /more than 100000 files/);
  entries.pop();
  assert.equal(decodeFileTree(rawTree(entries)).length, MAX_TREE_FILES);
});

Deno.test("encodeFileTree() refuses what decodeFileTree would, lone surrogates too", () => {
  const bad: TreeFile[][] = [
    [file("a/../b")],
    [file("x\uD800")],
    [file("A"), file("a")],
    [file("a"), file("a/b")],
    [file("a"), file("a")],
    [{ path: [], length: 0, piecesRoot: null }],
    [{ path: ["a"], length: 5, piecesRoot: null }],
    [{ path: ["a"], length: 1.5, piecesRoot: ROOT }],
    [],
  ];
  for (const files of bad) {
    const problem = fileTreeProblem(files);
    assert.ok(problem, JSON.stringify(files.map((f) => f.path)));
    assert.throws(() => encodeFileTree(files), TypeError);
  }
  assert.equal(fileTreeProblem([file("a/b"), file("a/c", 0)]), null);
});
