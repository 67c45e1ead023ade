/**
 * Progress on the terminal: a bar redrawn in place on a TTY, plain lines
 * every few seconds otherwise (logs, pipes, CI).
 *
 * @module
 */
import type { DownloadProgress } from "./download/download.ts";

const BAR_WIDTH = 24;
const PLAIN_EVERY_MS = 2_000;

/**
 * Formats a byte count for people, in decimal units (1 MB = 10^6 bytes), as
 * network tools and the web page do; the same convention everywhere.
 *
 * @param bytes a count of bytes
 * @returns for example "512 B", "1.5 MB", "120 GB"
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/**
 * A count and a noun, singular for 1: "1 peer", "3 peers", "0 chunks".
 *
 * @param count how many
 * @param noun the singular noun (the plural adds "s")
 * @returns the phrase
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Formats a rate in MB/s (decimal, as network tools do). */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/** Renders one line of progress. */
export function progressLine(p: DownloadProgress, withBar: boolean): string {
  if (p.state === "finding") return `${p.name}: looking for peers…`;
  if (p.state === "choosing") {
    return `${p.name}: waiting for files to be chosen…`;
  }
  const fraction = p.chunkCount === 0 ? 1 : p.chunksDone / p.chunkCount;
  const percent = `${(fraction * 100).toFixed(1).padStart(5)}%`;
  const left = p.bytesPerSecond > 0
    ? Math.ceil((p.size - p.bytesDone) / p.bytesPerSecond)
    : null;
  const eta = p.state === "downloading" && left !== null
    ? `, ${left} s left`
    : "";
  const what = p.state === "checking"
    ? "checking"
    : p.state === "done"
    ? "done"
    : formatRate(p.bytesPerSecond);
  const bar = withBar
    ? `[${
      "#".repeat(Math.round(fraction * BAR_WIDTH)).padEnd(BAR_WIDTH, "-")
    }] `
    : "";
  const chunks = `${p.chunksDone}/${p.chunkCount} chunk${
    p.chunkCount === 1 ? "" : "s"
  }`;
  return `${bar}${percent} ${p.name}: ${chunks}, ${what}, ${
    plural(p.peers, "peer")
  }${eta}`;
}

/**
 * Writes progress to a stream: redrawn in place on a terminal, otherwise a
 * plain line every two seconds and at each change of state.
 *
 * @example
 * ```ts
 * // const show = progressPrinter(Deno.stderr); download({ ..., onProgress: show });
 * ```
 */
export function progressPrinter(
  out: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean },
): {
  update(progress: DownloadProgress): void;
  end(): void;
} {
  const encoder = new TextEncoder();
  const tty = out.isTerminal();
  let lastMs = 0;
  let lastState = "";
  let drawn = false;
  return {
    update(progress) {
      const now = performance.now();
      if (tty) {
        out.writeSync(
          encoder.encode(`\r\x1b[2K${progressLine(progress, true)}`),
        );
        drawn = true;
        return;
      }
      if (progress.state !== lastState || now - lastMs >= PLAIN_EVERY_MS) {
        lastMs = now;
        lastState = progress.state;
        out.writeSync(encoder.encode(`${progressLine(progress, false)}\n`));
      }
    },
    end() {
      if (tty && drawn) out.writeSync(encoder.encode("\n"));
      drawn = false;
    },
  };
}
