/**
 * `deno task demo`: a bad option is one line and exit 2; Ctrl+C stops every
 * process it started and removes its temporary folder.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import * as h from "../_helpers/mod.ts";

const DEMO = [
  "run",
  "--allow-net=127.0.0.1,0.0.0.0",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "demo/main.ts",
];

Deno.test("demo: a bad option says so in one line and exits 2", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--seeders", "-1"],
      ["--seeders", "0"],
      ["--seeders", "1.5"],
      ["--seeders"],
      ["--size", "0"],
      ["--size", "-1"],
      ["--size", "abc"],
      ["--keep=yes"],
      ["extra"],
    ]
  ) {
    const { code, stdout, stderr } = await h.spawnDenoWith([...DEMO, ...args])
      .done(30_000);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, /^error: [^\n]+; see --help\n$/, args.join(" "));
    assert.equal(stdout, "", args.join(" "));
  }
});

for (const step of [/^1\. a test file: (\S+)/, /^4\. leecher:/]) {
  Deno.test(`demo: Ctrl+C after "${step.source}" stops the children and removes the folder`, async () => {
    // Its own process group: Ctrl+C signals the whole group.
    const demo = h.spawnDenoWith([...DEMO, "--size", "64", "--seeders", "2"], {
      processGroup: true,
    });
    try {
      const [first] = await demo.waitFor(/^1\. a test file: (\S+)/, 60_000);
      const dir = dirname(first!.slice("1. a test file: ".length));
      await demo.waitFor(step, 60_000);
      Deno.kill(-demo.child.pid, "SIGINT");
      const { code, stderr } = await demo.done(60_000);
      assert.ok(dir.includes("shoal-demo-"), demo.lines.join("\n"));
      assert.equal(code, 130);
      assert.equal(
        stderr.trim().split("\n").at(-1),
        `stopped by SIGINT; removed ${dir}`,
      );
      await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
      // No process of the group is left.
      assert.throws(() => Deno.kill(-demo.child.pid, "SIGTERM"));
    } finally {
      await demo.kill();
    }
  });
}
