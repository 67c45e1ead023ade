/**
 * What the benches that start real processes share: where this checkout
 * and the libtorrent client are, how long a seeder may take to get ready,
 * and the wait before a Shoal seeder trusts a new file's bytes.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToEnd, sleep } from "./_proc.ts";

/** This checkout: its tracker/ and peer/ run unless a bench is given another. */
export const REPO_DIR: string = dirname(
  dirname(fileURLToPath(import.meta.url)),
);
/** The libtorrent client script the BitTorrent comparisons run. */
export const LT_CLIENT: string = join(REPO_DIR, "bench", "lt_client.py");
/** The only Python that imports libtorrent. */
export const PYTHON = "/usr/bin/python3";
/** Time one seeder may take to hash a file before it serves (1 GiB: ~5 s alone). */
export const SEEDER_READY_MS = 300_000;
/** A Shoal seeder trusts a file's bytes once its ctime is 2 s old; a margin. */
const CTIME_SETTLE_MS = 2_500;

/**
 * Waits until `path` is old enough that a Shoal seeder trusts its bytes as
 * written a while ago (one whose ctime is younger than 2 s is hashed again).
 *
 * @param path the file a seeder will serve
 */
export async function settleCtime(path: string): Promise<void> {
  const ctimeMs = (await Deno.stat(path)).ctime?.getTime() ?? 0;
  const settleMs = ctimeMs + CTIME_SETTLE_MS - Date.now();
  if (settleMs > 0) await sleep(settleMs);
}

/**
 * Runs Shoal's `--make-torrent` on a file or folder, as a user would (its
 * process start included in the time).
 *
 * @param source the file or folder
 * @param torrentPath where the `.torrent` goes (replaced if there)
 * @param repoDir the checkout whose peer/ runs @default {REPO_DIR}
 * @returns the v2 infohash in hex and the seconds it took
 */
export async function shoalMakeTorrent(
  source: string,
  torrentPath: string,
  repoDir: string = REPO_DIR,
): Promise<{ id: string; seconds: number }> {
  await Deno.remove(torrentPath).catch(() => {});
  const made = await runToEnd(
    Deno.execPath(),
    [
      "run",
      "-A",
      "peer/main.ts",
      "--make-torrent",
      source,
      "--torrent-out",
      torrentPath,
      "--no-dht",
    ],
    SEEDER_READY_MS,
    repoDir,
  );
  const id = made.output.match(/ id ([0-9a-f]{64})\)/)?.[1];
  if (made.code !== 0 || !id) {
    throw new Error(`shoal --make-torrent failed:\n${made.output}`);
  }
  return { id, seconds: made.seconds };
}
