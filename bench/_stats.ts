/**
 * Small statistics and formatting helpers for the benchmark tables.
 *
 * @module
 */

/** Median, minimum and maximum of a sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/**
 * Summarises numbers (the median of an even count is the mean of the middle two).
 *
 * @param values the sample; NaN and null are left out
 * @returns median, min, max and count, or null for an empty sample
 */
export function summarize(
  values: readonly (number | null)[],
): Summary | null {
  const xs = values.filter((v): v is number => v !== null && !Number.isNaN(v))
    .sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length };
}

/** Value at quantile q (0..1) of a sorted array, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(q * sorted.length) - 1),
  );
  return sorted[i]!;
}

/** "123.4 MiB" */
export function mib(bytes: number | null | undefined): string {
  return bytes == null ? "-" : `${(bytes / 1048576).toFixed(0)} MiB`;
}

/** "1.23x" or "-" */
export function ratio(
  value: number | null | undefined,
  base: number | null | undefined,
): string {
  if (value == null || base == null || base === 0) return "-";
  return `${(value / base).toFixed(2)}x`;
}

/** Parses "256M", "1G", "512K", "1000" into bytes (binary units). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) {
    throw new RangeError(
      `Cannot parse size "${text}": expected e.g. 256M or 1G`,
    );
  }
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[
    m[2]!.toUpperCase() as "" | "K" | "M" | "G"
  ];
  return Math.round(Number(m[1]) * unit);
}

/** "256M", "1G" */
export function sizeLabel(bytes: number): string {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}G`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return `${bytes}`;
}

/** Renders rows as an aligned text table with a header rule. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))
      .join("  ");
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
  ].join("\n");
}
