/**
 * The command line every bench reads the same way: its own flags plus
 * `--help`/`-h`, unknown flags refused.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

const HELP = { help: { type: "boolean", short: "h", default: false } } as const;

/** The values `parseArgs` gives for `options`, strict. */
type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true }>
>["values"];

/**
 * Parses a bench's flags (strict: an unknown flag throws a TypeError).
 *
 * @param args the command line
 * @param options the bench's flags, as node:util `parseArgs` takes them
 * @param usage printed for `--help`
 * @returns the flags' values, or null when `--help` was asked for (the
 *   usage is printed; the bench exits 0)
 * @example
 * ```ts
 * import { benchArgs } from "./_cli.ts";
 * const values = benchArgs(["--runs", "2"], { runs: { type: "string" } }, "Usage: ...");
 * values?.runs; // "2"
 * ```
 */
export function benchArgs<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  usage: string,
): Values<O> | null {
  const { values } = parseArgs({
    args,
    options: { ...options, ...HELP },
    strict: true,
  });
  if ((values as { help?: boolean }).help) {
    // deno-lint-ignore no-console
    console.log(usage);
    return null;
  }
  return values as Values<O>;
}
