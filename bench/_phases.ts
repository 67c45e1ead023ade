/**
 * Where a Shoal leecher's time goes, from the `--json` lines it prints (each
 * timed on arrival) and its exit: pure, so the swarm bench and its tests
 * share it.
 *
 * @module
 */

/** A line of output and when it arrived, in ms from the leecher's spawn. */
export interface TimedLine {
  line: string;
  atMs: number;
}

/**
 * A leecher's wall time cut at its `--json` events, in seconds. The parts
 * add up to the whole time.
 */
export interface Phases {
  /**
   * Spawn to the first event: Deno's start-up (for `deno task`: the task
   * runner, the launcher, then the peer), loading the code, opening the
   * peer's socket.
   */
  startup: number;
  /**
   * Of `startup`, spawn to the peer process's first sighting (polled every
   * 25 ms): `deno task` and the launcher. Absent for a peer started directly.
   */
  launcher?: number;
  /** First event ("finding") to "downloading": tracker lookup, the manifest, the part file. */
  lookup: number;
  /** "downloading" to "checking": the transfer, hashed as it arrives. */
  transfer: number;
  /** "checking" to "done": connections closed, resume state, the file placed. */
  finish: number;
  /** "done" to the process's exit: the peer stops, Deno exits (and the launcher). */
  exit: number;
}

/** The names of {@linkcode Phases}' parts, in order, for tables. */
export const PHASE_NAMES = [
  "startup",
  "lookup",
  "transfer",
  "finish",
  "exit",
] as const;

/** A line of `--json` output as its event object, or null for any other line. */
export function parseEvent(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/**
 * Cuts a leecher's time at its events.
 *
 * @param lines its output lines, timed (other lines are skipped)
 * @param exitMs spawn to exit, ms
 * @param peerSeenMs spawn to the peer process's first sighting, when a
 *   launcher started it
 * @returns the phases, or null when an event is missing (no "downloading"
 *   or no "done": a failed run, or a peer that does not report them)
 * @example
 * ```ts
 * import { leecherPhases } from "./_phases.ts";
 * leecherPhases([
 *   { line: '{"type":"progress","state":"finding"}', atMs: 300 },
 *   { line: '{"type":"progress","state":"downloading"}', atMs: 400 },
 *   { line: '{"type":"progress","state":"checking"}', atMs: 1400 },
 *   { line: '{"type":"done"}', atMs: 1450 },
 * ], 1500);
 * // { startup: 0.3, lookup: 0.1, transfer: 1, finish: 0.05, exit: 0.05 }
 * ```
 */
export function leecherPhases(
  lines: readonly TimedLine[],
  exitMs: number,
  peerSeenMs?: number,
): Phases | null {
  let first: number | null = null;
  let downloading: number | null = null;
  let checking: number | null = null;
  let done: number | null = null;
  for (const { line, atMs } of lines) {
    const event = parseEvent(line);
    if (!event) continue;
    first ??= atMs;
    if (event.type === "progress") {
      if (event.state === "downloading") downloading ??= atMs;
      if (event.state === "checking" || event.state === "done") {
        checking ??= atMs;
      }
    }
    if (event.type === "done") done ??= atMs;
  }
  if (first === null || downloading === null || done === null) return null;
  checking ??= done;
  const s = (ms: number) => ms / 1000;
  return {
    startup: s(first),
    ...(peerSeenMs !== undefined ? { launcher: s(peerSeenMs) } : {}),
    lookup: s(downloading - first),
    transfer: s(checking - downloading),
    finish: s(done - checking),
    exit: s(exitMs - done),
  };
}
