/**
 * Hostile folder torrents, end to end (issue 19): a folder whose manifest
 * hashes to its id but whose paths break a rule (`..`, an absolute path, a
 * backslash, a control or direction-changing character, a reserved device
 * name, two names one case-insensitive disk would merge, a name that is a
 * file and a folder, too deep, a name too long, a hostile folder name) is
 * refused with one line, whether a Shoal seeder sends it or the user gives
 * its `.torrent`, and nothing is written: no file, no folder, no part.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BDict,
  bkey,
  type BValue,
  encodeBencode,
  fileIdOf,
  MAX_TREE_DEPTH,
  toHex,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const key = (text: string) => bkey(utf8(text));

/** A file entry of one piece (its root never checked: the paths fail first). */
function leaf(): BDict {
  return new Map([[
    "",
    new Map<string, BValue>([
      ["length", 5n],
      ["pieces root", new Uint8Array(32).fill(7)],
    ]),
  ]]);
}

/** A file tree holding `paths` (and, for "both", a file that is a folder too). */
function treeOf(paths: string[][]): BDict {
  const tree: BDict = new Map();
  for (const path of paths) {
    let folder = tree;
    for (const name of path.slice(0, -1)) {
      let next = folder.get(key(name)) as BDict | undefined;
      if (!next) folder.set(key(name), next = new Map());
      folder = next;
    }
    folder.set(key(path.at(-1)!), leaf());
  }
  return tree;
}

/** Canonical manifest bytes of a folder, as a hostile peer would send them. */
function folderManifest(tree: BDict, name = "album"): Uint8Array {
  return encodeBencode(
    new Map<string, BValue>([
      [
        "info",
        new Map<string, BValue>([
          ["file tree", tree],
          ["meta version", 2n],
          ["name", utf8(name)],
          ["piece length", 16_384n],
        ]),
      ],
      ["piece layers", new Map()],
    ]),
  );
}

const bothTree = treeOf([["a", "x"]]);
(bothTree.get("a") as BDict).set("", leaf().get("")!);

const HOSTILE: [string, Uint8Array][] = [
  ["..", folderManifest(treeOf([["a", "..", "x"]]))],
  ["absolute", folderManifest(treeOf([["/etc", "passwd"]]))],
  ["backslash", folderManifest(treeOf([["..\\..\\x"]]))],
  ["control", folderManifest(treeOf([["a\nb"]]))],
  ["bidi", folderManifest(treeOf([["invoice\u202Efdp.exe"]]))],
  ["reserved", folderManifest(treeOf([["d", "CON .txt"]]))],
  ["case", folderManifest(treeOf([["A.txt"], ["a.txt"]]))],
  ["file and folder", folderManifest(bothTree)],
  [
    "deep",
    folderManifest(
      treeOf([Array.from({ length: MAX_TREE_DEPTH + 1 }, () => "d")]),
    ),
  ],
  ["long name", folderManifest(treeOf([["a".repeat(256)]]))],
  ["folder name", folderManifest(treeOf([["d", "x"]]), "..")],
];

/** Every file and folder below `root` but the state folder. */
async function written(root: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.name === ".shoal") continue;
    const path = join(root, entry.name);
    found.push(path);
    if (entry.isDirectory) found.push(...await written(path));
  }
  return found;
}

/** The last line of stderr (a progress line may come before it). */
function lastLine(stderr: string): string {
  return stderr.trimEnd().split("\n").at(-1)!;
}

Deno.test("a hostile folder sent by a Shoal seeder is refused with one line, each rule, and nothing is written", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const seeders = HOSTILE.map(([, manifestBytes]) => ({
    id: fileIdOf(manifestBytes),
    seeder: h.startFakeSeeder({
      behaviour: "raw_manifest",
      data: new Uint8Array(5),
      manifestBytes,
      manifest: null,
    }),
  }));
  try {
    seeders.forEach(({ id, seeder }, i) =>
      h.listOnTracker(tracker, seeder.port, {
        id,
        name: `innocent-${i}`,
        size: 5,
        chunkCount: 1,
      })
    );
    // Two levels down, so "../" has somewhere to go; one folder each, as
    // one folder has one peer at a time.
    const parent = join(dir.path, "a", "b");
    await Deno.mkdir(parent, { recursive: true });
    const outs = seeders.map((_, i) => join(parent, `out-${i}`));
    const runs = await Promise.all(
      seeders.map(({ id }, i) =>
        h.spawnLeecher(tracker, toHex(id), outs[i]!, 20).done(40_000)
      ),
    );
    runs.forEach((result, i) => {
      const [label] = HOSTILE[i]!;
      // 6: an unsafe name; 1: a path too deep or too long (a damaged manifest).
      assert.ok([1, 6].includes(result.code), `${label}: ${result.stderr}`);
      assert.match(
        lastLine(result.stderr),
        /^error: Cannot download [0-9a-f]{64}: [^\n]*invalid manifest/,
        label,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, `${label}: a stack trace`);
    });
    // Nothing but the folders made above, anywhere under the test's folder.
    assert.deepEqual(await written(dir.path), [join(dir.path, "a"), parent]);
    for (const out of outs) assert.deepEqual(await h.partFilesIn(out), []);
  } finally {
    await Promise.all(seeders.map(({ seeder }) => seeder.close()));
  }
});

Deno.test("a hostile folder's .torrent is refused with one line and exit 8, each rule, and nothing is written", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const out = join(dir.path, "out");
  const runs = await Promise.all(HOSTILE.map(async ([, bytes], i) => {
    const path = join(dir.path, `t${i}.torrent`);
    await Deno.writeFile(path, bytes);
    return await h.spawnLeecher(tracker, path, out, 20).done(40_000);
  }));
  runs.forEach((result, i) => {
    const [label] = HOSTILE[i]!;
    assert.equal(result.code, 8, `${label}: ${result.stderr}`);
    assert.match(result.stderr, /^error: Cannot use [^\n]*\n$/, label);
  });
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});
