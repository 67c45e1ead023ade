import assert from "node:assert/strict";
import { join } from "node:path";
import { Bitfield, ManifestBuilder } from "@shoal/protocol";
import {
  decodeResume,
  encodeResume,
  loadResume,
  saveResume,
} from "../../../peer/storage/resume.ts";

function sample() {
  const builder = new ManifestBuilder(16 * 1024);
  builder.update(new Uint8Array(100_000).fill(9));
  return builder.finish("sample.bin");
}

Deno.test("saveResume() alternates slots and a torn newest slot falls back to the older one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { bytes: manifestBytes, id, manifest } = sample();
    const path = join(dir, "x.resume");
    const first = new Bitfield(manifest.chunkCount);
    first.set(0);
    await saveResume(path, { manifestBytes, have: first });
    const second = new Bitfield(manifest.chunkCount);
    second.set(0);
    second.set(5);
    await saveResume(path, { manifestBytes, have: second });
    assert.equal((await loadResume(path, id))!.have.count, 2);
    // Tear the newest slot (the second one written went to slot 1).
    const bytes = await Deno.readFile(path);
    const slot = bytes.byteLength / 2;
    bytes[slot + 20] = bytes[slot + 20]! ^ 0xff;
    await Deno.writeFile(path, bytes);
    const state = await loadResume(path, id);
    assert.equal(state!.have.count, 1);
    assert.ok(state!.have.has(0));
    // Saving again overwrites the torn slot, in place, same size.
    await saveResume(path, { manifestBytes, have: second });
    assert.equal((await Deno.readFile(path)).byteLength, bytes.byteLength);
    assert.equal((await loadResume(path, id))!.have.count, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeResume() refuses state for another file and never throws on junk", () => {
  const { bytes: manifestBytes, manifest } = sample();
  const other = new Uint8Array(32);
  const encoded = encodeResume({
    manifestBytes,
    have: new Bitfield(manifest.chunkCount),
  });
  assert.equal(decodeResume(encoded, other), null);
  for (let cut = 0; cut < encoded.byteLength; cut += 7) {
    assert.equal(decodeResume(encoded.subarray(0, cut), other), null);
  }
});

Deno.test("loadResume() treats a path it cannot read as no state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "file"), "");
    assert.equal(
      await loadResume(join(dir, "file", "x.resume"), new Uint8Array(32)),
      null,
    );
    assert.equal(
      await loadResume(join(dir, "missing"), new Uint8Array(32)),
      null,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
