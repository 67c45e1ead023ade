/**
 * The command lines the benchmarks start Shoal with, in one place: each is
 * what a user would type after `deno`, run from the repository folder.
 *
 * @module
 */
import { basename } from "node:path";
import { PEER_V8_FLAGS } from "../peer/launch.ts";

/**
 * The command line with `--no-dht` added when it starts a Shoal peer that
 * was given neither `--no-dht` nor `--dht-bootstrap`. A peer's DHT joins
 * the public routers by default; tests, benchmarks and the demo may send
 * traffic to loopback only, so every place that starts a peer for them
 * (tests/_helpers/peers.ts `spawnDenoWith`, bench/_proc.ts `spawnProcess`,
 * demo/main.ts) passes its command line through here. To test the DHT,
 * give `--dht-bootstrap 127.0.0.1:PORT` (a loopback node: the peer then
 * sends nothing anywhere else, see peer/dht/address_policy.ts).
 *
 * @param args every argument after the executable
 * @param binary the executable (a compiled `shoal-peer` or installed
 *   `shoal` is a peer too)
 * @returns the arguments, with `--no-dht` at the end when needed
 * @example
 * ```ts
 * import { withoutPublicDht } from "./_shoal_args.ts";
 * withoutPublicDht(["run", "-A", "peer/main.ts", "--seed", "a"]);
 * // [..., "--seed", "a", "--no-dht"]
 * ```
 */
export function withoutPublicDht(args: string[], binary = "deno"): string[] {
  const name = basename(binary);
  const taskAt = args.indexOf("task");
  const runsPeer = name === "shoal-peer" ||
    (name === "shoal" && args[0] === "peer") ||
    args.some((arg) => /(^|[\/])peer[\/](main|launch)\.ts$/.test(arg)) ||
    args.some((arg, i) =>
      /(^|[\/])shoal\.ts$/.test(arg) && args[i + 1] === "peer"
    ) ||
    // `deno task [--config FILE] peer ...`
    (taskAt >= 0 && args.slice(taskAt + 1).includes("peer"));
  if (!runsPeer) return args;
  const decided = args.some((arg) =>
    arg === "--no-dht" || arg === "--dht-bootstrap" ||
    arg.startsWith("--dht-bootstrap=")
  );
  return decided ? args : [...args, "--no-dht"];
}

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

/**
 * `deno run` arguments for a peer seeding `file` into `out`, with `dht`
 * for its DHT (off unless a test's loopback DHT is named).
 */
export function seederArgs(
  trackerPort: number,
  file: string,
  out: string,
  dht: readonly string[] = NO_DHT,
): string[] {
  return [...peerArgs(trackerPort, dht), ...seedFlags(file, out)];
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
  return [...taskArgs(trackerPort), ...getFlags(name, out), "--json"];
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
  return [...taskArgs(trackerPort), ...seedFlags(file, out), "--json"];
}

/**
 * `deno run` arguments for a leecher of `name` into `out` that exits when
 * done, started directly (no task, no launcher, all permissions; DHT off):
 * the process measured is the peer itself.
 */
export function leecherArgs(
  trackerPort: number,
  name: string,
  out: string,
): string[] {
  return [...peerArgs(trackerPort, NO_DHT), ...getFlags(name, out)];
}

function taskArgs(trackerPort: number): string[] {
  // Run from the repository folder: deno.json's task "peer".
  return [
    "task",
    "peer",
    "--tracker",
    `127.0.0.1:${trackerPort}`,
    "--no-dht",
  ];
}

function peerArgs(trackerPort: number, dht: readonly string[]): string[] {
  // With the V8 setting `deno task peer` uses (peer/launch.ts).
  return [
    "run",
    PEER_V8_FLAGS,
    "-A",
    "peer/main.ts",
    "--tracker",
    `127.0.0.1:${trackerPort}`,
    ...dht,
  ];
}

/** No DHT: benches never contact public DHT routers. */
const NO_DHT = ["--no-dht"];

/** A seeder's flags: `file` into `out`, listening on loopback. */
function seedFlags(file: string, out: string): string[] {
  return ["--seed", file, "--out", out, "--host", "127.0.0.1"];
}

/** A leecher's flags: `name` into `out`, exiting when done. */
function getFlags(name: string, out: string): string[] {
  return ["--get", name, "--out", out, "--no-seed"];
}
