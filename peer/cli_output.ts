/**
 * What the peer CLI prints: lines for people (results on stdout, progress
 * and errors on stderr), or with `--json` one JSON object per line on
 * stdout and nothing else, for scripts.
 *
 * Every JSON line has a `type`: "hashing", "skipped" (an entry of a seeded
 * folder left out), "seeding", "not_seeding" (part of a folder, --only),
 * "serving", "ui", "progress", "done", "stopped" or "error". An "error"
 * line carries the
 * process's exit code as `exitCode`.
 *
 * @module
 */
import { toHex } from "@shoal/protocol";
import type { DownloadProgress, DownloadResult } from "./download/download.ts";
import type { FileProgress } from "./download/folder_download.ts";
import { formatBytes, formatRate, progressPrinter } from "./progress.ts";

/** A stream the output writes to synchronously. */
export interface SyncWriter {
  /** Writes some bytes, returns how many. */
  writeSync(bytes: Uint8Array): number;
  /** True for a terminal. */
  isTerminal(): boolean;
}

/** The peer CLI's output, text or JSON lines. */
export interface CliOutput {
  /** True when printing JSON lines. */
  readonly json: boolean;
  /**
   * Reports something that happened.
   *
   * @param type the JSON line's type
   * @param fields the JSON line's other fields
   * @param text the line for people
   */
  event(type: string, fields: Record<string, unknown>, text: string): void;
  /** Reports download progress (redrawn bar or plain lines, or JSON). */
  progress(progress: DownloadProgress): void;
  /** Ends a progress display. */
  endProgress(): void;
  /** Reports a finished download. */
  done(result: DownloadResult): void;
  /**
   * Reports a failure.
   *
   * @param code a short machine-readable reason
   * @param exitCode the exit code the process returns
   * @param message one line for people
   */
  error(code: string, exitCode: number, message: string): void;
}

/**
 * Wraps a stream so that once its reader is gone (`shoal ... | head -1`),
 * output is dropped instead of the broken pipe ending the process: the
 * download or seeding goes on and the exit code still tells the result.
 *
 * @param stream stdout or stderr
 * @returns the same stream, quiet after a broken pipe
 * @example
 * ```ts
 * import { lenient } from "./cli_output.ts";
 * lenient(Deno.stdout).writeSync(new TextEncoder().encode("hi\n"));
 * ```
 */
export function lenient(stream: SyncWriter): SyncWriter {
  let gone = false;
  return {
    writeSync(bytes) {
      if (gone) return bytes.byteLength;
      try {
        return stream.writeSync(bytes);
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
        gone = true;
        return bytes.byteLength;
      }
    },
    isTerminal: () => stream.isTerminal(),
  };
}

function writeAll(out: { writeSync(bytes: Uint8Array): number }, text: string) {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.byteLength) {
    written += out.writeSync(bytes.subarray(written));
  }
}

/**
 * Makes the CLI's output.
 *
 * @param json true for JSON lines on stdout
 * @param streams where to write
 * @returns the output
 * @example
 * ```ts
 * import { cliOutput } from "./cli_output.ts";
 * const out = cliOutput(true);
 * out.event("serving", { port: 7000 }, "serving peers on port 7000");
 * // {"type":"serving","port":7000}
 * ```
 */
export function cliOutput(
  json: boolean,
  streams: { stdout: SyncWriter; stderr: SyncWriter } = {
    stdout: lenient(Deno.stdout),
    stderr: lenient(Deno.stderr),
  },
): CliOutput {
  const line = (fields: Record<string, unknown>) =>
    writeAll(streams.stdout, `${JSON.stringify(fields)}\n`);
  if (json) {
    const changed = changedFiles();
    return {
      json,
      event: (type, fields) => line({ type, ...fields }),
      progress: (progress) =>
        line({
          type: "progress",
          ...progress,
          ...(progress.files ? { files: changed(progress.files) } : {}),
        }),
      endProgress: () => {},
      done: (result) =>
        line({
          type: "done",
          path: result.path,
          fileId: toHex(result.fileId),
          name: result.manifest.name,
          size: result.manifest.size,
          chunkCount: result.manifest.chunkCount,
          seconds: result.seconds,
          bytesFetched: result.bytesFetched,
          resumedChunks: result.resumedChunks,
          chunksByPeer: result.chunksByPeer,
          ...(result.folder
            ? {
              files: result.folder.files.filter((_, i) =>
                result.chosen?.[i] ?? true
              ).map((file) => file.path.join("/")),
            }
            : {}),
        }),
      error: (code, exitCode, message) =>
        line({ type: "error", code, exitCode, message }),
    };
  }
  const printer = progressPrinter(streams.stderr);
  return {
    json,
    event: (_type, _fields, text) => writeAll(streams.stdout, `${text}\n`),
    progress: (progress) => printer.update(progress),
    endProgress: () => printer.end(),
    done: (result) => {
      printer.end();
      const rate = result.bytesFetched / Math.max(result.seconds, 0.001);
      const resumed = result.resumedChunks > 0
        ? `, ${result.resumedChunks} chunks resumed`
        : "";
      writeAll(
        streams.stdout,
        `checked ${result.path} (${filesText(result)}${
          formatBytes(result.manifest.size)
        }, id ${toHex(result.fileId)}) in ${result.seconds.toFixed(2)} s, ${
          formatRate(rate)
        }${resumed}\n`,
      );
    },
    error: (_code, _exitCode, message) => {
      printer.end();
      writeAll(streams.stderr, `error: ${message}\n`);
    },
  };
}

/** "3 files, " for a folder (those fetched, with --only), else nothing. */
function filesText(result: DownloadResult): string {
  if (!result.folder) return "";
  const count = result.chosen?.filter((chosen) => chosen).length ??
    result.folder.files.length;
  return `${count} file${count === 1 ? "" : "s"}, `;
}

/**
 * A folder's files whose progress changed since the last call, each with
 * its `index` in the folder (all of them the first time): a `--json`
 * progress line of a folder of 10,000 files would otherwise carry 820 KB
 * twice a second.
 */
function changedFiles(): (
  files: readonly FileProgress[],
) => (FileProgress & { index: number })[] {
  let last: string[] = [];
  return (files) => {
    const out: (FileProgress & { index: number })[] = [];
    const now = files.map((file, index) => {
      const key = `${file.chunksDone} ${file.chosen}`;
      if (last[index] !== key) out.push({ index, ...file });
      return key;
    });
    last = now;
    return out;
  };
}
