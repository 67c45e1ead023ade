import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeTorrent, parseFolderManifest, toHex } from "@shoal/protocol";
import { scanFolder } from "../../../peer/library/folder_scan.ts";
import {
  folderChunkSize,
  hashFolder,
} from "../../../peer/library/folder_hash.ts";
import { SeedError } from "../../../peer/library/seedable.ts";
import {
  hasLibtorrent,
  LT_PYTHON,
  ltFixture,
} from "../../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the libtorrent folder cross-check");
const KIB = 1024;

/** Deterministic bytes, different per file. */
function bytesOf(size: number, salt: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = salt * 2_654_435_761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * A folder with nested folders, an empty file, one-piece files, files at
 * and around piece edges for `piece`, and non-ASCII names.
 */
async function makeFolder(root: string, piece: number): Promise<void> {
  const files: [string, number][] = [
    ["empty", 0],
    ["one byte", 1],
    ["a/one-piece.bin", piece - 1],
    ["a/exact.bin", piece],
    ["a/deep/er/piece+1.bin", piece + 1],
    ["a/deep/two.bin", 2 * piece],
    ["a.txt", 3 * piece + 1],
    ["b/日本語 é.txt", 40 * KIB],
    ["b/Z", 5 * piece + 777],
    ["c/empty too", 0],
  ];
  for (const [i, [path, size]] of files.entries()) {
    const full = join(root, path);
    await Deno.mkdir(join(full, ".."), { recursive: true });
    await Deno.writeFile(full, bytesOf(size, i), { mode: 0o644 });
  }
}

/** Runs lt_make_torrent.py jobs, one answer line each. */
async function lt(jobs: string[]): Promise<string[]> {
  const child = new Deno.Command(LT_PYTHON, {
    args: [ltFixture("lt_make_torrent.py")],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(jobs.join("\n") + "\n"));
  await writer.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  assert.equal(lines.length, jobs.length);
  for (const line of lines) assert.ok(!line.startsWith("error"), line);
  return lines;
}

Deno.test({
  name:
    "a folder's v2 infohash is libtorrent's, and libtorrent reads its files in Shoal's order and pieces",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const jobs: string[] = [];
      const ours: { id: string; torrent: string; files: unknown }[] = [];
      for (const piece of [16 * KIB, 64 * KIB]) {
        const root = join(dir, `p${piece}`, "album");
        await makeFolder(root, piece);
        const built = hashFolder(
          scanFolder(root, "make a torrent of"),
          { chunkSize: piece },
        );
        const torrent = join(dir, `shoal-${piece}.torrent`);
        await Deno.writeFile(torrent, encodeTorrent(built.manifestBytes, []));
        ours.push({
          id: toHex(built.id),
          torrent,
          files: built.manifest.files.map((f) => [
            ["album", ...f.path].join("/"),
            f.length,
            f.firstChunk,
          ]),
        });
        jobs.push(`make ${piece} ${root} ${join(dir, `lt-${piece}.torrent`)}`);
        jobs.push(`files ${torrent}`);
      }
      const answers = await lt(jobs);
      for (const [i, mine] of ours.entries()) {
        assert.equal(mine.id, answers[2 * i], "the v2 infohash");
        assert.deepStrictEqual(JSON.parse(answers[2 * i + 1]!), mine.files);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a folder's torrent keeps empty files and nested folders, and parses back to the files on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = join(dir, "album");
    await makeFolder(root, 16 * KIB);
    const built = hashFolder(scanFolder(root, "share"));
    assert.equal(built.manifest.chunkSize, 512 * KIB);
    const parsed = parseFolderManifest(built.manifestBytes);
    assert.deepStrictEqual(parsed, built.manifest);
    assert.deepStrictEqual(parsed.files.map((f) => f.path.join("/")), [
      "a/deep/er/piece+1.bin",
      "a/deep/two.bin",
      "a/exact.bin",
      "a/one-piece.bin",
      "a.txt",
      "b/Z",
      "b/日本語 é.txt",
      "c/empty too",
      "empty",
      "one byte",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a folder's symbolic links are never followed, and hidden entries are left out, each with a line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = join(dir, "album");
    await makeFolder(root, 16 * KIB);
    const plain = hashFolder(scanFolder(root, "share"));
    // Links out of the folder (to a file, to a folder) and inside it.
    await Deno.writeTextFile(join(dir, "secret.txt"), "outside");
    await Deno.symlink(join(dir, "secret.txt"), join(root, "a", "secret"));
    await Deno.symlink(dir, join(root, "up"));
    await Deno.symlink(join(root, "a.txt"), join(root, "b", "again.txt"));
    await Deno.mkdir(join(root, ".git"));
    await Deno.writeTextFile(join(root, ".git", "config"), "x");
    const scanned = scanFolder(root, "share");
    assert.deepStrictEqual(scanned.skipped, [
      ".git: hidden",
      "a/secret: a symbolic link (links are never followed)",
      "b/again.txt: a symbolic link (links are never followed)",
      "up: a symbolic link (links are never followed)",
    ]);
    const withLinks = hashFolder(scanned);
    assert.equal(toHex(withLinks.id), toHex(plain.id));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a folder Shoal cannot share is refused with one line naming the entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["A.txt", "a.txt"], /"A.txt" and "a.txt" would be one file/],
      [["Dir/x", "dir"], /"Dir" and "dir" would be one file/],
      [["ok/bad:name"], /"ok\/bad:name" contains a forbidden character/],
      [["sub/CON"], /"sub\/CON" is a reserved device name/],
      [[], /holds no file to share/],
    ];
    for (const [i, [paths, reason]] of cases.entries()) {
      const root = join(dir, `case${i}`);
      await Deno.mkdir(root);
      for (const path of paths) {
        await Deno.mkdir(join(root, path, ".."), { recursive: true });
        await Deno.writeTextFile(join(root, path), "x");
      }
      assert.throws(
        () => scanFolder(root, "share"),
        (error: unknown) => {
          assert.ok(error instanceof SeedError, String(error));
          assert.ok(!error.message.includes("\n"));
          assert.match(error.message, reason);
          return true;
        },
      );
    }
    assert.throws(
      () => scanFolder(join(dir, "missing"), "share"),
      /no such folder/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("folderChunkSize() doubles the piece length until every file's pieces fit", () => {
  assert.equal(folderChunkSize([0, 1, 2]), 512 * KIB);
  assert.equal(folderChunkSize([2 ** 37 + 1]), 1024 * KIB);
  assert.equal(folderChunkSize([2 ** 41]), null);
});
