/**
 * One peer per download folder: a second peer with the same `--out` stops
 * before it touches anything, names the process that uses the folder, and
 * a peer that crashed leaves the folder free.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

Deno.test("a second peer with the same --out stops with exit 2 and names the first; a crashed peer leaves the folder free", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "shared.bin");
  await h.makeFile(source, 3 * 512 * 1024 + 5, 77);
  const out = join(dir.path, "out");
  const first = await h.startSeeder(tracker, [source], out);
  let crashed: h.RunningProcess | null = null;
  try {
    await first.waitFor(/^seeding shared\.bin /);
    const second = await h.getFile(tracker, "shared.bin", out);
    assert.equal(second.code, 2, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `^error: Another Shoal peer \\(process ${first.child.pid}\\) is using the download folder .*out; stop it, or give this one another --out\\n$`,
      ),
    );
    // It wrote nothing: no download started beside the seeder's state.
    assert.deepEqual(await h.partFilesIn(out), []);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(out))).map((entry) => entry.name),
      [".shoal"],
    );

    // The seeder stops; a peer that then crashes (SIGKILL) holds nothing.
    assert.equal(await first.stop(), 0);
    crashed = await h.startSeeder(tracker, [source], out);
    await crashed.waitFor(/^seeding shared\.bin /);
    await crashed.kill();
    const other = await h.startSeeder(
      tracker,
      [source],
      join(dir.path, "other"),
    );
    try {
      const after = await h.getFile(tracker, "shared.bin", out);
      assert.equal(after.code, 0, after.stderr);
      await h.assertSameFile(join(out, "shared.bin"), source);
    } finally {
      await other.stop();
    }
  } finally {
    await first.stop();
    await crashed?.kill();
  }
});
