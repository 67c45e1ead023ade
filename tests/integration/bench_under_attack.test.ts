import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";

interface Row {
  key: string;
  seconds: number[];
  failures: string[];
  effect: string;
}

Deno.test("bench/under_attack.ts times a download quiet and beside idle connections, and reports both", async () => {
  const { stdout, json } = await runBench("bench/under_attack.ts", [
    "--runs",
    "1",
    "--size",
    "8M",
    "--only",
    "quiet,9",
    "--timeout",
    "60",
  ]);
  assert.match(stdout, /attack +download s \(min-max\) +vs quiet +within 2x/);
  const rows = json.rows as Row[];
  assert.deepEqual(rows.map((row) => row.key), ["quiet", "9"]);
  for (const row of rows) {
    assert.deepEqual(row.failures, []);
    assert.equal(row.seconds.length, 1);
  }
  // The attack really ran: all 20 connections held, none given a slot.
  assert.match(rows[1]!.effect, /^20 of 20 open at the end, .* 0 UNCHOKE/);
});
