/**
 * bench/ab.ts end to end on a small file: leechers from two snapshots of
 * the code take turns through `deno task peer`, and each folder after the
 * first gets its paired ratio. No timing is asserted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "../_helpers/bench_run.ts";
import { runToExit } from "../_helpers/peers.ts";

/** What `deno task peer` and the tracker need of a checkout. */
const SNAPSHOT = [
  "deno.json",
  "deno.lock",
  "logging.ts",
  "version.ts",
  "peer",
  "protocol",
  "tracker",
];

Deno.test("bench/ab.ts --task times each snapshot's leechers in turn and prints the paired ratio", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shoal-ab-test-" });
  try {
    const other = join(dir, "other");
    await Deno.mkdir(other);
    for (const entry of SNAPSHOT) {
      const copy = await new Deno.Command("cp", {
        args: ["-R", join(REPO, entry), join(other, entry)],
      }).output();
      assert.ok(copy.success, `cp ${entry}`);
    }
    const file = join(dir, "ab-small.bin");
    // Random (not compressible), 1 MiB: 16 draws of 64 KiB.
    const bytes = new Uint8Array(1024 * 1024);
    for (let at = 0; at < bytes.length; at += 65536) {
      crypto.getRandomValues(bytes.subarray(at, at + 65536));
    }
    await Deno.writeFile(file, bytes);
    const { code, stdout, stderr } = await runToExit(Deno.execPath(), [
      "run",
      "-A",
      "bench/ab.ts",
      "--file",
      file,
      "--seeders",
      "1",
      "--runs",
      "2",
      "--task",
      "--no-warm",
      "--dir",
      join(dir, "work"),
      REPO,
      other,
    ], { cwd: REPO });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    // Each run's leechers, in the order they ran: the order rotates.
    const runs = [...stderr.matchAll(/ab: run (\d) (\S+): [\d.]+ s/g)].map((
      m,
    ) => `${m[1]} ${m[2]}`);
    assert.deepEqual(runs, [
      `1 ${REPO}`,
      `1 ${other}`,
      `2 ${other}`,
      `2 ${REPO}`,
    ]);
    const lines = stdout.trim().split("\n");
    assert.match(lines.at(-2)!, new RegExp(`^${REPO}: [\\d.]+ s .* 2 runs$`));
    assert.match(
      lines.at(-1)!,
      new RegExp(
        `^${other}: [\\d.]+ s .* 2 runs, \\d+\\.\\d{3}x the first, paired$`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
