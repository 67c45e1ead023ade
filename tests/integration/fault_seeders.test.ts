/**
 * Faults on the seeding side, with real processes: a seeder killed
 * (SIGKILL) in the middle of a chunk, then every seeder killed and one
 * brought back; and a seeder whose file is overwritten in place (same size,
 * same modification time) after it started. The download finishes with the
 * right file, and no bad byte is ever served or kept.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chunkDigest,
  chunkHash,
  ErrorCode,
  type Message,
  toHex,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { askChunks } from "../_helpers/ask_chunks.ts";

const CHUNK = 512 * 1024;

function slowSeeder(
  tracker: { host: string; port: number },
  file: string,
  state: string,
  rate: string,
) {
  const process = h.spawnPeer(tracker, [
    "--seed",
    file,
    "--out",
    state,
    "--max-upload",
    rate,
  ]);
  return process.waitFor(/serving peers on port (\d+)/).then((match) =>
    Object.assign(process, { port: Number(match[1]) })
  );
}

Deno.test("a download survives a seeder killed mid-chunk, then every seeder gone and one back", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "film.bin");
  await h.makeFile(source, 16 * CHUNK + 99, 5);
  // 1.5 MB/s each: a 512 KiB chunk takes about a third of a second, so a
  // kill lands inside a chunk.
  const a = await slowSeeder(tracker, source, join(dir.path, "a"), "1500k");
  let b = await slowSeeder(tracker, source, join(dir.path, "b"), "1500k");
  const out = join(dir.path, "out");
  const leecher = h.spawnLeecher(tracker, "film.bin", out, 30);
  try {
    // Wait until some chunks arrived, so the transfer is in full swing.
    await h.waitUntil(
      "the first chunks",
      async () => {
        return (await h.partFilesIn(out)).length > 0 ? true : null;
      },
      20_000,
    );
    await h.sleep(700);
    await a.kill();
    await h.sleep(700);
    // Now nobody serves the file.
    await b.kill();
    await h.sleep(2_500);
    assert.equal(
      await Deno.stat(join(out, "film.bin")).catch(() => null),
      null,
      "finished without any seeder?",
    );
    // One comes back (same state folder: no hashing again, a new port).
    b = await slowSeeder(tracker, source, join(dir.path, "b"), "4M");
    const result = await leecher.done(60_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await h.assertSameFile(join(out, "film.bin"), source);
  } finally {
    await leecher.kill();
    await a.kill();
    await b.stop();
  }
});

/** Asks a seeder for every chunk on one connection; returns what came back per index. */
function askEveryChunk(
  port: number,
  fileId: Uint8Array,
  count: number,
): Promise<Message[]> {
  return askChunks(port, fileId, Array.from({ length: count }, (_, i) => i));
}

Deno.test("a seeder whose file is overwritten in place (same size and mtime) stops serving it", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "doc.bin");
  await h.makeFile(source, 6 * CHUNK, 8);
  const copy = join(dir.path, "copy", "doc.bin");
  await Deno.mkdir(join(dir.path, "copy"));
  await Deno.copyFile(source, copy);
  const original = await Deno.readFile(source);
  const built = h.manifestOf(original, "doc.bin");
  const changed = await h.startSeeder(tracker, [source], join(dir.path, "s1"));
  try {
    // Overwrite chunk 3 in place, then put the modification time back, as a
    // coarse-clock file system (or `touch -r`) would leave it.
    const before = await Deno.stat(source);
    {
      using file = await Deno.open(source, { write: true });
      await file.seek(3 * CHUNK + 10, Deno.SeekMode.Start);
      await file.write(new Uint8Array(1000).fill(0xee));
    }
    await Deno.utime(source, before.atime!, before.mtime!);
    assert.equal(
      (await Deno.stat(source)).mtime?.getTime(),
      before.mtime?.getTime(),
    );

    // Chunks before 3 are fine; 3 is refused; the file is then stale and
    // nothing more is served from it. Never a byte that fails its hash.
    const answers = await askEveryChunk(changed.port, built.id, 6);
    const served: number[] = [];
    for (const [i, answer] of answers.entries()) {
      if (answer.kind === "chunk_data") {
        assert.deepEqual(
          chunkDigest(built.manifest, answer.data),
          chunkHash(built.manifest, i),
          `chunk ${i} sent with bad bytes`,
        );
        served.push(i);
      } else {
        assert.equal(answer.kind, "error");
        assert.equal(answer.code, ErrorCode.NOT_AVAILABLE);
      }
    }
    assert.ok(!served.includes(3), "the overwritten chunk was served");
    assert.deepEqual(
      served.filter((i) => i > 3),
      [],
      "chunks were served after the change was seen",
    );
    // A new connection is told the file is not here any more.
    const again = await askEveryChunk(changed.port, built.id, 1);
    assert.equal(again.length, 0);

    // With an intact copy elsewhere, a leecher finishes with the right file.
    const honest = await h.startSeeder(tracker, [copy], join(dir.path, "s2"));
    try {
      const out = join(dir.path, "out");
      const result = await h.getFile(tracker, toHex(built.id), out, {
        giveUpAfterSeconds: 20,
        timeoutMs: 60_000,
      });
      assert.equal(result.code, 0, result.stderr);
      await h.assertFileHash(
        join(out, "doc.bin"),
        built.sha256,
      );
    } finally {
      await honest.stop();
    }
  } finally {
    await changed.stop();
  }
});
