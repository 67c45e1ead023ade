/**
 * What the attacks on the real tracker process share, whether they speak
 * Shoal's tracker protocol (attack_tracker.test.ts) or BitTorrent's BEP 15
 * (attack_tracker_bep15.test.ts): a process that must exit cleanly after
 * the attack, datagrams sprayed from several loopback addresses, and a
 * flood of CONNECTs that the rate limit must cut down while another client
 * is still served; and a Shoal client's questions, asked again when UDP
 * loses them (attack_tracker_tables.test.ts too).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMessage, type Message, parseMessage } from "@shoal/protocol";
import {
  sleep,
  startTrackerProcess,
  type TrackerProcess,
  UdpProbe,
} from "./attack.ts";

/**
 * Sends a Shoal tracker message from `probe` and waits for its answer,
 * sending it up to 5 times (UDP may lose a datagram); fails the test when
 * none comes.
 */
export async function askTracker(
  probe: UdpProbe,
  message: Message,
): Promise<Message> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await probe.send(createMessage(message));
    const reply = await probe.next(1_000);
    if (reply) return parseMessage(reply.bytes);
  }
  throw new Error(`No answer to ${message.kind} from ${probe.addr.hostname}`);
}

/** A cookie for the probe's address: CONNECT, answered with a COOKIE. */
export async function cookieFor(probe: UdpProbe): Promise<bigint> {
  const reply = await askTracker(probe, { kind: "connect", txid: 1 });
  assert.equal(reply.kind, "cookie");
  return (reply as { cookie: bigint }).cookie;
}

/**
 * Starts the tracker process (`args` as for `startTrackerProcess`), runs
 * the attack on it, and asserts it then stops with exit code 0 (it
 * survived).
 */
export async function withTrackerProcess(
  args: string[],
  attack: (tracker: TrackerProcess) => Promise<void>,
): Promise<void> {
  const tracker = await startTrackerProcess(args);
  try {
    await attack(tracker);
  } finally {
    assert.equal(await tracker.stop(), 0);
  }
}

/** A datagram a probe received during {@linkcode sprayFromProbes}. */
export interface Answer {
  /** Which probe (its index in `addresses`). */
  probe: number;
  /** The bytes. */
  bytes: Uint8Array;
}

/**
 * Sends up to `count` datagrams to the tracker, spread over one probe per
 * address so the rate limit does not hide the parser from most of them,
 * then collects every answer for half a second.
 *
 * @param tracker where to send
 * @param addresses the loopback addresses to send from
 * @param count how many datagrams to make
 * @param datagram the `i`th datagram, or null to skip it
 * @returns how many went out without a send error, and the answers
 */
export async function sprayFromProbes(
  tracker: { host: string; port: number },
  addresses: string[],
  count: number,
  datagram: (i: number) => Uint8Array | null,
): Promise<{ sent: number; answers: Answer[] }> {
  const probes = addresses.map((address) => new UdpProbe(address, tracker));
  let sent = 0;
  const answers: Answer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const bytes = datagram(i);
      if (!bytes) continue;
      const error = await probes[i % probes.length]!.send(bytes);
      if (!error) sent++;
      if (i % 200 === 0) await sleep(5);
    }
    await sleep(500);
    probes.forEach((probe, k) =>
      answers.push(...probe.take().map((r) => ({ probe: k, bytes: r.bytes })))
    );
  } finally {
    await Promise.all(probes.map((probe) => probe.close()));
  }
  return { sent, answers };
}

/**
 * Floods the tracker with 3,000 copies of `connect` from `from`, has
 * `honest` served while the flood is fresh, and asserts the flooder got no
 * more answers than the default limit allows (a burst of 400, then 200 a
 * second) and no fewer than 100 (the limit is not too strict).
 *
 * @param tracker the tracker process
 * @param from the flooder's loopback address
 * @param connect the CONNECT datagram it floods with
 * @param honest another client's round, on another address
 * @param afterwards more checks on the flooder (still open)
 */
export async function connectFlood(
  tracker: { host: string; port: number },
  from: string,
  connect: Uint8Array,
  honest: () => Promise<void>,
  afterwards?: (flooder: UdpProbe) => Promise<void>,
): Promise<void> {
  await using flooder = new UdpProbe(from, tracker);
  const FLOOD = 3_000;
  const start = performance.now();
  for (let i = 0; i < FLOOD; i++) {
    await flooder.send(connect);
    // Yield now and then so the kernel buffers do not just drop the flood.
    if (i % 100 === 99) await sleep(1);
  }
  const seconds = (performance.now() - start) / 1000;
  // While the flood is fresh, another host is served at once.
  await honest();
  const answered = (await flooder.drain(300)).length;
  const allowed = 400 + 200 * (seconds + 0.5);
  assert.ok(
    answered <= allowed,
    `${answered} of ${FLOOD} CONNECTs in ${
      seconds.toFixed(2)
    } s were answered; the limit allows about ${Math.round(allowed)}`,
  );
  assert.ok(answered >= 100, `only ${answered} answers: limit too strict`);
  await afterwards?.(flooder);
}
