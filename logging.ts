/**
 * Log setup shared by the tracker and peer command lines: LogTape with one
 * sink on stderr, plain text or JSON Lines. Libraries only call
 * `getLogger([...])`; only a `main.ts` calls {@linkcode setupLogging}.
 *
 * @module
 */
import {
  configure,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";

/** Log levels the command lines accept, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const;

/** Log formats the command lines accept. */
export const LOG_FORMATS = ["text", "json"] as const;

/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Options for {@linkcode setupLogging}. */
export interface LoggingOptions {
  /**
   * Lowest level written.
   *
   * @default {"info"}
   */
  level?: LogLevel;
  /**
   * "text" for people, "json" for one JSON object per line.
   *
   * @default {"text"}
   */
  format?: LogFormat;
  /**
   * Where the lines go: anything with a synchronous write.
   *
   * @default {Deno.stderr}
   */
  writer?: { writeSync(bytes: Uint8Array): number };
}

/**
 * Returns the formatter for a format: LogTape's JSON Lines formatter
 * (category joined with ".", properties nested under "properties") or its
 * text formatter.
 *
 * @param format "text" or "json"
 * @returns the formatter, which ends every record with a newline
 * @example
 * ```ts
 * import { formatterFor } from "./logging.ts";
 * const format = formatterFor("json");
 * ```
 */
export function formatterFor(format: LogFormat): TextFormatter {
  return format === "json"
    ? getJsonLinesFormatter({ categorySeparator: "." })
    : getTextFormatter({ timestamp: "date-time-timezone" });
}

/**
 * A sink that writes each record at once, synchronously, so nothing is lost
 * when the process exits right after a log call.
 *
 * @param writer where the bytes go
 * @param formatter record to text (ending with a newline)
 * @returns the sink
 * @example
 * ```ts
 * import { formatterFor, writerSink } from "./logging.ts";
 * const sink = writerSink(Deno.stderr, formatterFor("text"));
 * ```
 */
export function writerSink(
  writer: { writeSync(bytes: Uint8Array): number },
  formatter: TextFormatter,
): Sink {
  const encoder = new TextEncoder();
  return (record: LogRecord) => {
    const bytes = encoder.encode(formatter(record));
    let written = 0;
    while (written < bytes.byteLength) {
      written += writer.writeSync(bytes.subarray(written));
    }
  };
}

/**
 * Configures LogTape for a command line: every `["shoal", ...]` category at
 * `level` and above, LogTape's own warnings, one sink on stderr.
 *
 * @param options level, format and writer
 * @example
 * ```ts
 * import { setupLogging } from "./logging.ts";
 * await setupLogging({ level: "info", format: "json" });
 * ```
 */
export async function setupLogging(
  options: LoggingOptions = {},
): Promise<void> {
  const sink = writerSink(
    options.writer ?? Deno.stderr,
    formatterFor(options.format ?? "text"),
  );
  await configure({
    reset: true,
    sinks: { stderr: sink },
    loggers: [
      {
        category: ["shoal"],
        lowestLevel: options.level ?? "info",
        sinks: ["stderr"],
      },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
      },
    ],
  });
}
