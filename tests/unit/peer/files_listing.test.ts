import assert from "node:assert/strict";
import { folderSummary, type Manifest } from "@shoal/protocol";
import { filesListing, filesText } from "../../../peer/files_listing.ts";
import { folderOf } from "../../_helpers/folder_fixtures.ts";

const ID = new Uint8Array(32).fill(0xab);

Deno.test("filesListing() lists a folder's files, or those --only picks, and says why --only cannot apply", () => {
  const folder = folderOf([
    ["disc 1/a.flac", 40_000],
    ["disc 1/b.cue", 0],
    ["cover.jpg", 1_500_000],
  ]);
  const manifest = folderSummary(folder);
  const all = filesListing(manifest, folder, ID, []);
  assert.ok(!("problem" in all));
  assert.deepEqual(
    all.files,
    folder.files.map((f) => ({
      path: f.path.join("/"),
      size: f.length,
    })),
  );
  assert.equal(all.total, 3);
  assert.equal(all.size, 1_540_000);
  assert.equal(all.fileId, "ab".repeat(32));

  const disc = filesListing(manifest, folder, ID, ["disc 1"]);
  assert.ok(!("problem" in disc));
  assert.deepEqual(disc.files.map((f) => f.path).sort(), [
    "disc 1/a.flac",
    "disc 1/b.cue",
  ]);
  assert.equal(disc.size, 40_000);

  const none = filesListing(manifest, folder, ID, ["*.mp3"]);
  assert.ok("problem" in none);
  assert.match(none.problem, /^--only \*\.mp3 matches no file of /);

  const single: Manifest = { ...manifest, name: "a.iso", size: 7 };
  const one = filesListing(single, null, ID, []);
  assert.ok(!("problem" in one));
  assert.deepEqual(one.files, [{ path: "a.iso", size: 7 }]);
  assert.equal(one.folder, false);
  const refused = filesListing(single, null, ID, ["*"]);
  assert.ok("problem" in refused);
  assert.match(refused.problem, /a\.iso with --only: it is a single file/);
});

Deno.test("filesText() names the file or folder, then each file with its size aligned", () => {
  const base = { name: "album", fileId: "ab", folder: true, total: 3 };
  assert.equal(
    filesText({
      ...base,
      files: [{ path: "a.flac", size: 300_000 }, { path: "n.txt", size: 3 }],
      size: 300_003,
    }),
    [
      "album: 2 of its 3 files picked by --only, 300 KB",
      "  300 KB  a.flac",
      "     3 B  n.txt",
    ].join("\n"),
  );
  assert.equal(
    filesText({
      ...base,
      folder: false,
      total: 1,
      name: "a.iso",
      files: [{ path: "a.iso", size: 1_000 }],
      size: 1_000,
    }),
    "a.iso: a single file, 1.0 KB\n  1.0 KB  a.iso",
  );
});
