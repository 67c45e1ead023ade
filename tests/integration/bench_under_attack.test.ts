import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToExit } from "../_helpers/peers.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Row {
  key: string;
  seconds: number[];
  failures: string[];
  effect: string;
}

Deno.test("bench/under_attack.ts times a download quiet and beside idle connections, and reports both", async () => {
  const { code, stdout, stderr } = await runToExit(Deno.execPath(), [
    "run",
    "-A",
    "bench/under_attack.ts",
    "--runs",
    "1",
    "--size",
    "8M",
    "--only",
    "quiet,9",
    "--timeout",
    "60",
  ], { cwd: REPO });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /attack +download s \(min-max\) +vs quiet +within 2x/);
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
  const rows = json.rows as Row[];
  assert.deepEqual(rows.map((row) => row.key), ["quiet", "9"]);
  for (const row of rows) {
    assert.deepEqual(row.failures, []);
    assert.equal(row.seconds.length, 1);
  }
  // The attack really ran: all 20 connections held, none given a slot.
  assert.match(rows[1]!.effect, /^20 of 20 open at the end, .* 0 UNCHOKE/);
});
