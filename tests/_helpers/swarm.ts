/**
 * Small swarms on loopback for the end-to-end tests (swarm.test.ts): several
 * real seeder processes of one file, a leecher in this process (to read its
 * statistics), and a user's download checked against the original.
 *
 * @module
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { PeerNode } from "../../peer/node.ts";
import {
  assertSameFile,
  getFile,
  type RunningProcess,
  startSeeder,
  type TrackerArg,
} from "./peers.ts";

/**
 * Starts `count` seeders of `source`, with state folders `dir`/seed1, seed2…
 *
 * @param tracker the tracker they register with
 * @param source the file they seed
 * @param dir the test's temporary folder
 * @param count how many
 * @param extraArgs more seeder flags (`--max-upload 8M`)
 */
export function startSeeders(
  tracker: TrackerArg,
  source: string,
  dir: string,
  count: number,
  extraArgs: string[] = [],
): Promise<(RunningProcess & { port: number })[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        startSeeder(tracker, [source], join(dir, `seed${i + 1}`), extraArgs),
    ),
  );
}

/**
 * Starts a leecher in this process (it does not serve) that downloads to
 * `outDir`, so a test can read where its chunks came from.
 *
 * @param tracker the tracker it asks
 * @param outDir its download folder
 */
export function startNodeLeecher(
  tracker: { host: string; port: number },
  outDir: string,
): Promise<PeerNode> {
  return PeerNode.start({
    trackers: [{ host: tracker.host, port: tracker.port }],
    outDir,
    serve: false,
  });
}

/**
 * Downloads the file `source` is seeded as, by its name, as a user would
 * (`--get NAME --no-seed`) into `out`, and asserts it exits 0 with a file
 * the same as `source`.
 *
 * @param tracker the tracker the leecher asks
 * @param source the seeded file (its name is the one asked for)
 * @param out the download folder
 * @returns the leecher's output
 */
export async function assertDownloads(
  tracker: { host: string; port: number },
  source: string,
  out: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const name = basename(source);
  const result = await getFile(tracker, name, out);
  assert.equal(result.code, 0, result.stderr);
  await assertSameFile(join(out, name), source);
  return result;
}
