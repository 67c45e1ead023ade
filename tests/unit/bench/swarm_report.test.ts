/**
 * The swarm bench's reading of a run: a Shoal leecher's time cut at its
 * `--json` events, and issue 16's targets checked against the medians.
 */
import assert from "node:assert/strict";
import { leecherPhases } from "../../../bench/_phases.ts";
import {
  pairedRatio,
  swarmTargets,
  targetsTable,
} from "../../../bench/_swarm_report.ts";
import type { CaseResult, Sample } from "../../../bench/swarm.ts";

const event = (fields: Record<string, unknown>) => JSON.stringify(fields);

Deno.test("leecherPhases cuts the time at the first event, downloading, checking, done and the exit", () => {
  const phases = leecherPhases(
    [
      { line: "Task peer deno run ...", atMs: 5 },
      { line: event({ type: "progress", state: "finding" }), atMs: 400 },
      { line: event({ type: "progress", state: "finding" }), atMs: 500 },
      { line: event({ type: "progress", state: "downloading" }), atMs: 700 },
      { line: event({ type: "progress", state: "downloading" }), atMs: 1200 },
      { line: event({ type: "progress", state: "checking" }), atMs: 2700 },
      { line: event({ type: "progress", state: "done" }), atMs: 2750 },
      { line: event({ type: "done", seconds: 2.3 }), atMs: 2760 },
    ],
    2900,
    250,
  );
  assert.ok(phases);
  const round = (v: number) => Math.round(v * 1000);
  assert.deepEqual(
    Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)])),
    {
      startup: 400,
      launcher: 250,
      lookup: 300,
      transfer: 2000,
      finish: 60,
      exit: 140,
    },
  );
  // The parts (the launcher is inside the start-up) add up to the whole.
  const sum = phases.startup + phases.lookup + phases.transfer +
    phases.finish + phases.exit;
  assert.equal(round(sum), 2900);
});

Deno.test("leecherPhases is null for a run without downloading or done, and skips bad JSON", () => {
  assert.equal(
    leecherPhases([
      { line: "{not json", atMs: 1 },
      { line: event({ type: "progress", state: "finding" }), atMs: 10 },
      { line: event({ type: "error", code: "not_found" }), atMs: 20 },
    ], 30),
    null,
  );
});

function result(tool: CaseResult["tool"], seconds: number[], rss = 0) {
  const samples: Sample[] = seconds.map((s, round) => ({
    seconds: s,
    round,
    leecherPeak: rss || null,
    seederPeak: rss ? rss / 2 : null,
    trackerPeak: null,
  }));
  return { size: 2 ** 30, seeders: 3, tool, samples, errors: [] };
}

Deno.test("swarmTargets compares medians in the same case and checks each target", () => {
  const MiB = 1024 * 1024;
  const [t] = swarmTargets([
    result("floor", [1.0, 1.2, 1.1]),
    result("floor-synced", [1.6, 1.5, 1.7]),
    result("shoal", [1.3, 1.5, 1.4], 100 * MiB),
    result("libtorrent", [2.8, 3.0, 2.9]),
    result("aria2", [6, 5, 7]),
  ]);
  assert.ok(t);
  assert.equal(t.shoalVsFloor!.toFixed(3), (1.4 / 1.1).toFixed(3));
  assert.equal(t.shoalVsSyncedFloor!.toFixed(3), (1.4 / 1.6).toFixed(3));
  assert.equal(t.libtorrentVsShoal!.toFixed(3), (2.9 / 1.4).toFixed(3));
  assert.deepEqual(t.met, {
    vsFloor: false,
    vsLibtorrent: true,
    vsAria2: true,
    leecherRss: true,
    seederRss: true,
  });
  const table = targetsTable([result("shoal", [1])]);
  assert.match(table, /1G x3/);
  assert.match(table, /- {2}/, "a tool that did not run shows -");
});

Deno.test("pairedRatio takes each round's ratio, then their median, and pairs by round", () => {
  // The machine slows down over the sitting: both tools take longer each
  // round, Shoal 1.2 times the floor in every one.
  const floor = [1.0, 1.5, 2.0].map((seconds, round) => ({ seconds, round }));
  const shoal = [1.2, 1.8, 2.4].map((seconds, round) => ({ seconds, round }));
  assert.equal(pairedRatio(shoal, floor)!.toFixed(3), "1.200");
  const drifted = [{ seconds: 2.4, round: 2 }, { seconds: 1.2, round: 0 }];
  assert.equal(
    pairedRatio(drifted, floor)!.toFixed(3),
    "1.200",
    "samples meet their own round, whatever their order",
  );
  // A round one tool missed (a failed run) is left out, not shifted.
  const missed = [{ seconds: 1.2, round: 0 }, { seconds: 2.4, round: 2 }];
  assert.equal(pairedRatio(missed, floor.slice(1))!.toFixed(3), "1.200");
  assert.equal(pairedRatio([{ seconds: 1, round: 5 }], floor), null);
  assert.equal(pairedRatio([{ seconds: 1 }], [{ seconds: 1 }]), null);
});

Deno.test("swarmTargets reports the paired ratios beside the ratios of medians", () => {
  const [t] = swarmTargets([
    result("floor", [1.0, 2.0, 1.0]),
    result("shoal", [1.3, 2.2, 1.2]),
    result("libtorrent", [2.6, 4.0, 3.0]),
  ]);
  assert.ok(t);
  // Rounds: 1.3, 1.1, 1.2 -> median 1.2; medians: 1.3 / 1.0.
  assert.equal(t.pairedShoalVsFloor!.toFixed(3), "1.200");
  assert.equal(t.shoalVsFloor!.toFixed(3), "1.300");
  // 2.6/1.3 = 2, 4/2.2 = 1.818, 3/1.2 = 2.5 -> 2.
  assert.equal(t.pairedLibtorrentVsShoal!.toFixed(3), "2.000");
  assert.match(
    targetsTable([result("floor", [1]), result("shoal", [1.1])]),
    /1\.10x/,
  );
});
