/**
 * A seeder's periodic word on what it gave: "uploaded 1.2 GB to 3 peers",
 * once a minute by default, and only when the count has grown since the
 * last line (an idle seeder stays quiet). The text and the rule are pure;
 * the timer is injected, so tests need not wait a minute.
 *
 * @module
 */
import { formatBytes, plural } from "./progress.ts";

/** How often a seeder says what it uploaded, unless told otherwise. */
export const UPLOAD_REPORT_MS = 60_000;

/** What a seeder has uploaded so far in this run. */
export interface UploadCount {
  /** Chunk bytes sent. */
  bytes: number;
  /** Distinct peers sent to. */
  peers: number;
}

/**
 * The line a seeder prints.
 *
 * @param count what it uploaded
 * @returns e.g. "uploaded 1.2 GB to 3 peers"
 * @example
 * ```ts
 * import { uploadReportLine } from "./upload_report.ts";
 * uploadReportLine({ bytes: 1_200_000_000, peers: 3 }); // "uploaded 1.2 GB to 3 peers"
 * ```
 */
export function uploadReportLine(count: UploadCount): string {
  return `uploaded ${formatBytes(count.bytes)} to ${
    plural(count.peers, "peer")
  }`;
}

/** The timer functions the reporter uses (the global ones by default). */
export interface ReportTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

/** Options for {@linkcode UploadReporter}. */
export interface UploadReporterOptions {
  /** Reads the count now. */
  read: () => UploadCount;
  /** Says a count (prints the line). */
  say: (count: UploadCount) => void;
  /** Time between looks. @default {UPLOAD_REPORT_MS} */
  everyMs?: number;
  /** @default {globalThis} */
  timers?: ReportTimers;
}

/**
 * Looks at the upload count every `everyMs` and says it when it grew.
 *
 * @example
 * ```ts
 * import { UploadReporter } from "./upload_report.ts";
 * const reporter = new UploadReporter({
 *   read: () => ({ bytes: 0, peers: 0 }),
 *   say: (count) => console.log(count),
 * });
 * reporter.start();
 * reporter.stop();
 * ```
 */
export class UploadReporter {
  readonly #options: UploadReporterOptions;
  readonly #timers: ReportTimers;
  #timer: unknown = null;
  #lastBytes = 0;

  /** @param options what to read, how to say it, how often */
  constructor(options: UploadReporterOptions) {
    this.#options = options;
    this.#timers = options.timers ?? {
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (id) => clearInterval(id as number),
    };
  }

  /** Starts looking (again, if stopped). */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#timers.setInterval(
      () => this.tick(),
      this.#options.everyMs ?? UPLOAD_REPORT_MS,
    );
  }

  /** One look: says the count when it grew since the last line. */
  tick(): void {
    const count = this.#options.read();
    if (count.bytes <= this.#lastBytes) return;
    this.#lastBytes = count.bytes;
    this.#options.say(count);
  }

  /** Stops looking. */
  stop(): void {
    if (this.#timer === null) return;
    this.#timers.clearInterval(this.#timer);
    this.#timer = null;
  }
}
