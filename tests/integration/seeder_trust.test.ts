/**
 * A seeder skips hashing chunks on read only while the file's change time
 * is the one its bytes were checked at. A file touched after that, even with
 * its size and modification time put back, is hashed again on every read,
 * so a changed chunk is never served, until a background re-check of the
 * whole file finds it unchanged and its new ctime vouches for it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chunkDigest,
  chunkHash,
  ErrorCode,
  type Message,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { askChunks } from "../_helpers/ask_chunks.ts";
import { makeBuiltFile, seedNewFile } from "../_helpers/seed_new_file.ts";

const CHUNK = 512 * 1024;

/** The seeder's answer to a GET of chunk `index` (CHUNK_DATA or ERROR). */
async function ask(
  port: number,
  fileId: Uint8Array,
  index: number,
): Promise<Message> {
  const [answer] = await askChunks(port, fileId, [index], 10_000);
  if (!answer) throw new Error(`No answer to GET ${index}`);
  return answer;
}

Deno.test("a seeder never serves a chunk of a file changed after its ctime was trusted", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built } = await makeBuiltFile(
    dir.path,
    "old.bin",
    4 * CHUNK,
    31,
  );
  // Old enough (file times may be whole seconds) for the seeder to trust its ctime.
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
  try {
    const first = await ask(seeder.port, built.id, 1);
    assert.equal(first.kind, "chunk_data");
    const before = await Deno.stat(source);
    {
      using file = await Deno.open(source, { write: true });
      await file.seek(2 * CHUNK + 5, Deno.SeekMode.Start);
      await file.write(new Uint8Array(100).fill(0x55));
    }
    await Deno.utime(source, before.atime!, before.mtime!);
    const answer = await ask(seeder.port, built.id, 2);
    if (answer.kind === "chunk_data") {
      assert.deepEqual(
        chunkDigest(built.manifest, answer.data),
        chunkHash(built.manifest, 2),
        "chunk 2 sent with changed bytes",
      );
    } else {
      assert.equal(answer.kind, "error");
      assert.equal(answer.code, ErrorCode.NOT_AVAILABLE);
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("a seeder re-checks a file whose ctime moved once it serves from it, and trusts it again", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built, seeder, state } = await seedNewFile(
    tracker,
    dir.path,
    "moved.bin",
    4 * CHUNK,
    33,
  );
  try {
    // A hard link moves the ctime, as the bench's links for other clients do.
    await Deno.link(source, join(dir.path, "link.bin"));
    const ctimeMs = (await Deno.stat(source)).ctime!.getTime();
    const answer = await ask(seeder.port, built.id, 1);
    assert.equal(answer.kind, "chunk_data");
    // Served (hashed on read), and re-checked in the background once the
    // ctime is 2 s old: the saved state then vouches for the new ctime.
    const seeds = join(state, ".shoal", "seeds.json");
    const deadline = Date.now() + 15_000;
    let saved: number | undefined;
    while (Date.now() < deadline) {
      const text = await Deno.readTextFile(seeds);
      saved = JSON.parse(text).files[0]?.ctimeMs;
      if (saved === ctimeMs) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(saved, ctimeMs);
    // And it still serves the right bytes.
    const again = await ask(seeder.port, built.id, 3);
    assert.equal(again.kind, "chunk_data");
    if (again.kind === "chunk_data") {
      assert.deepEqual(
        chunkDigest(built.manifest, again.data),
        chunkHash(built.manifest, 3),
      );
    }
  } finally {
    await seeder.stop();
  }
});
