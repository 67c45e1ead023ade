import assert from "node:assert/strict";
import { join } from "node:path";
import { Bitfield, fileIdOf, ManifestBuilder } from "@shoal/protocol";
import {
  decodeResume,
  encodeLegacyResumeSlot,
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
    // Tear the newest slot (the second one written went to slot 1): the file
    // is a 9-byte header, the manifest, then two slots of equal size.
    const bytes = await Deno.readFile(path);
    const slotsAt = 9 + manifestBytes.byteLength;
    const slot = (bytes.byteLength - slotsAt) / 2;
    assert.ok(Number.isInteger(slot) && slot > 0);
    bytes[slotsAt + slot + 20] = bytes[slotsAt + slot + 20]! ^ 0xff;
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

Deno.test("saveResume()'s first save is encodeResume's layout, from a manifest in shared memory too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { bytes, id, manifest } = sample();
    // A download keeps its manifest in a SharedArrayBuffer (download.ts).
    const manifestBytes = new Uint8Array(
      new SharedArrayBuffer(bytes.byteLength),
    );
    manifestBytes.set(bytes);
    const have = new Bitfield(manifest.chunkCount);
    have.set(1);
    have.set(manifest.chunkCount - 1);
    const path = join(dir, "x.resume");
    await saveResume(path, { manifestBytes, have });
    assert.deepEqual(
      await Deno.readFile(path),
      encodeResume({ manifestBytes: bytes, have }),
    );
    const loaded = await loadResume(path, id);
    assert.deepEqual([...loaded!.manifestBytes], [...bytes]);
    assert.ok(loaded!.have.has(1) && loaded!.have.has(manifest.chunkCount - 1));
    assert.equal(loaded!.have.count, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveResume() stores the manifest once: a save costs the bitfield, not the manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 2,000 chunks: a 64,000-byte manifest and a 250-byte bitfield.
    const builder = new ManifestBuilder(16 * 1024);
    const block = new Uint8Array(16 * 1024).fill(3);
    for (let i = 0; i < 2_000; i++) builder.update(block);
    const { bytes: manifestBytes, id, manifest } = builder.finish("big.bin");
    const path = join(dir, "big.resume");
    const have = new Bitfield(manifest.chunkCount);
    for (let round = 0; round < 3; round++) {
      have.set(round);
      await saveResume(path, { manifestBytes, have });
    }
    const size = (await Deno.stat(path)).size;
    // The old layout kept a manifest in each of its two slots.
    assert.ok(size < manifestBytes.byteLength + 2_000, `${size} bytes`);
    const state = await loadResume(path, id);
    assert.equal(state!.have.count, 3);
    assert.deepEqual(state!.manifestBytes, manifestBytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resume file in the previous layout is read, and rewritten on the next save", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { bytes: manifestBytes, id, manifest } = sample();
    const path = join(dir, "old.resume");
    const have = new Bitfield(manifest.chunkCount);
    have.set(2);
    const older = encodeLegacyResumeSlot({ manifestBytes, have }, 4n);
    have.set(3);
    const newer = encodeLegacyResumeSlot({ manifestBytes, have }, 5n);
    const legacy = new Uint8Array(older.byteLength + newer.byteLength);
    legacy.set(older);
    legacy.set(newer, older.byteLength);
    await Deno.writeFile(path, legacy);
    const state = await loadResume(path, id);
    assert.equal(state!.have.count, 2);
    state!.have.set(4);
    await saveResume(path, state!);
    const rewritten = await Deno.readFile(path);
    assert.ok(rewritten.byteLength < legacy.byteLength);
    assert.equal((await loadResume(path, id))!.have.count, 3);
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
    // With the right id a cut file is either no state or a whole slot's.
    const state = decodeResume(
      encoded.subarray(0, cut),
      fileIdOf(manifestBytes),
    );
    assert.ok(state === null || state.have.size === manifest.chunkCount);
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

Deno.test("saveResume() recovers a file whose two slots are both torn", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { bytes: manifestBytes, id, manifest } = sample();
    const path = join(dir, "x.resume");
    const have = new Bitfield(manifest.chunkCount);
    await saveResume(path, { manifestBytes, have });
    const bytes = await Deno.readFile(path);
    const slotsAt = 9 + manifestBytes.byteLength;
    const slot = (bytes.byteLength - slotsAt) / 2;
    bytes[slotsAt + 20] = bytes[slotsAt + 20]! ^ 0xff;
    bytes[slotsAt + slot + 20] = bytes[slotsAt + slot + 20]! ^ 0xff;
    await Deno.writeFile(path, bytes);
    assert.equal(await loadResume(path, id), null);
    have.set(1);
    await saveResume(path, { manifestBytes, have });
    assert.ok((await loadResume(path, id))!.have.has(1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
