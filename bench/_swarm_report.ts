/**
 * Issue 16's targets for the swarm bench, checked against a run's results,
 * and where Shoal's time went (its `--json` events): tables and JSON.
 *
 * @module
 */
import { PHASE_NAMES } from "./_phases.ts";
import { mib, renderTable, sizeLabel, summarize } from "./_stats.ts";
import type { CaseResult } from "./swarm.ts";

/** Issue 16's targets, each measured in the same run. */
export const TARGETS = {
  /** Shoal's median time (`deno task peer`) at most this many times the floor's. */
  maxVsFloor: 1.25,
  /** libtorrent's and aria2c's median times at least this many times Shoal's. */
  minSpeedup: 2,
  /** The leecher peer's peak RSS, bytes, in every run. */
  maxLeecherRss: 128 * 1024 * 1024,
  /** Each seeder's peak RSS, bytes, in every run. */
  maxSeederRss: 96 * 1024 * 1024,
} as const;

/** One case's figures against {@linkcode TARGETS}; null where a tool did not run. */
export interface CaseTargets {
  size: number;
  seeders: number;
  /** Median seconds of each tool that ran. */
  medians: Record<string, number>;
  /** Shoal (`deno task peer`) / floor. */
  shoalVsFloor: number | null;
  /** Shoal started directly / floor. */
  shoalRunVsFloor: number | null;
  /**
   * Shoal / the floor with its copy flushed to disk (no target: it shows
   * what the durability of Shoal's file costs the plain tools).
   */
  shoalVsSyncedFloor: number | null;
  /**
   * The median over rounds of Shoal / floor within each round, where both
   * ran (no target of its own: see {@linkcode pairedRatio}).
   */
  pairedShoalVsFloor: number | null;
  /** libtorrent / Shoal: how many times faster Shoal is. */
  libtorrentVsShoal: number | null;
  /** The median over rounds of libtorrent / Shoal within each round. */
  pairedLibtorrentVsShoal: number | null;
  /** aria2c / Shoal. */
  aria2VsShoal: number | null;
  /** Highest peak RSS of Shoal's leecher peer over the runs, bytes. */
  leecherPeak: number | null;
  /** Highest peak RSS of any Shoal seeder over the runs, bytes. */
  seederPeak: number | null;
  /** Whether each target was met (null: not measured). */
  met: {
    vsFloor: boolean | null;
    vsLibtorrent: boolean | null;
    vsAria2: boolean | null;
    leecherRss: boolean | null;
    seederRss: boolean | null;
  };
}

/**
 * The median, over the rounds in which both tools ran, of one tool's time
 * over the other's in that round.
 *
 * Why beside the ratio of medians: the two tools of a round run back to
 * back, a few seconds apart, while a sitting lasts minutes, and this VM's
 * speed drifts over minutes (the floor's median moved from 1.27 to 1.55 s
 * between two sittings 20 minutes apart). A ratio taken within each round
 * cancels that drift; the ratio of medians does not.
 *
 * @param over the numerator's samples
 * @param under the denominator's samples
 * @returns the median ratio, or null without a round in common
 * @example
 * ```ts
 * import { pairedRatio } from "./_swarm_report.ts";
 * pairedRatio(
 *   [{ round: 0, seconds: 3 }, { round: 1, seconds: 2 }],
 *   [{ round: 0, seconds: 2 }, { round: 1, seconds: 2 }],
 * ); // 1.25: the median of 1.5 and 1
 * ```
 */
export function pairedRatio(
  over: readonly { round?: number; seconds: number }[],
  under: readonly { round?: number; seconds: number }[],
): number | null {
  const byRound = new Map<number, number>();
  for (const s of under) {
    if (s.round !== undefined && s.seconds > 0) byRound.set(s.round, s.seconds);
  }
  const ratios = over.flatMap((s) => {
    const base = s.round === undefined ? undefined : byRound.get(s.round);
    return base === undefined ? [] : [s.seconds / base];
  });
  return summarize(ratios)?.median ?? null;
}

function caseKey(r: CaseResult): string {
  return `${r.size}/${r.seeders}`;
}

function max(values: (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === "number" && v > 0);
  return xs.length ? Math.max(...xs) : null;
}

/**
 * Checks each case of a run against {@linkcode TARGETS}.
 *
 * @param results the swarm bench's results
 * @returns one entry per (size, seeders), in the order first seen
 */
export function swarmTargets(results: readonly CaseResult[]): CaseTargets[] {
  const cases = new Map<string, CaseResult[]>();
  for (const r of results) {
    cases.set(caseKey(r), [...(cases.get(caseKey(r)) ?? []), r]);
  }
  return [...cases.values()].map((rs) => {
    const medians: Record<string, number> = {};
    for (const r of rs) {
      const s = summarize(r.samples.map((x) => x.seconds));
      if (s) medians[r.tool] = s.median;
    }
    const samplesOf = (tool: string) =>
      rs.find((r) => r.tool === tool)?.samples ?? [];
    const div = (a?: number, b?: number) =>
      a !== undefined && b !== undefined && b > 0 ? a / b : null;
    const shoalVsFloor = div(medians.shoal, medians.floor);
    const libtorrentVsShoal = div(medians.libtorrent, medians.shoal);
    const aria2VsShoal = div(medians.aria2, medians.shoal);
    const shoal = samplesOf("shoal");
    const leecherPeak = max(shoal.map((x) => x.leecherPeak));
    const seederPeak = max(shoal.map((x) => x.seederPeak));
    const atMost = (v: number | null, limit: number) =>
      v === null ? null : v <= limit;
    const atLeast = (v: number | null, limit: number) =>
      v === null ? null : v >= limit;
    return {
      size: rs[0]!.size,
      seeders: rs[0]!.seeders,
      medians,
      shoalVsFloor,
      shoalRunVsFloor: div(medians["shoal-run"], medians.floor),
      shoalVsSyncedFloor: div(medians.shoal, medians["floor-synced"]),
      pairedShoalVsFloor: pairedRatio(shoal, samplesOf("floor")),
      libtorrentVsShoal,
      pairedLibtorrentVsShoal: pairedRatio(samplesOf("libtorrent"), shoal),
      aria2VsShoal,
      leecherPeak,
      seederPeak,
      met: {
        vsFloor: atMost(shoalVsFloor, TARGETS.maxVsFloor),
        vsLibtorrent: atLeast(libtorrentVsShoal, TARGETS.minSpeedup),
        vsAria2: atLeast(aria2VsShoal, TARGETS.minSpeedup),
        leecherRss: atMost(leecherPeak, TARGETS.maxLeecherRss),
        seederRss: atMost(seederPeak, TARGETS.maxSeederRss),
      },
    };
  });
}

function verdict(met: boolean | null): string {
  return met === null ? "" : met ? " met" : " MISSED";
}

function x(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)}x`;
}

/**
 * The targets as a text table, one row per case.
 *
 * @param results the swarm bench's results
 * @returns the table
 */
export function targetsTable(results: readonly CaseResult[]): string {
  const header = [
    "case",
    "floor s",
    "shoal s",
    `shoal/floor (<= ${TARGETS.maxVsFloor}x)`,
    "paired",
    "shoal-run/floor",
    "shoal/floor-synced",
    `libtorrent/shoal (>= ${TARGETS.minSpeedup}x)`,
    "paired",
    `aria2c/shoal (>= ${TARGETS.minSpeedup}x)`,
    `leecher RSS (<= ${mib(TARGETS.maxLeecherRss)})`,
    `seeder RSS (<= ${mib(TARGETS.maxSeederRss)})`,
  ];
  const rows = swarmTargets(results).map((t) => [
    `${sizeLabel(t.size)} x${t.seeders}`,
    t.medians.floor?.toFixed(2) ?? "-",
    t.medians.shoal?.toFixed(2) ?? "-",
    x(t.shoalVsFloor) + verdict(t.met.vsFloor),
    x(t.pairedShoalVsFloor),
    x(t.shoalRunVsFloor),
    x(t.shoalVsSyncedFloor),
    x(t.libtorrentVsShoal) + verdict(t.met.vsLibtorrent),
    x(t.pairedLibtorrentVsShoal),
    x(t.aria2VsShoal) + verdict(t.met.vsAria2),
    mib(t.leecherPeak) + verdict(t.met.leecherRss),
    mib(t.seederPeak) + verdict(t.met.seederRss),
  ]);
  return renderTable(header, rows);
}

/** Medians of each phase of a Shoal result, seconds; null without phases. */
export function phaseMedians(
  result: CaseResult,
): Record<string, number> | null {
  const samples = result.samples.filter((s) => s.phases);
  if (samples.length === 0) return null;
  const medians: Record<string, number> = {};
  for (const name of [...PHASE_NAMES, "launcher"] as const) {
    const s = summarize(samples.map((x) => x.phases![name] ?? null));
    if (s) medians[name] = s.median;
  }
  const total = summarize(samples.map((x) => x.seconds));
  if (total) medians.total = total.median;
  return medians;
}

/**
 * Where Shoal's time went, as a text table: the median of each phase over
 * the runs, per case and way of starting the leecher.
 *
 * @param results the swarm bench's results
 * @returns the table
 */
export function phasesTable(results: readonly CaseResult[]): string {
  const header = [
    "case",
    "tool",
    "start-up",
    "of which task+launcher",
    "lookup+manifest",
    "transfer",
    "finish",
    "exit",
    "total (median)",
    "transfer MB/s",
    "leecher CPU s",
    "seeders CPU s",
  ];
  const rows: string[][] = [];
  for (const r of results) {
    const m = phaseMedians(r);
    if (!m) continue;
    const s = (name: string) => m[name]?.toFixed(2) ?? "-";
    rows.push([
      `${sizeLabel(r.size)} x${r.seeders}`,
      r.tool,
      s("startup"),
      s("launcher"),
      s("lookup"),
      s("transfer"),
      s("finish"),
      s("exit"),
      s("total"),
      m.transfer ? (r.size / m.transfer / 1e6).toFixed(0) : "-",
      summarize(r.samples.map((x) => x.leecherCpuSeconds ?? null))?.median
        .toFixed(2) ?? "-",
      summarize(r.samples.map((x) => x.seedersCpuSeconds ?? null))?.median
        .toFixed(2) ?? "-",
    ]);
  }
  return renderTable(header, rows);
}
