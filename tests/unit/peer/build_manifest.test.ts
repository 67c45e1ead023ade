/**
 * buildManifest() streams the file through a manifest worker in 1 MiB reads:
 * the result must be the manifest a single ManifestBuilder makes of the
 * same bytes, read at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ManifestBuilder, parseManifest } from "@shoal/protocol";
import { buildManifest } from "../../../peer/library/library.ts";
import { makeFile, tempDir } from "../../_helpers/peers.ts";

const CHUNK = 512 * 1024;

for (
  const [label, size] of [
    ["empty", 0],
    ["under one read", 700_000],
    // Many reads, chunks that straddle them, and a last chunk not full.
    ["many reads", 9 * 1024 * 1024 + 17],
  ] as const
) {
  Deno.test(`buildManifest() matches a single ManifestBuilder: ${label}`, async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "f.bin");
    await makeFile(path, size, 11);
    const progress: number[] = [];
    const built = await buildManifest(
      path,
      "f.bin",
      CHUNK,
      (bytes) => progress.push(bytes),
    );
    const builder = new ManifestBuilder(CHUNK);
    builder.update(await Deno.readFile(path));
    const expected = builder.finish("f.bin");
    assert.deepEqual(built.manifestBytes, expected.bytes);
    assert.equal(built.size, size);
    assert.equal(
      parseManifest(built.manifestBytes).chunkCount,
      expected.manifest.chunkCount,
    );
    // Under 64 MiB: no progress events.
    assert.deepEqual(progress, []);
  });
}
