import assert from "node:assert/strict";
import {
  chosenFiles,
  globRegExp,
  unchosenPieces,
} from "../../../peer/download/only_files.ts";
import { folderOf } from "../../_helpers/folder_fixtures.ts";

/** A folder of 16 KiB pieces: each file's path and its number of pieces. */
function folder(paths: [string, number][]) {
  return folderOf(paths.map(([path, chunks]) => [path, chunks * 16_384]));
}

Deno.test("globRegExp(): * and ? within a name, ** across folders, the rest literal", () => {
  const cases: [string, string, boolean][] = [
    ["*.flac", "a.flac", true],
    ["*.flac", "disc/a.flac", false],
    ["disc/*.flac", "disc/a.flac", true],
    ["**/*.flac", "a.flac", true],
    ["**/*.flac", "disc/1/a.flac", true],
    ["disc/**", "disc/1/a.flac", true],
    ["?.txt", "a.txt", true],
    ["?.txt", "ab.txt", false],
    ["a+b (1).txt", "a+b (1).txt", true],
    ["a.txt", "abtxt", false],
    ["日本/*", "日本/x", true],
  ];
  for (const [glob, path, matches] of cases) {
    assert.equal(globRegExp(glob).test(path), matches, `${glob} ${path}`);
  }
});

Deno.test("chosenFiles() takes files a glob names, or a folder they are in; a glob matching nothing is named", () => {
  const album = folder([["disc 1/a.flac", 2], ["disc 1/b.cue", 0], [
    "disc 2/c.flac",
    1,
  ], ["cover.jpg", 1]]);
  assert.deepEqual(chosenFiles(album, []), [true, true, true, true]);
  assert.deepEqual(chosenFiles(album, ["disc 1"]), [true, true, false, false]);
  assert.deepEqual(chosenFiles(album, ["disc 1/"]), [true, true, false, false]);
  assert.deepEqual(chosenFiles(album, ["**/*.flac", "cover.jpg"]), [
    true,
    false,
    true,
    true,
  ]);
  assert.deepEqual(chosenFiles(album, ["cover.jpg", "*.mp3"]), {
    unmatched: "*.mp3",
  });
  assert.deepEqual(unchosenPieces(album, [true, true, false, false]), [2, 3]);
  assert.deepEqual(unchosenPieces(album, [false, true, true, true]), [0, 1]);
});
