/**
 * libtorrent for cross-checks and mixed swarms: Debian's python3-libtorrent
 * 2.0.8, which only the system Python imports. Tests that need it skip with
 * a note when it is missing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { makeFile, runToExit } from "./peers.ts";

/** The Python that imports libtorrent. */
export const LT_PYTHON = "/usr/bin/python3";

/** The path of a Python script in tests/fixtures/. */
export function ltFixture(name: string): string {
  return new URL(`../fixtures/${name}`, import.meta.url).pathname;
}

let available: Promise<boolean> | null = null;

/**
 * Whether libtorrent can be imported; when not, warns once that `what` is
 * skipped and how to install it.
 *
 * @param what the check that needs it, for the warning
 */
export async function hasLibtorrent(what: string): Promise<boolean> {
  available ??= new Deno.Command(LT_PYTHON, {
    args: ["-c", "import libtorrent"],
    stdout: "null",
    stderr: "null",
  }).output().then((out) => out.success, () => false);
  const ok = await available;
  if (!ok) {
    // deno-lint-ignore no-console
    console.warn(
      `Skipping ${what}: ${LT_PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)`,
    );
  }
  return ok;
}

/**
 * Makes the v2-only torrent libtorrent itself makes of `file`
 * (tests/fixtures/lt_make_torrent.py), written to `torrentPath`.
 *
 * @param pieceLength bytes a piece (512 KiB, as Shoal's chunks, unless given)
 * @returns its v2 infohash, hex, as libtorrent computed it
 */
export async function ltMakeTorrent(
  file: string,
  torrentPath: string,
  pieceLength = 512 * 1024,
): Promise<string> {
  const made = await runToExit(LT_PYTHON, [
    ltFixture("lt_make_torrent.py"),
    String(pieceLength),
    file,
    torrentPath,
  ]);
  assert.equal(made.code, 0, made.stderr);
  return made.stdout.trim();
}

/**
 * Writes a file of `size` pseudo-random bytes (from `seed`) to `path`, and
 * the v2-only torrent libtorrent makes of it (512 KiB pieces) to
 * `torrentPath` (`PATH.torrent` unless given).
 *
 * @returns the torrent's path, and its v2 infohash (hex) as libtorrent
 *   computed it
 */
export async function fileWithLtTorrent(
  path: string,
  size: number,
  seed: number,
  torrentPath = `${path}.torrent`,
): Promise<{ torrentPath: string; infohash: string }> {
  await makeFile(path, size, seed);
  return { torrentPath, infohash: await ltMakeTorrent(path, torrentPath) };
}
