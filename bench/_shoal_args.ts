/**
 * The command lines the benchmarks start Shoal with, in one place: each is
 * what a user would type after `deno`, run from the repository folder.
 *
 * @module
 */
import { PEER_V8_FLAGS } from "../peer/launch.ts";

/** `deno run` arguments for a tracker on 127.0.0.1:`port`. */
export function trackerArgs(port: number): string[] {
  return [
    "run",
    "--allow-net",
    "tracker/main.ts",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
  ];
}

/**
 * `deno run` and the peer's permissions, as the demo and the flash crowd
 * start it (each adds the script and its flags).
 */
export const PEER_RUN_FLAGS: readonly string[] = [
  "run",
  PEER_V8_FLAGS,
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
];

/** `deno run` arguments for a peer seeding `file` into `out`. */
export function seederArgs(
  trackerPort: number,
  file: string,
  out: string,
): string[] {
  return [
    ...peerArgs(trackerPort),
    "--seed",
    file,
    "--out",
    out,
    "--host",
    "127.0.0.1",
  ];
}

/**
 * `deno` arguments for a leecher of `name` into `out` that exits when done,
 * as a user starts one: `deno task peer --get NAME --no-seed` (the task
 * runs the launcher, peer/launch.ts, which starts the peer with least
 * privilege). With `--json`, so its progress events can be timed.
 */
export function leecherTaskArgs(
  trackerPort: number,
  name: string,
  out: string,
): string[] {
  return [
    ...taskArgs(trackerPort),
    "--get",
    name,
    "--out",
    out,
    "--no-seed",
    "--json",
  ];
}

/**
 * `deno` arguments for a seeder of `file` into `out`, as a user starts one
 * (`deno task peer --seed FILE`), with `--json` for its hashing events.
 */
export function seederTaskArgs(
  trackerPort: number,
  file: string,
  out: string,
): string[] {
  return [
    ...taskArgs(trackerPort),
    "--seed",
    file,
    "--out",
    out,
    "--host",
    "127.0.0.1",
    "--json",
  ];
}

/**
 * `deno run` arguments for a leecher of `name` into `out` that exits when
 * done, started directly (no task, no launcher, all permissions): the
 * process measured is the peer itself.
 */
export function leecherArgs(
  trackerPort: number,
  name: string,
  out: string,
): string[] {
  return [...peerArgs(trackerPort), "--get", name, "--out", out, "--no-seed"];
}

function taskArgs(trackerPort: number): string[] {
  // Run from the repository folder: deno.json's task "peer".
  return ["task", "peer", "--tracker", `127.0.0.1:${trackerPort}`];
}

function peerArgs(trackerPort: number): string[] {
  // With the V8 setting `deno task peer` uses (peer/launch.ts).
  return [
    "run",
    PEER_V8_FLAGS,
    "-A",
    "peer/main.ts",
    "--tracker",
    `127.0.0.1:${trackerPort}`,
  ];
}
