/**
 * The whole-file hash a download runs in its first fetch worker: real files
 * on disk, a prefix that grows in uneven steps (and jumps by more than one
 * slice), and a short file.
 */
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { ManifestBuilder, sha256 } from "@shoal/protocol";
import type { HashWorkerEvent } from "@shoal/protocol/worker_messages";
import { FileHash } from "../../../peer/workers/file_hash.ts";
import { tempDir } from "../../_helpers/peers.ts";

const CHUNK = 1024 * 1024;

/** A random file of `size` bytes, its manifest, and a FileHash whose events are collected. */
async function setup(dir: string, size: number) {
  const bytes = randomFillSync(new Uint8Array(size));
  const path = join(dir, "f.part");
  await Deno.writeFile(path, bytes);
  const builder = new ManifestBuilder(CHUNK);
  builder.update(bytes);
  const { bytes: manifestBytes } = builder.finish("f.bin");
  const events: HashWorkerEvent[] = [];
  let wake: (() => void) | null = null;
  const hash = new FileHash((event) => {
    events.push(event);
    wake?.();
  });
  const next = async (): Promise<HashWorkerEvent> => {
    while (events.length === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return events.shift()!;
  };
  hash.handle({ type: "init", path, manifestBytes });
  return { bytes, path, hash, next };
}

Deno.test("FileHash gives the file's SHA-256 however the prefix grows", async () => {
  await using dir = await tempDir();
  // 9.5 chunks: the last step jumps 6 MiB, more than one 4 MiB slice.
  const { bytes, hash, next } = await setup(dir.path, 9 * CHUNK + CHUNK / 2);
  for (const upTo of [CHUNK, CHUNK, 3 * CHUNK, 2 * CHUNK, 9 * CHUNK]) {
    hash.handle({ type: "advance", upToBytes: upTo });
  }
  hash.handle({ type: "finish" });
  const event = await next();
  assert.equal(event.type, "digest");
  if (event.type !== "digest") return;
  assert.deepEqual(event.hash, sha256(bytes));
  assert.equal(event.bytes, bytes.byteLength);
  hash.close();
});

Deno.test("FileHash reports a file shorter than its manifest as failed", async () => {
  await using dir = await tempDir();
  const { path, hash, next } = await setup(dir.path, 2 * CHUNK);
  await Deno.truncate(path, CHUNK + 5);
  hash.handle({ type: "finish" });
  const event = await next();
  assert.equal(event.type, "failed");
  if (event.type !== "failed") return;
  assert.match(event.message, /ends at/);
  hash.close();
});
