/**
 * Names from BitTorrent are hints or hostile: a magnet link's `dn` never
 * names the saved file (the authenticated metadata does), and BEP 9
 * metadata whose file name hides its extension (U+202E), carries a control
 * character or climbs out of the folder is refused with one line, nothing
 * written. The metadata comes from a fake BitTorrent seeder (its info
 * dictionary hashes to the id: the name is authenticated, just hostile).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeBencode,
  findDictValueSpan,
  infoDictionary,
  magnetLink,
  manifestBytesOf,
  sha256,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";

const CHUNK = 512 * 1024;

/**
 * Manifest bytes for `data` named `name`, which the manifest codec would
 * refuse to write: built with a safe name of the same UTF-8 length, which
 * is then swapped byte for byte (bencode lengths stay right).
 */
function hostileManifest(data: Uint8Array, name: string) {
  const bad = new TextEncoder().encode(name);
  const safeName = "s".repeat(bad.byteLength);
  const built = h.manifestOf(data, safeName);
  const info = encodeBencode(infoDictionary(built.manifest));
  const safe = new TextEncoder().encode(safeName);
  for (let at = 0; at + safe.byteLength <= info.byteLength; at++) {
    if (safe.every((byte, i) => info[at + i] === byte)) info.set(bad, at);
  }
  const bytes = manifestBytesOf(info, built.manifest);
  const span = findDictValueSpan(bytes, "info")!;
  return {
    ...built,
    bytes,
    id: sha256(bytes.subarray(span.start, span.end)),
  };
}

/** Every entry of `dir` but the state folder. */
async function entriesOf(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name !== ".shoal") names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

Deno.test("a magnet link's dn is a hint: the file is saved under the name its BEP 9 metadata authenticates", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(2 * CHUNK + 5).fill(8);
  const built = h.manifestOf(data, "real.bin");
  await using _seeder = h.listedBtFake(tracker, data, built, {
    behaviour: "honest",
  });
  const out = join(dir.path, "out");
  const link = magnetLink(built.id, "invoice.pdf.exe");
  const result = await h.spawnLeecher(tracker, link, out, 20).done(40_000);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(await entriesOf(out), ["real.bin"]);
  await h.assertFileHash(join(out, "real.bin"), built.sha256);
});

for (
  const [what, name] of [
    ["a right-to-left override", "invoice\u202Efdp.exe"],
    ["a control character", "bell\u0007.bin"],
    ["a path out of the folder", "../escape.bin"],
  ] as const
) {
  Deno.test(`BEP 9 metadata whose file name holds ${what} is refused with one line, nothing written`, async () => {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const data = new Uint8Array(2 * CHUNK + 5).fill(6);
    const hostile = hostileManifest(data, name);
    await using seeder = h.startFakeBtSeeder({
      behaviour: "honest",
      data,
      manifest: hostile.manifest,
      manifestBytes: hostile.bytes,
      id: hostile.id,
    });
    h.listOnTracker(tracker, seeder.port, {
      ...h.listingOf(hostile),
      name: "harmless.bin",
    });
    const out = join(dir.path, "out");
    const link = magnetLink(hostile.id, "harmless.bin");
    const result = await h.spawnLeecher(tracker, link, out, 10).done(40_000);
    assert.notEqual(result.code, 0, result.stdout + result.stderr);
    const lines = result.stderr.trim().split("\n").filter((l) =>
      l.startsWith("error")
    );
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0]!,
      /file name.*; ask whoever shares it/,
      result.stderr,
    );
    assert.ok(
      !result.stderr.includes("\u202E") && !result.stderr.includes("\u0007"),
      "the name is echoed raw",
    );
    assert.ok(!result.stderr.includes("    at "), result.stderr);
    assert.deepEqual(await entriesOf(out), []);
    // Nothing beside the download folder either (`../escape.bin`).
    assert.ok((await entriesOf(dir.path)).every((e) => e === "out"));
    assert.ok(seeder.metadataRequests >= 1, "the metadata was not asked for");
  });
}
