/**
 * Runs one of bench/ as `deno task bench` would, on a small case, for the
 * tests that check a benchmark still runs end to end and reports what it
 * should (tests/integration/bench_*.test.ts). No timing is asserted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToExit } from "./peers.ts";

/** The repository's root, where the benchmarks run from. */
export const REPO: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
);

/**
 * Runs `deno run -A bench/SCRIPT ARGS` in the repository, asserts it exits
 * 0 (its output is in the error otherwise), and returns its output and the
 * JSON report on its last line.
 *
 * @param script the benchmark, relative to the repository ("bench/dht.ts")
 * @param args its flags
 */
export async function runBench(
  script: string,
  args: string[],
): Promise<{
  stdout: string;
  stderr: string;
  // deno-lint-ignore no-explicit-any -- the report's shape is the benchmark's own
  json: any;
}> {
  const { code, stdout, stderr } = await runToExit(Deno.execPath(), [
    "run",
    "-A",
    script,
    ...args,
  ], { cwd: REPO });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
  return { stdout, stderr, json };
}
