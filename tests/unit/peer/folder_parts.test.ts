import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareFolderParts } from "../../../peer/storage/folder_parts.ts";
import { placeFolder } from "../../../peer/storage/place_folder.ts";
import { tempDir } from "../../_helpers/peers.ts";
import { folderOf } from "../../_helpers/folder_fixtures.ts";

const ALBUM = folderOf([["d/e/a.bin", 40_000], ["d/empty", 0], ["b.txt", 10]]);

async function listing(root: string, below = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(root, below))) {
    const path = below ? `${below}/${entry.name}` : entry.name;
    if (entry.isDirectory) found.push(`${path}/`, ...await listing(root, path));
    else {
      found.push(`${path} ${(await Deno.lstat(join(root, path))).size}`);
    }
  }
  return found.sort();
}

Deno.test("prepareFolderParts() creates each wanted file at full size, nested folders and empty files too, and nothing else", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "x.parts");
  assert.equal(
    await prepareFolderParts(root, ALBUM, [true, true, false], false),
    false,
  );
  assert.deepEqual(await listing(root), [
    "d/",
    "d/e/",
    "d/e/a.bin 40000",
    "d/empty 0",
  ]);
});

Deno.test("prepareFolderParts() keeps vouched parts, adds newly wanted files and drops unwanted ones", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "x.parts");
  await prepareFolderParts(root, ALBUM, [true, false, true], false);
  await Deno.writeTextFile(join(root, "b.txt"), "0123456789");
  assert.equal(
    await prepareFolderParts(root, ALBUM, [false, true, true], true),
    true,
  );
  assert.deepEqual(await listing(root), ["b.txt 10", "d/", "d/empty 0"]);
  assert.equal(await Deno.readTextFile(join(root, "b.txt")), "0123456789");
});

Deno.test("prepareFolderParts() starts afresh when vouched parts hold a link or a file of another size, never writing through the link", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "x.parts");
  const outside = join(dir.path, "outside");
  await Deno.mkdir(join(outside, "e"), { recursive: true });
  await Deno.writeTextFile(join(outside, "e", "a.bin"), "mine");
  await prepareFolderParts(root, ALBUM, [true, true, true], false);
  await Deno.remove(join(root, "d"), { recursive: true });
  await Deno.symlink(outside, join(root, "d"));
  assert.equal(
    await prepareFolderParts(root, ALBUM, [true, true, true], true),
    false,
  );
  assert.equal(await Deno.readTextFile(join(outside, "e", "a.bin")), "mine");
  assert.ok((await Deno.lstat(join(root, "d"))).isDirectory);
  await Deno.truncate(join(root, "b.txt"), 3);
  assert.equal(
    await prepareFolderParts(root, ALBUM, [true, true, true], true),
    false,
  );
  assert.equal((await Deno.stat(join(root, "b.txt"))).size, 10);
});

Deno.test("placeFolder() takes the first free name and never writes into what is there", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "out");
  await Deno.mkdir(join(out, "album"), { recursive: true });
  await Deno.writeTextFile(join(out, "album", "mine"), "mine");
  await Deno.writeTextFile(join(out, "album (2)"), "a file");
  const root = join(dir.path, "x.parts");
  await prepareFolderParts(root, ALBUM, [true, true, true], false);
  assert.equal(
    await placeFolder(root, out, "album"),
    join(out, "album (3)"),
  );
  assert.deepEqual(await listing(join(out, "album")), ["mine 4"]);
  assert.equal(await Deno.readTextFile(join(out, "album (2)")), "a file");
  assert.deepEqual(await listing(join(out, "album (3)")), [
    "b.txt 10",
    "d/",
    "d/e/",
    "d/e/a.bin 40000",
    "d/empty 0",
  ]);
  await assert.rejects(Deno.lstat(root), Deno.errors.NotFound);
  // A dotted name keeps its dot: "v1.2 (2)", not "v1 (2).2".
  const again = join(dir.path, "y.parts");
  await prepareFolderParts(again, ALBUM, [false, false, true], false);
  await Deno.mkdir(join(out, "v1.2"));
  assert.equal(await placeFolder(again, out, "v1.2"), join(out, "v1.2 (2)"));
});
