/**
 * The peer's entry point (`deno task peer`, the launcher and the compiled
 * binary start this file). For a `--get`, it starts the fetch workers as it
 * loads the rest of the peer (`cli.ts`), so that they load at once
 * (spare_workers.ts). See `deno task peer --help`.
 *
 * @module
 */
import {
  downloadsAtStart,
  prestartFetchWorkers,
  SPARES_AT_START,
} from "./workers/spare_workers.ts";

/**
 * The last guard: an error nothing else handled ends the process with one
 * line, not a stack trace. Resume state is saved as the download goes, so
 * the same command resumes.
 */
function lastGuard(error: unknown): never {
  const text = error instanceof Error ? error.message : String(error);
  // deno-lint-ignore no-console
  console.error(
    `error: ${
      text.split("\n")[0]
    } (unexpected; progress is kept: run the same command to resume)`,
  );
  Deno.exit(1);
}

if (import.meta.main) {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    lastGuard(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    lastGuard(event.error);
  });
  // The rest of the peer loads while the first fetch workers load their own
  // code (spare_workers.ts says how many, and why).
  const loadingCli = import("./cli.ts");
  if (downloadsAtStart(Deno.args)) prestartFetchWorkers(SPARES_AT_START);
  let code: number;
  try {
    const { main } = await loadingCli;
    code = await main(Deno.args, Deno.env.get("INIT_CWD") ?? Deno.cwd());
  } catch (error) {
    lastGuard(error);
  }
  Deno.exit(code);
}
