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
    assert.equal(await preparePartFile(path, 8, true), false); // none yet: created
    assert.equal((await Deno.stat(path)).size, 8);
    await Deno.writeFile(path, new Uint8Array(8).fill(5));
    assert.equal(await preparePartFile(path, 8, true), true);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8).fill(5));
    // No resume state beside it, or the wrong size: a new, empty file.
    assert.equal(await preparePartFile(path, 8, false), false);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8));
    await Deno.writeFile(path, new Uint8Array(3).fill(5));
    assert.equal(await preparePartFile(path, 8, true), false);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array(8));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeChunkSync() puts a chunk at its offset and readChunkSync() reads it back, false past the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "b.part");
    await preparePartFile(path, 8, false);
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
