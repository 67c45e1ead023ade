/**
 * `shoal ... --json | head -1`: the reader of the peer's output goes away
 * early. The download must still finish, in place and whole, with exit 0;
 * a broken pipe is not a reason to crash.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

Deno.test("a leecher whose stdout reader hangs up still finishes the download", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "piped.bin");
  const seeder = await h.seedNewFile(tracker, source, 6 * 512 * 1024 + 99, 21, {
    out: "seed",
  });
  try {
    const out = join(dir.path, "out");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        h.PEER_MAIN,
        "--tracker",
        `${tracker.host}:${tracker.port}`,
        "--get",
        "piped.bin",
        "--out",
        out,
        "--no-seed",
        "--json",
        // Slow enough that lines are still written after the reader left.
        "--max-download",
        "2M",
        "--no-dht",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    // Read the first line, then hang up, as `head -1` does.
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.byteLength > 0);
    await reader.cancel();
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const status = await child.status;
    clearTimeout(timer);
    const errors = await stderr;
    assert.equal(status.code, 0, `exit ${status.code}: ${errors}`);
    assert.doesNotMatch(errors, /BrokenPipe|Uncaught/);
    await h.assertSameFile(join(out, "piped.bin"), source);
  } finally {
    await seeder.stop();
  }
});
