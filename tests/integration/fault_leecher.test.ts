/**
 * Faults on the downloading side, with a real leecher process: killed with
 * SIGKILL at random moments and restarted many times (it must resume from
 * the chunks its resume state records, re-fetch none of them, re-check them
 * on start, and end with the right file); a full disk (a 1 MiB tmpfs, when
 * this runs as root) and a download folder that cannot be created (a clear
 * error, the partial file kept, nothing renamed into place unchecked).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { Rng } from "../../bench/_protocol_inputs.ts";
import { decodeResume, resumePath } from "../../peer/storage/resume.ts";
import { partPathFor } from "../../peer/storage/part_file.ts";

const CHUNK = 64 * 1024;
const KILLS = 8;

function leech(
  tracker: { host: string; port: number },
  id: Uint8Array,
  out: string,
) {
  return h.spawnLeecher(tracker, toHex(id), out, 20);
}

Deno.test(`a leecher killed ${KILLS} times resumes from checked chunks and re-fetches none of them`, async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const rng = new Rng(2024);
  const data = rng.bytes(60 * CHUNK + 1234);
  const built = h.manifestOf(data, "resume.bin", CHUNK);
  // An honest seeder that counts every GET, at about 1 MB/s.
  await using seeder = h.listedFake(tracker, data, built, {
    behaviour: "honest",
    bytesPerSecond: 1_000_000,
  });
  const out = join(dir.path, "out");
  const statePath = resumePath(join(out, ".shoal"), built.id);
  const partPath = partPathFor(join(out, ".shoal"), built.id);
  let recorded = new Set<number>();
  let kills = 0;
  let corrupted: number | null = null;
  for (let run = 0; run <= KILLS; run++) {
    seeder.gets.clear();
    const process = leech(tracker, built.id, out);
    if (run < KILLS) {
      // Kill at a random moment: while starting, hashing the resume state,
      // fetching or writing.
      await h.sleep(300 + rng.int(900));
      await process.kill();
      kills++;
    } else {
      const result = await process.done(60_000);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    }
    // Nothing the resume state held before this run was asked for again,
    // except a chunk we damaged on purpose.
    const refetched = [...seeder.gets.keys()].filter((i) =>
      recorded.has(i) && i !== corrupted
    );
    assert.deepEqual(refetched, [], `run ${run} re-fetched recorded chunks`);
    if (corrupted !== null) {
      // The damaged chunk was caught by the check on start and fetched again
      // (unless the run was killed before it got that far).
      corrupted = seeder.gets.has(corrupted) ? null : corrupted;
    }
    const bytes = await Deno.readFile(statePath).catch(() => null);
    if (run === KILLS) {
      assert.equal(bytes, null, "resume state left behind after success");
      break;
    }
    // The state on disk is always whole (written atomically).
    const state = bytes ? decodeResume(bytes, built.id) : null;
    if (bytes) assert.ok(state, `run ${run}: the resume state is corrupt`);
    recorded = new Set<number>();
    for (let i = 0; i < built.manifest.chunkCount; i++) {
      if (state?.have.has(i)) recorded.add(i);
    }
    // Halfway, damage one recorded chunk on disk: it must be re-checked.
    if (run === KILLS / 2 && recorded.size > 0 && corrupted === null) {
      corrupted = [...recorded][Math.floor(recorded.size / 2)]!;
      using file = await Deno.open(partPath, { write: true });
      await file.seek(corrupted * CHUNK, Deno.SeekMode.Start);
      await file.write(new Uint8Array(16).fill(0xaa));
    }
  }
  assert.equal(kills, KILLS);
  await h.assertFileHash(
    join(out, "resume.bin"),
    built.sha256,
  );
  await assert.rejects(Deno.stat(partPath), Deno.errors.NotFound);
});

async function tryMountTmpfs(path: string, size: string): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    const { success } = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function command(name: string, args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command(name, {
    args,
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

Deno.test("a full disk stops the download with a clear error, keeps the part file and resumes once there is room", async (t) => {
  await using dir = await h.tempDir();
  const mountPoint = join(dir.path, "small");
  await Deno.mkdir(mountPoint);
  if (!(await tryMountTmpfs(mountPoint, "1m"))) {
    // deno-lint-ignore no-console
    console.log("skipped: cannot mount a 1 MiB tmpfs (needs root on Linux)");
    return;
  }
  try {
    await using tracker = await h.startTracker();
    const data = new Rng(77).bytes(48 * CHUNK);
    const built = h.manifestOf(data, "big.bin", CHUNK);
    await using seeder = h.listedFake(tracker, data, built, {
      behaviour: "honest",
    });
    const out = join(mountPoint, "out");
    await t.step("the disk fills up", async () => {
      const result = await leech(tracker, built.id, out).done(60_000);
      assert.equal(result.code, 6, `${result.stdout}\n${result.stderr}`);
      assert.match(
        result.stderr,
        /^error: Cannot write big\.bin .*no space left on the disk; free some space/mi,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
      assert.ok(
        (await Deno.stat(partPathFor(join(out, ".shoal"), built.id))).isFile,
      );
      await assert.rejects(
        Deno.stat(join(out, "big.bin")),
        Deno.errors.NotFound,
      );
    });
    await t.step("room again: it resumes and finishes", async () => {
      assert.ok(await command("mount", ["-o", "remount,size=16m", mountPoint]));
      seeder.gets.clear();
      const result = await leech(tracker, built.id, out).done(60_000);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      await h.assertFileHash(
        join(out, "big.bin"),
        built.sha256,
      );
      assert.ok(
        seeder.gets.size < built.manifest.chunkCount,
        "everything was fetched again",
      );
    });
  } finally {
    await command("umount", ["-l", mountPoint]);
  }
});

Deno.test("a download folder that cannot be created gives a clear error", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(2 * CHUNK).fill(3);
  const built = h.manifestOf(data, "blocked.bin", CHUNK);
  await using _seeder = h.listedFake(tracker, data, built, {
    behaviour: "honest",
  });
  // A path under a regular file: no user, not even root, can create it.
  const blocker = join(dir.path, "a-file");
  await Deno.writeTextFile(blocker, "");
  const result = await leech(tracker, built.id, join(blocker, "out")).done(
    30_000,
  );
  assert.equal(result.code, 6, `${result.stdout}\n${result.stderr}`);
  assert.match(
    result.stderr,
    /^error: Cannot create .*; choose another --out/m,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
});
