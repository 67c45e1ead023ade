import assert from "node:assert/strict";
import { join } from "node:path";
import {
  openPartFile,
  preparePartFile,
  readChunkSync,
  writeChunkSync,
} from "../../../peer/storage/part_file.ts";

Deno.test("preparePartFile() keeps a vouched part file of the right size and replaces anything else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.part");
    const place = { folder: dir, name: "a.bin" };
    // none yet: created
    assert.deepEqual(await preparePartFile(path, 8, true, place), {
      kind: "new",
    });
    assert.equal((await Deno.stat(path)).size, 8);
    await Deno.writeFile(path, new Uint8Array(8).fill(5));
    assert.deepEqual(await preparePartFile(path, 8, true, place), {
      kind: "kept",
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8).fill(5));
    // No resume state beside it, or the wrong size: a new, empty file.
    assert.deepEqual(await preparePartFile(path, 8, false, place), {
      kind: "new",
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8));
    await Deno.writeFile(path, new Uint8Array(3).fill(5));
    assert.deepEqual(await preparePartFile(path, 8, true, place), {
      kind: "new",
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("preparePartFile() finds where a stopped run placed its part file, and never writes into a file linked elsewhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const parts = join(dir, "parts");
    const out = join(dir, "out");
    await Deno.mkdir(parts);
    await Deno.mkdir(out);
    const path = join(parts, "a.part");
    const place = { folder: out, name: "film.mkv" };
    await Deno.writeFile(path, new Uint8Array(8).fill(7));
    // The name was taken, so the stopped run linked it as "film (2).mkv".
    await Deno.writeFile(join(out, "film.mkv"), new Uint8Array(8).fill(1));
    await Deno.link(path, join(out, "film (2).mkv"));
    assert.deepEqual(await preparePartFile(path, 8, true, place), {
      kind: "placed",
      path: join(out, "film (2).mkv"),
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8).fill(7));

    // Its owner moved it under a name Shoal would not give it: the part
    // name is replaced, and the moved file keeps every byte.
    await Deno.rename(join(out, "film (2).mkv"), join(out, "mine.mkv"));
    assert.deepEqual(await preparePartFile(path, 8, true, place), {
      kind: "new",
    });
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8));
    assert.deepEqual(
      await Deno.readFile(join(out, "mine.mkv")),
      new Uint8Array(8).fill(7),
    );
    assert.equal((await Deno.stat(join(out, "mine.mkv"))).nlink, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeChunkSync() puts a chunk at its offset and readChunkSync() reads it back, false past the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "b.part");
    await preparePartFile(path, 8, false, { folder: dir, name: "b" });
    {
      using file = await openPartFile(path, "write");
      writeChunkSync(file, 4, new Uint8Array([1, 2, 3, 4]));
    }
    using file = await openPartFile(path, "read");
    const into = new Uint8Array(4);
    assert.equal(readChunkSync(file, 4, into), true);
    assert.deepEqual(into, new Uint8Array([1, 2, 3, 4]));
    assert.equal(readChunkSync(file, 6, into), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
