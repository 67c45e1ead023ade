/**
 * What the UDP load generators share (tracker_load.ts for Shoal's messages,
 * bep15_load.ts for BEP 15): many loopback source addresses, a pool of
 * requests in flight, the timeout sweep, latency quantiles and the target's
 * memory.
 *
 * @module
 */

/** One request waiting for its answer. */
export interface Waiting<T> {
  sentMs: number;
  resolve: (reply: T | null) => void;
}

/**
 * A field of /proc/PID/status in KiB (VmRSS, VmHWM), or null.
 *
 * @param pid the process, or null
 * @param key the field
 */
export function statusKiB(pid: number | null, key: string): number | null {
  if (pid === null) return null;
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The i-th loopback source address under a /16 prefix such as "127.77",
 * skipping .0 and .255 host bytes: 65,000 sources.
 */
export function sourceHost(prefix: string, i: number): string {
  const n = Math.floor(i / 254) * 256 + (i % 254) + 1;
  return `${prefix}.${n >> 8}.${n & 255}`;
}

/** The p-quantile of sorted samples, in ms rounded to µs (NaN when none). */
export function quantile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(p * sorted.length) - 1),
  );
  return Math.round(sorted[i]! * 1000) / 1000;
}

/**
 * Runs `count` jobs with at most `concurrency` at once.
 *
 * @returns how many said true and how many false
 */
export async function runPool(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<boolean>,
): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      if (await job(next++)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, failed };
}

/**
 * Times out requests with no answer: one sweep timer, not one per datagram.
 *
 * @param pending the requests in flight, by transaction id
 * @param timeoutMs how long one may wait
 * @param onTimeout called once per request timed out
 * @returns the timer, to clear at the end
 */
export function sweepTimeouts<T>(
  pending: Map<number, Waiting<T>>,
  timeoutMs: number,
  onTimeout: () => void,
): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const oldest = performance.now() - timeoutMs;
    for (const [txid, waiting] of pending) {
      if (waiting.sentMs < oldest) {
        pending.delete(txid);
        onTimeout();
        waiting.resolve(null);
      }
    }
  }, 25);
}

/** Transaction ids 1, 2, ... wrapping before 2^32. */
export function txidCounter(): () => number {
  let next = 1;
  return () => {
    const t = next;
    next = next >= 0xffff_fff0 ? 1 : next + 1;
    return t;
  };
}
