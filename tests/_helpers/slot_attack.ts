/**
 * The two attacks on a real seeder's connection table that Shoal and
 * BitTorrent connections both make (attack_seeder_slots.test.ts and
 * attack_seeder_slots_bt.test.ts), each one body with the wire's part
 * passed in: idle connections that hold upload slots, and more connections
 * from one address than its cap.
 *
 * The attackers connect from other loopback addresses (raw_client.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_CONNECTIONS_PER_ADDRESS } from "../../peer/wire/server.ts";
import { assertSameFile, spawnLeecher, tempDir } from "./peers.ts";
import type { RawClient } from "./raw_client.ts";
import { seedNewFile } from "./seed_new_file.ts";
import { waitUntil } from "./attack.ts";
import { startTracker } from "./tracker.ts";

const CHUNK = 512 * 1024;

/** How a raw client of one wire connects and shakes hands. */
export interface AttackWire<F> {
  /** Connects from `localAddress` to the seeder's port on 127.0.0.1. */
  connect(localAddress: string, port: number): Promise<RawClient<F>>;
  /** The handshake of attacker `i` for `fileId`. */
  handshake(fileId: Uint8Array, i: number): Uint8Array;
  /** Whether a frame is the seeder's answer to a handshake. */
  welcome(frame: F): boolean;
}

/** The wire's part of {@linkcode idleSlotAttack}. */
export interface IdleSlotAttack<F> {
  /** The wire the attackers speak. */
  wire: AttackWire<F>;
  /** The seed of the file's bytes. */
  seed: number;
  /** How many attackers (from 4 addresses, under the per-address cap). */
  count: number;
  /** What each sends after its handshake (INTERESTED). */
  interested: Uint8Array;
  /** Whether a frame shows the seeder took the attacker in (its bitfield). */
  answered(frame: F): boolean;
  /** Called every 300 ms for each open attacker `i` (one that keeps talking). */
  tick?(client: RawClient<F>, i: number): void;
  /** How long the attack runs before the honest leecher comes. @default {0} */
  settleMs?: number;
  /** The leecher's `--give-up-after` seconds (null: the default). */
  giveUpAfterSeconds: number | null;
  /** How long the leecher may take. */
  leechTimeoutMs: number;
  /** The wire's checks on the attackers once the leecher is done (they are still open). */
  check(clients: RawClient<F>[]): void | Promise<void>;
}

/**
 * Opens `count` attackers on a real seeder of a 32-chunk file, each with a
 * handshake and INTERESTED, then (but for `tick`) nothing; an honest
 * leecher must still download the whole file, and no attacker is refused.
 */
export async function idleSlotAttack<F>(attack: IdleSlotAttack<F>) {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const { source, built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "big.bin",
    32 * CHUNK,
    attack.seed,
    ["--host", "127.0.0.1"],
  );
  const idle: RawClient<F>[] = [];
  const timer = setInterval(() => {
    idle.forEach((client, i) => client.closed || attack.tick?.(client, i));
  }, 300);
  try {
    for (let i = 0; i < attack.count; i++) {
      const address = `127.0.0.${2 + (i % 4)}`;
      const client = await attack.wire.connect(address, seeder.port);
      client.send(attack.wire.handshake(fileId, i));
      client.send(attack.interested);
      idle.push(client);
    }
    await waitUntil(
      "every idle connection to be answered",
      () => idle.every((c) => c.frames.some(attack.answered)) || null,
      10_000,
    );
    assert.ok(idle.every((c) => !c.closed), "an idle connection was refused");
    await new Promise((resolve) => setTimeout(resolve, attack.settleMs ?? 0));
    const out = join(dir.path, "leech");
    const leecher = spawnLeecher(
      tracker,
      "big.bin",
      out,
      attack.giveUpAfterSeconds,
    );
    const result = await leecher.done(attack.leechTimeoutMs);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    await assertSameFile(join(out, "big.bin"), source);
    await attack.check(idle);
    assert.ok(idle.every((c) => !c.closed), "an idle connection was closed");
  } finally {
    clearInterval(timer);
    for (const client of idle) client.close();
    await seeder.stop();
  }
}

/** The wire's part of {@linkcode perAddressCapAttack}. */
export interface CapAttack<F> {
  /** The wire the clients speak. */
  wire: AttackWire<F>;
  /** The seed of the file's bytes. */
  seed: number;
  /** The address that fills its cap, and another that must still get in. */
  addresses: [capped: string, other: string];
  /**
   * Opens and greets connection `i` under the cap from `localAddress` (a
   * handshake unless told); returns it and whether the seeder's welcome is
   * awaited on it.
   */
  openUnder?(
    localAddress: string,
    port: number,
    fileId: Uint8Array,
    i: number,
  ): Promise<{ client: RawClient<F>; welcomed: boolean }>;
  /** Whether the connection over the cap sends a handshake. */
  overGreets: boolean;
  /** Checks how the seeder refused the connection over the cap. */
  assertRefused(over: RawClient<F>): void;
  /** The number of the other address's handshake. */
  otherId: number;
}

/**
 * Fills one address's connection cap on a real seeder, opens one more from
 * it (closed by the seeder, as `assertRefused` checks) and one from another
 * address (welcomed); the ones under the cap stay open.
 */
export async function perAddressCapAttack<F>(attack: CapAttack<F>) {
  const { wire, addresses: [capped, otherAddress] } = attack;
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const { built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "small.bin",
    4 * CHUNK,
    attack.seed,
    ["--host", "127.0.0.1"],
  );
  const openUnder = attack.openUnder ?? (async (address, port, fileId, i) => {
    const client = await wire.connect(address, port);
    client.send(wire.handshake(fileId, i));
    return { client, welcomed: true };
  });
  const clients: RawClient<F>[] = [];
  try {
    const awaited: RawClient<F>[] = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_ADDRESS; i++) {
      const { client, welcomed } = await openUnder(
        capped,
        seeder.port,
        fileId,
        i,
      );
      clients.push(client);
      if (welcomed) awaited.push(client);
    }
    await waitUntil(
      "the connections under the cap to be answered",
      () => awaited.every((c) => c.frames.some(wire.welcome)) || null,
      10_000,
    );
    const over = await wire.connect(capped, seeder.port);
    if (attack.overGreets) over.send(wire.handshake(fileId, 99));
    await waitUntil(
      "the seeder to close the connection over the cap",
      () => over.closed || null,
      10_000,
    );
    attack.assertRefused(over);
    // The ones under the cap are untouched, and another address still gets in.
    assert.ok(clients.every((c) => !c.closed));
    const other = await wire.connect(otherAddress, seeder.port);
    clients.push(other);
    other.send(wire.handshake(fileId, attack.otherId));
    await waitUntil(
      "another address to be answered",
      () => other.frames.some(wire.welcome) || null,
      10_000,
    );
  } finally {
    for (const client of clients) client.close();
    await seeder.stop();
  }
}
