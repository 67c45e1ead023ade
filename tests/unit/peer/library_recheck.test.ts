/**
 * A file hashed too soon after it was written (or touched since) is hashed
 * on every read until a background re-check vouches for it again: these
 * tests drive the real Library over real files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Library, SeedError } from "../../../peer/library/library.ts";
import { makeFile, tempDir } from "../../_helpers/peers.ts";
import { ManifestBuilder } from "@shoal/protocol";

const CHUNK = 512 * 1024;

async function savedSeeds(stateDir: string): Promise<{ ctimeMs?: number }[]> {
  const text = await Deno.readTextFile(join(stateDir, "seeds.json"));
  return JSON.parse(text).files;
}

Deno.test("recheck() lets a just-written file's ctime vouch for its bytes once they still match", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "fresh.bin");
  await makeFile(path, 3 * CHUNK + 17, 5);
  const stateDir = join(dir.path, "state");
  const library = new Library(stateDir);
  // Hashed within 2 s of the write: the ctime cannot vouch yet.
  const file = await library.seedPath(path);
  assert.equal(file.ctimeMs ?? null, null);
  assert.equal((await savedSeeds(stateDir))[0]!.ctimeMs, undefined);

  await library.recheck(file);

  const ctimeMs = (await Deno.stat(path)).ctime!.getTime();
  assert.equal(file.ctimeMs, ctimeMs);
  assert.equal(file.stale, false);
  // Remembered, so a restart trusts it without hashing each chunk either.
  assert.equal((await savedSeeds(stateDir))[0]!.ctimeMs, ctimeMs);
  // A second restart of the library reuses it.
  const again = await new Library(stateDir).seedPath(path);
  assert.equal(again.ctimeMs, ctimeMs);
});

Deno.test("seedPath() waits for a large just-written file's ctime to age, then trusts it without a second hash", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "large.bin");
  await makeFile(path, 3 * CHUNK + 17, 6);
  const stateDir = join(dir.path, "state");
  const library = new Library(stateDir);
  // "Large" from 1 byte here; the default is 1 GiB.
  const file = await library.seedPath(path, { waitForCtimeFromBytes: 1 });
  const ctimeMs = (await Deno.stat(path)).ctime!.getTime();
  assert.equal(file.ctimeMs, ctimeMs);
  assert.equal((await savedSeeds(stateDir))[0]!.ctimeMs, ctimeMs);
  // Nothing left for a re-check to do: chunks are served without hashing.
  assert.equal(file.stale, false);
});

Deno.test("seedPath() refuses a file over 1 TiB before hashing any of it", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "huge.bin");
  // Sparse: no disk used; hashing it would take hours.
  await Deno.writeFile(path, new Uint8Array(0));
  await Deno.truncate(path, 2 ** 40 + 1);
  const library = new Library(join(dir.path, "state"));
  await assert.rejects(
    library.seedPath(path),
    (error: Error) =>
      error instanceof SeedError &&
      /up to 1099511627776 bytes \(1 TiB\); split it first/.test(error.message),
  );
});

Deno.test("recheck() marks a file stale when its bytes changed under the same size and mtime", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "changed.bin");
  await makeFile(path, 2 * CHUNK, 9);
  const library = new Library(join(dir.path, "state"));
  const file = await library.seedPath(path);
  const before = await Deno.stat(path);
  {
    using handle = await Deno.open(path, { write: true });
    await handle.seek(CHUNK + 3, Deno.SeekMode.Start);
    await handle.write(new Uint8Array(64).fill(0xaa));
  }
  await Deno.utime(path, before.atime!, before.mtime!);

  await library.recheck(file);

  assert.equal(file.stale, true);
  assert.equal(file.ctimeMs ?? null, null);
  assert.equal(library.get(file.id), undefined);
});

Deno.test("recheck() does not hash a file again within a minute", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "touched.bin");
  await makeFile(path, CHUNK, 11);
  const library = new Library(join(dir.path, "state"));
  const file = await library.seedPath(path);
  await library.recheck(file);
  assert.notEqual(file.ctimeMs ?? null, null);
  // Touched again (a chmod moves the ctime): no longer vouched for...
  await Deno.chmod(path, 0o600);
  file.ctimeMs = null;
  const started = performance.now();
  await library.recheck(file);
  // ...and not hashed again so soon: the call returns without waiting for
  // the ctime to age, and the file stays untrusted.
  assert.ok(performance.now() - started < 1_000);
  assert.equal(file.ctimeMs, null);
});

Deno.test("recheck() checks one file at a time", async () => {
  await using dir = await tempDir();
  const a = join(dir.path, "a.bin");
  const b = join(dir.path, "b.bin");
  await makeFile(a, CHUNK, 1);
  await makeFile(b, CHUNK, 2);
  const library = new Library(join(dir.path, "state"));
  const fileA = await library.seedPath(a);
  const fileB = await library.seedPath(b);
  const first = library.recheck(fileA);
  // Asked while A is being checked: skipped, B stays untrusted for now.
  await library.recheck(fileB);
  assert.equal(fileB.ctimeMs ?? null, null);
  await first;
  assert.notEqual(fileA.ctimeMs ?? null, null);
  // Once A is done, the next request for B goes ahead.
  await library.recheck(fileB);
  assert.notEqual(fileB.ctimeMs ?? null, null);
});

Deno.test("addDownloaded() of many files at once remembers every one of them", async () => {
  await using dir = await tempDir();
  const stateDir = join(dir.path, "state");
  await Deno.mkdir(stateDir);
  const library = new Library(stateDir);
  const files = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const path = join(dir.path, `done-${i}.bin`);
      await makeFile(path, 1000 + i, i + 1);
      const builder = new ManifestBuilder(CHUNK);
      builder.update(await Deno.readFile(path));
      return { path, manifestBytes: builder.finish(`done-${i}.bin`).bytes };
    }),
  );
  // Downloads that finish together each save the seed list.
  await Promise.all(
    files.map((file) => library.addDownloaded(file.path, file.manifestBytes)),
  );
  const saved = await savedSeeds(stateDir) as { path: string }[];
  assert.deepEqual(
    saved.map((seed) => seed.path).sort(),
    files.map((file) => file.path).sort(),
  );
});

Deno.test("recheck() of a seeded folder's file never hashes a link put in its place, even to the same bytes: the folder stops being served", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "album");
  await Deno.mkdir(folder);
  const path = join(folder, "a.bin");
  await makeFile(path, CHUNK + 5, 8);
  const library = new Library(join(dir.path, "state"));
  const entry = await library.seedPath(folder);
  const part = entry.folder!.parts[0]!;
  // Hashed within 2 s of the write, it asks to be hashed again; a loaded
  // machine may take longer to hash it, so that is made so here.
  part.ctimeMs = null;
  const outside = join(dir.path, "outside.bin");
  await Deno.copyFile(path, outside);
  await Deno.remove(path);
  await Deno.symlink(outside, path);

  await library.recheck(part);

  assert.equal(part.ctimeMs ?? null, null);
  assert.equal(entry.stale, true);
  assert.equal(library.get(entry.id), undefined);
});

Deno.test("seedPath() of a folder seeded before reuses its saved manifest while every file is the one hashed (same size and mtime, as for a single file), and hashes it again once one is not", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "album");
  await Deno.mkdir(folder);
  const path = join(folder, "a.bin");
  await makeFile(path, CHUNK + 5, 8);
  await makeFile(join(folder, "b.bin"), 100, 9);
  const stateDir = join(dir.path, "state");
  const first = await new Library(stateDir).seedPath(folder);

  // Other bytes, the same size and mtime: not hashed again, so the same id
  // (its bytes are then checked as they are served, the ctime having moved).
  const { mtime, atime } = await Deno.stat(path);
  using file = await Deno.open(path, { write: true });
  await file.write(new Uint8Array(10).fill(1));
  await Deno.utime(path, atime!, mtime!);
  const again = await new Library(stateDir).seedPath(folder);
  assert.equal(again.idHex, first.idHex);
  assert.equal(again.folder!.parts[0]!.ctimeMs ?? null, null);

  // A file added: hashed again, a new id.
  await makeFile(join(folder, "c.bin"), 10, 10);
  const grown = await new Library(stateDir).seedPath(folder);
  assert.notEqual(grown.idHex, first.idHex);
  assert.equal(grown.folder!.manifest.files.length, 3);
});
