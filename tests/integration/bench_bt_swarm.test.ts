/**
 * bench/bt_swarm.ts runs end to end on a small file: every download of the
 * BitTorrent interop benchmark completes and is checked, and the targets
 * are computed. No timing is asserted. Skipped, with a note, without
 * python3-libtorrent.
 */
import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the BitTorrent interop bench");

Deno.test({
  name:
    "bench/bt_swarm.ts times libtorrent and Shoal leechers from Shoal and libtorrent seeders, each download checked",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    const { stdout, json } = await runBench("bench/bt_swarm.ts", [
      "--quick",
      "--size",
      "4M",
      "--seeders",
      "2",
    ]);
    assert.equal(json.bench, "bt-swarm");
    for (const c of json.result.cases) {
      assert.equal(c.samples.length, 1, `${c.tool}: ${c.errors}`);
      // A Shoal leecher's chunks by peer are exact (libtorrent's are
      // sampled, and a 4 MiB download can end before the first sample).
      if (c.tool.startsWith("shoal")) {
        assert.ok(Object.keys(c.samples[0].fromPeers).length > 0, c.tool);
      }
    }
    for (
      const key of [
        "shoalSeedersVsLt",
        "shoalLeecherVsLt",
        "fallbackSeconds",
        "mseRetrySeconds",
      ]
    ) {
      assert.equal(typeof json.targets[key], "number", key);
    }
    assert.match(stdout, /cost of an unflagged list/);
  },
});
