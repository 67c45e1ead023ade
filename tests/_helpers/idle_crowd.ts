/**
 * A crowd of idle peers for a real leecher to meet, Shoal or BitTorrent
 * (attack_leecher_idle.test.ts, attack_leecher_bt_idle.test.ts): fakes that
 * say little or nothing, and listening sockets nobody accepts from (the
 * kernel completes the TCP handshake, and then nothing ever answers, in
 * either protocol). Each stands on its own loopback address, as if it were
 * its own host, and is listed on the tracker.
 *
 * @module
 */
import type { FakeListener } from "./fake_listener.ts";
import { type BuiltFile, listingOf, listOnTracker } from "./fake_seeder.ts";

/** Who is in the crowd. */
export interface Crowd<F extends FakeListener> {
  /** The third byte of the first address (127.0.`subnet`.1 and up). */
  subnet: number;
  /** Starters of the idle fakes, each on the address given (and listed). */
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
