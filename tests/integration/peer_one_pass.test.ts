/**
 * What the one-pass leecher leaves to the user, end to end with real
 * processes: `--verify` reads the finished file back and refuses one the
 * disk did not keep, and a state folder from before BitTorrent v2 manifests
 * is hashed again (never trusted) with one line that says so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";

const CHUNK = 512 * 1024;

Deno.test("--verify re-reads the finished file and refuses it when the disk changed a chunk", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "kept.bin");
  const seeder = await h.seedNewFile(tracker, source, 6 * CHUNK, 71);
  const out = join(dir.path, "out");
  try {
    // Slow enough (1 MiB/s for 3 MiB) to change the part file meanwhile.
    const leecher = h.spawnLeecher(tracker, "kept.bin", out, 30, [
      "--verify",
      "--max-download",
      "1M",
    ]);
    // A disk that does not keep what it was given: once chunk 0 is on
    // disk, its first bytes change behind the leecher's back.
    let corrupted = false;
    const deadline = Date.now() + 20_000;
    while (!corrupted && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [part] = await h.partFilesIn(out);
      if (!part) continue;
      using file = await Deno.open(part, { read: true, write: true });
      const head = new Uint8Array(16);
      if ((await file.read(head)) !== 16 || head.every((b) => b === 0)) {
        continue;
      }
      await file.seek(0, Deno.SeekMode.Start);
      await file.write(head.map((b) => b ^ 0xff));
      corrupted = true;
    }
    assert.ok(corrupted, "chunk 0 never reached the part file");
    const result = await leecher.done(60_000);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /^error: Cannot finish kept\.bin: chunk 0 no longer matches once written to disk; the disk may be failing/m,
    );
    // Nothing was placed under the file's name.
    await assert.rejects(
      Deno.stat(join(out, "kept.bin")),
      Deno.errors.NotFound,
    );
    // The same command resumes, finds chunk 0 bad on disk, fetches it again
    // and ends with the right file.
    const again = await h.spawnLeecher(tracker, "kept.bin", out, 30, [
      "--verify",
    ]).done(60_000);
    assert.equal(again.code, 0, again.stderr);
    await h.assertFileHash(join(out, "kept.bin"), await h.sha256File(source));
  } finally {
    await seeder.stop();
  }
});

Deno.test("a state folder from before BitTorrent v2 is hashed again, with one line, under the new id", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "old.bin");
  await h.makeFile(source, 3 * CHUNK + 5, 72);
  const info = await Deno.stat(source);
  const out = join(dir.path, "s");
  // What Shoal 0.x left: seeds.json naming the file under its old id, and
  // the old binary manifest ("SHMF", version 1) beside it.
  const oldId = "ab".repeat(32);
  await Deno.mkdir(join(out, ".shoal", "manifests"), { recursive: true });
  const legacy = new Uint8Array(200);
  legacy.set([0x53, 0x48, 0x4d, 0x46, 1, 1]);
  await Deno.writeFile(
    join(out, ".shoal", "manifests", `${oldId}.manifest`),
    legacy,
  );
  await Deno.writeTextFile(
    join(out, ".shoal", "seeds.json"),
    JSON.stringify({
      version: 1,
      files: [{
        path: source,
        size: info.size,
        mtimeMs: info.mtime!.getTime(),
        id: oldId,
      }],
    }),
  );
  const expected = h.manifestOf(await Deno.readFile(source), "old.bin");
  // No --seed: the peer seeds again what its state folder remembers.
  const peer = h.spawnPeer(tracker, ["--out", out, "--host", "127.0.0.1"]);
  try {
    await peer.waitFor(/serving peers on port \d+/);
    const rehashed = peer.lines.filter((line) => /earlier Shoal/.test(line));
    assert.deepEqual(rehashed, [
      "1 file saved by an earlier Shoal hashed again: files are BitTorrent v2 torrents now, with new ids",
    ]);
    const seeding = peer.lines.find((line) => line.startsWith("seeding"));
    assert.ok(seeding, peer.lines.join("\n"));
    assert.match(seeding, new RegExp(`id ${toHex(expected.id)}$`));
    assert.doesNotMatch(peer.lines.join("\n"), new RegExp(oldId));
  } finally {
    await peer.stop();
  }
  // The state folder now names the file by its new id only.
  const saved = JSON.parse(
    await Deno.readTextFile(join(out, ".shoal", "seeds.json")),
  ) as { files: { id: string }[] };
  assert.deepEqual(saved.files.map((file) => file.id), [toHex(expected.id)]);
});
