/**
 * A crowd of idle or hostile peers for a real leecher to meet, Shoal or
 * BitTorrent (attack_leecher_idle.test.ts, attack_leecher_bt_idle.test.ts,
 * attack_bt_fuzz.test.ts): fakes that say little, nothing or nonsense, and
 * listening sockets nobody accepts from (the
 * kernel completes the TCP handshake, and then nothing ever answers, in
 * either protocol). Each stands on its own loopback address, as if it were
 * its own host, and is listed on the tracker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import type { FakeListener } from "./fake_listener.ts";
import {
  type BuiltFile,
  listingOf,
  listOnTracker,
  manifestOf,
} from "./fake_seeder.ts";
import { assertFileHash, spawnLeecher, tempDir } from "./peers.ts";
import { type RunningTracker, startTracker } from "./tracker.ts";

/** Who is in the crowd. */
export interface Crowd<F extends FakeListener> {
  /** The third byte of the first address (127.0.`subnet`.1 and up). */
  subnet: number;
  /** Starters of the fakes, each on the address given (and listed). */
  fakes?: ((host: string) => F)[];
  /** How many silent listeners, after the fakes. @default {0} */
  listeners?: number;
}

/**
 * Starts the crowd, runs `body` with its fakes (in the order of their
 * starters), then closes every one.
 *
 * @param tracker the in-process tracker to list the listeners on
 * @param built the file they claim to have
 * @param crowd who is in it
 * @param body the test, while the crowd stands
 */
export async function withIdleCrowd<F extends FakeListener>(
  tracker: Parameters<typeof listOnTracker>[0],
  built: BuiltFile,
  crowd: Crowd<F>,
  body: (fakes: F[]) => Promise<void>,
): Promise<void> {
  const hostOf = (i: number) =>
    `127.0.${crowd.subnet + (i >> 8)}.${(i & 0xff) + 1}`;
  const fakes: F[] = [];
  const listeners: Deno.Listener[] = [];
  try {
    for (const start of crowd.fakes ?? []) {
      fakes.push(start(hostOf(fakes.length)));
    }
    for (let k = 0; k < (crowd.listeners ?? 0); k++) {
      const host = hostOf(fakes.length + k);
      const listener = Deno.listen({ hostname: host, port: 0 });
      listeners.push(listener);
      const { port } = listener.addr as Deno.NetAddr;
      listOnTracker(tracker, port, listingOf(built), host);
    }
    await body(fakes);
  } finally {
    for (const listener of listeners) listener.close();
    await Promise.all(fakes.map((fake) => fake.close()));
  }
}

/** One leecher run among a crowd of fakes, for {@linkcode leechAmongFakes}. */
export interface IdleLeech<F extends FakeListener, P extends FakeListener> {
  /** The file's name. */
  name: string;
  /** Its bytes. */
  data: Uint8Array;
  /** The crowd (none when absent). */
  crowd?(tracker: RunningTracker, data: Uint8Array, built: BuiltFile): Crowd<F>;
  /** One more peer, on 127.0.0.1 and listed (an honest seeder, or one that stops). */
  peer?(tracker: RunningTracker, data: Uint8Array, built: BuiltFile): P;
  /** What the leecher is given: a path it writes in `dir` (a .torrent); the id in hex when absent. */
  query?(dir: string, built: BuiltFile): Promise<string>;
  /** The leecher's `--give-up-after` seconds. */
  giveUpAfterSeconds: number;
  /** How long it may take to exit. */
  timeoutMs: number;
  /** The exit code due: 0 (then the file is checked) or 5 (gave up). */
  code: 0 | 5;
  /** What its error output must name (when it gives up). */
  stderr?: RegExp;
  /** More checks, on the fakes and the leecher's exit and outputs. */
  check?(
    fakes: F[],
    peer: P | undefined,
    result: { code: number; stdout: string; stderr: string },
  ): void;
}

/**
 * Runs a real leecher for a file only fakes have: the crowd and one more
 * peer. It must exit with `code`; with 0 the file is checked whole.
 */
export async function leechAmongFakes<
  F extends FakeListener,
  P extends FakeListener,
>(run: IdleLeech<F, P>): Promise<void> {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const built = manifestOf(run.data, run.name);
  const crowd = run.crowd?.(tracker, run.data, built) ?? { subnet: 0 };
  await withIdleCrowd(tracker, built, crowd, async (fakes) => {
    await using peer = run.peer?.(tracker, run.data, built);
    const query = await run.query?.(dir.path, built) ?? toHex(built.id);
    const out = join(dir.path, "out");
    const result = await spawnLeecher(
      tracker,
      query,
      out,
      run.giveUpAfterSeconds,
    ).done(run.timeoutMs);
    assert.equal(result.code, run.code, `${result.stdout}\n${result.stderr}`);
    if (run.code === 0) await assertFileHash(join(out, run.name), built.sha256);
    if (run.stderr) assert.match(result.stderr, run.stderr);
    run.check?.(fakes, peer, result);
  });
}
