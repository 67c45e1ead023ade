import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToExit } from "../_helpers/peers.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

Deno.test("bench/dht.ts measures lookups, the time to a first peer by each path, an idle seeder and a transfer, on loopback", async () => {
  const { code, stdout, stderr } = await runToExit(Deno.execPath(), [
    "run",
    "-A",
    "bench/dht.ts",
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
  ], { cwd: REPO });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
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
