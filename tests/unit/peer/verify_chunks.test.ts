/**
 * Re-checking a resumed download's chunks on disk: directly, and through a
 * real pool of fetch workers that split the work.
 */
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { ManifestBuilder, parseManifest } from "@shoal/protocol";
import { GcSchedule } from "../../../peer/gc_schedule.ts";
import { FetchPool } from "../../../peer/workers/pool.ts";
import { verifyChunks } from "../../../peer/workers/verify_chunks.ts";
import { filePieces } from "../../../peer/workers/pieces.ts";
import type { ChunkFiles } from "../../../peer/storage/chunk_files.ts";
import { tempDir } from "../../_helpers/peers.ts";

const CHUNK = 64 * 1024;

/** One open part file, as a fetch worker sees it. */
function oneFile(file: Deno.FsFile): ChunkFiles {
  return {
    locate: (index) => ({ file, offset: index * CHUNK }),
    sync: () => file.syncData(),
    close: () => file.close(),
  };
}

/** A part file of `chunks` chunks plus a short last one, with chunk 2 damaged on disk. */
async function damagedPart(dir: string, chunks: number) {
  const bytes = randomFillSync(new Uint8Array(chunks * CHUNK + 10));
  const builder = new ManifestBuilder(CHUNK);
  builder.update(bytes);
  const { bytes: manifestBytes } = builder.finish("f.bin");
  const path = join(dir, "f.bin.part");
  bytes[2 * CHUNK + 7]! ^= 0xff;
  await Deno.writeFile(path, bytes);
  return { path, manifestBytes, manifest: parseManifest(manifestBytes) };
}

Deno.test("verifyChunks() keeps matching chunks and names damaged, missing and unknown ones", async () => {
  await using dir = await tempDir();
  const { path, manifest } = await damagedPart(dir.path, 4);
  using file = await Deno.open(path, { read: true });
  // A buffer smaller than a chunk: each chunk gets its own.
  for (const buffer of [new Uint8Array(CHUNK), new Uint8Array(100)]) {
    const { good, bad } = verifyChunks(
      oneFile(file),
      filePieces(manifest),
      [0, 2, 4, 99],
      buffer,
      new GcSchedule(1, null),
    );
    assert.deepEqual(good, [0, 4]);
    assert.deepEqual(bad, [2, 99]);
  }
  // A part file cut short: the chunks past its end are bad, not an error.
  await Deno.truncate(path, CHUNK + 5);
  using short = await Deno.open(path, { read: true });
  assert.deepEqual(
    verifyChunks(
      oneFile(short),
      filePieces(manifest),
      [0, 1, 3],
      new Uint8Array(CHUNK),
      new GcSchedule(),
    ),
    { good: [0], bad: [1, 3] },
  );
});

Deno.test("FetchPool.verify() splits the chunks over its workers and gathers every answer", async () => {
  await using dir = await tempDir();
  const { path, manifestBytes } = await damagedPart(dir.path, 40);
  const errors: Error[] = [];
  const pool = new FetchPool(3, () => {}, (error) => errors.push(error));
  try {
    const all = Array.from({ length: 41 }, (_, i) => i);
    const { good, bad } = await pool.verify(path, manifestBytes, all);
    assert.deepEqual(bad, [2]);
    assert.deepEqual(good.sort((a, b) => a - b), all.filter((i) => i !== 2));
    // Fewer chunks than workers, and none.
    assert.deepEqual(await pool.verify(path, manifestBytes, [2]), {
      good: [],
      bad: [2],
    });
    assert.deepEqual(await pool.verify(path, manifestBytes, []), {
      good: [],
      bad: [],
    });
    // A part file that is gone: nothing can be trusted.
    const gone = await pool.verify(
      join(dir.path, "gone.part"),
      manifestBytes,
      [0, 1],
    );
    assert.deepEqual(gone.good, []);
    assert.deepEqual(gone.bad.sort(), [0, 1]);
  } finally {
    pool.terminate();
  }
  assert.deepEqual(errors, []);
  // Once the workers are stopped, a re-check fails instead of waiting forever.
  await assert.rejects(pool.verify(path, manifestBytes, [0]), /stopped/);
});
