import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";

Deno.test("bench/bep15_bench.ts announces every client to the Shoal tracker and opentracker and reports both", async () => {
  const { stdout, stderr, json: result } = await runBench(
    "bench/bep15_bench.ts",
    [
      "--peers",
      "300",
      "--infohashes",
      "30",
      "--seconds",
      "1",
      "--concurrency",
      "4",
    ],
  );
  assert.match(stdout, /BEP 15 load +shoal tracker +opentracker/);
  assert.deepEqual(result.errors, [], stderr);
  const targets = result.skipped ? ["shoal"] : ["shoal", "opentracker"];
  for (const target of targets) {
    const [report] = result[target];
    assert.equal(report.announce.ok, 300, `${target}: ${stderr}`);
    assert.ok(report.load.answers > 0, `${target} answered nothing`);
    assert.equal(report.load.errors, 0, `${target} answered with errors`);
    // 300 clients over 30 infohashes: 10 a file, the asker left out or not.
    assert.ok(report.load.peersPerAnswer >= 9, JSON.stringify(report.load));
  }
});
