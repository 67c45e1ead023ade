/**
 * libtorrent for cross-checks and mixed swarms: Debian's python3-libtorrent
 * 2.0.8, which only the system Python imports. Tests that need it skip with
 * a note when it is missing.
 *
 * @module
 */

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
