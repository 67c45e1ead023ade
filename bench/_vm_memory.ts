/**
 * Free memory on the VMs the benchmarks run on: this machine's balloon driver
 * hands free pages back to the host (virtio-balloon free page reporting), and
 * the next touch of such a page faults in the host. A download whose
 * page-cache writes land on those pages spends ~2 s more of system time per
 * GiB, whatever the tool: `dd` of 1 GiB into a new file took 2.6-2.7 s of
 * system time after `rm` and a pause, 0.26-0.31 s right after `rm`.
 *
 * How the kernel here reports (sampled from the counter below every 50 ms
 * after removing a scratch file): about 1-2 s after memory is freed, a pass
 * hands back up to ~1 GiB of it, then another pass every ~2.2 s while more is
 * free. A pool of just-freed pages as big as the download was therefore
 * taken back in the middle of about one run in three, and that run was slow
 * (0.6-0.8 GiB taken back in every slow run, ~0 in the fast ones: 1 GiB
 * downloads, 20 runs of Shoal and the floor). A pool 2 GiB larger than the
 * download mostly outlasts the passes of one run: 6 clean runs of 6 in one
 * sitting of `bench/ab.ts` (5 of 6 with the smaller pool), about one slow run
 * in ten in later ones. It narrows the noise; medians do the rest.
 *
 * What was left of that noise (session 14, counter sampled every 20 ms after
 * freeing 1.25 or 2.25 GiB): the first pass comes 1.1-2.0 s after the free,
 * hands back ~384 MiB in 100-150 ms, and the next ones follow every 2.1 s
 * while unreported free memory is left. A run started right after the free
 * met that first pass in its second second: most runs of the 256 MiB
 * BitTorrent bench (1-1.8 s long) lost 640-768 MiB of the pool mid-run, and
 * were the slow ones. So the warm-up now also waits for the first pass to
 * end: every run, whatever the tool, then starts with a 2 s gap before the
 * next pass, with most of the pool still warm (the allocator takes reported
 * pages last).
 *
 * @module
 */
import { join } from "node:path";

/** How much more than the download the pool of just-freed pages holds. */
const POOL_HEADROOM = 2 * 1024 ** 3;
/** The longest wait for the kernel's first reporting pass over the pool. */
const PASS_WAIT_MS = 4_000;
/** A pass has ended when the counter has not moved for this long. */
const PASS_QUIET_MS = 200;
const POLL_MS = 10;

const REPORTED_KIB = "/sys/module/page_reporting/parameters/reported_kib";

/**
 * Writes and deletes `downloadBytes` + 2 GiB of scratch data in `dir`, so the
 * pages the next download writes into are ones the guest touched a moment
 * ago, then waits (at most 4 s) for the kernel's first reporting pass over
 * them to end. Call it right before the timed run.
 */
export async function warmFreeMemory(
  dir: string,
  downloadBytes: number,
): Promise<void> {
  const bytes = downloadBytes + POOL_HEADROOM;
  const path = join(dir, ".warm-free-memory");
  const block = new Uint8Array(8 * 1024 * 1024);
  const file = await Deno.open(path, { write: true, create: true });
  try {
    for (let done = 0; done < bytes; done += block.byteLength) {
      const n = Math.min(block.byteLength, bytes - done);
      let written = 0;
      while (written < n) {
        written += file.writeSync(block.subarray(written, n));
      }
    }
  } finally {
    file.close();
    await Deno.remove(path);
  }
  await firstReportingPass();
}

/**
 * Resolves when the reported counter has grown and then stood still for
 * PASS_QUIET_MS, or after PASS_WAIT_MS; at once where it is not counted.
 */
async function firstReportingPass(): Promise<void> {
  const start = readReportedKiB();
  if (start === null) return;
  const began = performance.now();
  let last = start;
  let movedAt = -1;
  while (performance.now() - began < PASS_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = readReportedKiB() ?? last;
    if (now !== last) {
      last = now;
      movedAt = performance.now();
    } else if (movedAt >= 0 && performance.now() - movedAt >= PASS_QUIET_MS) {
      return;
    }
  }
}

function readReportedKiB(): number | null {
  try {
    return Number(Deno.readTextFileSync(REPORTED_KIB).trim());
  } catch {
    return null;
  }
}

/**
 * Counts the bytes of free memory the guest hands back to the host between
 * the call and `stop()`, or null where the kernel does not count them. With
 * the pool from `warmFreeMemory` most of it is the pool itself, not pages a
 * run needed: it is recorded to explain outliers, not to filter them.
 */
export function hostReclaimed(): { stop(): number | null } {
  const before = readReportedKiB();
  return {
    stop() {
      const after = readReportedKiB();
      return before === null || after === null ? null : (after - before) * 1024;
    },
  };
}
