import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";

Deno.test("bench/dht.ts measures lookups, the time to a first peer by each path, an idle seeder and a transfer, on loopback", async () => {
  const { stdout, json } = await runBench("bench/dht.ts", [
    "--nodes",
    "12",
    "--lookups",
    "2",
    "--runs",
    "1",
    "--idle-seconds",
    "1",
    "--transfer",
    "2M",
  ]);
  assert.equal(json.bench, "dht");
  assert.equal(json.lookups[0].nodes, 12);
  assert.equal(json.lookups[0].found, 2);
  for (const path of ["tracker", "dht", "both"]) {
    assert.equal(json.firstPeerMs[path].length, 1, path);
  }
  assert.equal(json.idle.rows.length, 2);
  assert.equal(json.transfer.seconds.on.length, 1);
  assert.equal(json.transfer.seconds.onExit.length, 1);
  assert.match(stdout, /DHT alone \(no tracker\)/);
});
