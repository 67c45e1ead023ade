/**
 * `deno task demo`: a bad option is one line and exit 2; Ctrl+C stops every
 * process it started and removes its temporary folder.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
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
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [...DEMO, ...args],
      cwd: ROOT,
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, `${args.join(" ")}: ${err}`);
    assert.match(err, /^error: [^\n]+; see --help\n$/, args.join(" "));
    assert.equal(stdout.byteLength, 0, args.join(" "));
  }
});

for (const step of [/^1\. a test file: (\S+)/, /^4\. leecher:/]) {
  Deno.test(`demo: Ctrl+C after "${step.source}" stops the children and removes the folder`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...DEMO, "--size", "64", "--seeders", "2"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Its own process group: Ctrl+C signals the whole group.
      detached: true,
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let dir = "";
    const lines: string[] = [];
    const timer = setTimeout(() => Deno.kill(-child.pid, "SIGKILL"), 60_000);
    try {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of child.stdout) {
        pending += decoder.decode(chunk, { stream: true });
        const parts = pending.split("\n");
        pending = parts.pop()!;
        lines.push(...parts);
        const first = lines[0]?.match(/^1\. a test file: (\S+)/);
        if (first) dir = dirname(first[1]!);
        if (parts.some((line) => step.test(line))) {
          Deno.kill(-child.pid, "SIGINT");
          break;
        }
      }
      const status = await child.status;
      assert.ok(dir.includes("shoal-demo-"), lines.join("\n"));
      assert.equal(status.code, 130);
      assert.equal(
        (await stderr).trim().split("\n").at(-1),
        `stopped by SIGINT; removed ${dir}`,
      );
      await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
      // No process of the group is left.
      assert.throws(() => Deno.kill(-child.pid, "SIGTERM"));
    } finally {
      clearTimeout(timer);
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is gone.
      }
    }
  });
}
