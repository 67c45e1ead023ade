/**
 * `shoal`, the one command installed with `deno task install`:
 *
 * - `shoal tracker [flags]` starts the tracker in its own Deno process with
 *   network access only (and the list of this machine's addresses, to print
 *   what friends can use);
 * - `shoal peer [flags]` runs the peer launcher (peer/launch.ts), which
 *   starts the peer with access to its files only.
 *
 * This process itself may read (the launcher resolves paths), read
 * `INIT_CWD` and run Deno, the same as `deno task peer`; it opens no socket
 * and writes nothing. Relative paths start from the folder it runs in.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  denoCommand,
  exitCodeOf,
  launch,
  passSignalsOn,
} from "./peer/launch.ts";

/** Shoal's root folder (the one with deno.json). */
const ROOT = dirname(fileURLToPath(import.meta.url));

/** The `deno run` permissions of the tracker (as `deno task tracker`). */
export const TRACKER_PERMISSIONS = [
  "--allow-net",
  "--allow-sys=networkInterfaces",
] as const;

/** The usage text. */
export const SHOAL_USAGE = `Usage:
  shoal tracker [--port 6969] [...]   run a tracker (shoal tracker --help)
  shoal peer --tracker ADDRESS ...    seed, download or list files, or serve
                                      the web page (shoal peer --help)`;

/**
 * The `deno run` arguments that start the tracker.
 *
 * @param args the user's tracker flags, passed on unchanged
 * @returns every argument after the deno binary
 */
export function trackerRunArgs(args: string[]): string[] {
  return [
    "run",
    "--no-prompt",
    ...TRACKER_PERMISSIONS,
    join(ROOT, "tracker", "main.ts"),
    ...args,
  ];
}

/**
 * Runs `shoal COMMAND ...`.
 *
 * @param args the command line after `shoal`
 * @returns the exit code
 */
export async function shoal(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  // Not run by deno task: INIT_CWD, if set, is some other tool's (npm's).
  if (command === "peer") return await launch(rest, { cwd: Deno.cwd() });
  if (command === "tracker") {
    const child = new Deno.Command(denoCommand(), {
      args: trackerRunArgs(rest),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    passSignalsOn(child);
    return exitCodeOf(await child.status);
  }
  const help = command === undefined || command === "--help" ||
    command === "-h" || command === "help";
  // deno-lint-ignore no-console
  (help ? console.log : console.error)(
    help
      ? SHOAL_USAGE
      : `error: unknown command "${command}"; use shoal tracker or shoal peer (see shoal --help)`,
  );
  return help ? 0 : 2;
}

if (import.meta.main) {
  Deno.exit(await shoal(Deno.args));
}
