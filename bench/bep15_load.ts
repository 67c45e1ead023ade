// deno-lint-ignore-file no-console
/**
 * BEP 15 load generator, run as its own process, for any UDP tracker (the
 * Shoal tracker, opentracker). It announces PEERS BitTorrent clients over
 * the infohashes in --hashes (one 40-hex-digit line each), from many
 * loopback source addresses (127.78.x.y: every 127.0.0.0/8 address is local
 * on Linux) so no tracker's per-address caps or rate limits bind (the Shoal
 * tracker keeps at most 64 peers per address and 200 datagrams/s per
 * address): a connect per address, then one "started" announce per peer,
 * half of them seeders. Then it keeps CONCURRENCY announces in flight for
 * SECONDS (a random peer announcing again, event none, numwant 50, as
 * clients do at each interval) and reports answers per second, latency
 * quantiles and the target's memory.
 *
 * Usage:
 *   deno run --allow-all bench/bep15_load.ts --target 127.0.0.1:PORT
 *     --hashes FILE [--pid PID] [--peers 100000] [--seconds 10]
 *     [--concurrency 32] [--timeout-ms 1000]
 * Prints one JSON line on stdout.
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { randomFillSync } from "node:crypto";
import {
  BEP15_EVENTS,
  encodeBep15Request,
  fromHex,
  parseBep15Reply,
} from "@shoal/protocol";
import {
  failureCounter,
  LoadSources,
  parseTarget,
  quantile,
  type ReplyReader,
  runPool,
  type SetupReport,
  setupReport,
  sourceCount,
  sourceHost,
  statusKiB,
  type TimedReport,
  timedReport,
  txidCounter,
} from "./_udp_load.ts";

/** Retries of a datagram that got no answer, while registering. */
const MAX_TRIES = 5;
/** Most latency samples kept. */
const MAX_SAMPLES = 4_000_000;

/** What the generator prints. */
export interface Bep15LoadReport {
  peers: number;
  infohashes: number;
  ips: number;
  concurrency: number;
  announce: SetupReport;
  load: TimedReport & {
    errors: number;
    peersPerAnswer: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
  };
  target: {
    pid: number | null;
    rssAfterAnnounceKiB: number | null;
    rssAfterLoadKiB: number | null;
  };
}

/**
 * Keeps only the action, txid and a connection id of a reply: decoding
 * every peer list would make this process's garbage collection show up as
 * the tracker's latency.
 */
const HEAD_ONLY: ReplyReader<Uint8Array> = {
  decode: (data) =>
    data.byteLength < 8 ? null : data.slice(0, Math.min(data.byteLength, 20)),
  txidOf: (reply) =>
    ((reply[4]! << 24) | (reply[5]! << 16) | (reply[6]! << 8) | reply[7]!) >>>
    0,
};

const USAGE =
  `Usage: deno run --allow-all bench/bep15_load.ts --target HOST:PORT --hashes FILE [options]

Announces BitTorrent clients to a UDP tracker over BEP 15, then keeps
announces in flight and prints one JSON line of results.

Options:
  --target HOST:PORT  the tracker (required)
  --hashes FILE       infohashes, 40 hex digits a line (required)
  --pid PID           the tracker's process id, to read its memory
  --peers N           clients to announce (default 100000)
  --seconds N         length of the timed phase (default 10)
  --concurrency N     announces in flight (default 32)
  --timeout-ms N      an announce with no answer this long is lost (default 1000)
  --help              print this help and exit`;

async function main(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    target: { type: "string" },
    hashes: { type: "string" },
    pid: { type: "string" },
    peers: { type: "string", default: "100000" },
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    "timeout-ms": { type: "string", default: "1000" },
  }, USAGE);
  if (!values) return 0;
  const to = parseTarget(values.target);
  if (!to || !values.hashes) {
    console.error(
      "Cannot start load: give --target HOST:PORT and --hashes FILE",
    );
    return 2;
  }
  const infohashes = (await Deno.readTextFile(values.hashes)).split("\n")
    .filter((line) => line.trim()).map((line) => fromHex(line.trim())!);
  if (infohashes.some((hash) => hash?.byteLength !== 20)) {
    console.error(
      `Cannot start load: ${values.hashes} has a line that is not 40 hex digits`,
    );
    return 2;
  }
  const pid = values.pid ? Number(values.pid) : null;
  const peerCount = Number(values.peers);
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const timeoutMs = Number(values["timeout-ms"]);
  const ipCount = sourceCount(peerCount);
  const peerIds = new Uint8Array(peerCount * 20);
  randomFillSync(peerIds);
  const peerPort = (p: number) => 10_000 + Math.floor(p / ipCount);
  const infohashOf = (p: number) => infohashes[p % infohashes.length]!;

  // ---- sockets and replies --------------------------------------------------
  const net = new LoadSources("127.78", ipCount, to, timeoutMs, HEAD_ONLY);
  /** The connection id of each source, once it has one. */
  const connectionIds = new Array<bigint>(ipCount).fill(0n);
  const txid = txidCounter();

  function announceBytes(p: number, event: number, id: number): Uint8Array {
    return encodeBep15Request({
      action: "announce",
      connectionId: connectionIds[p % ipCount]!,
      txid: id,
      infohash: infohashOf(p),
      peerId: peerIds.subarray(p * 20, p * 20 + 20),
      downloaded: 0n,
      left: p % 2 === 0 ? 0n : 1_048_576n,
      uploaded: 0n,
      event: BEP15_EVENTS[event]!,
      ip: 0,
      key: p,
      numWant: 50,
      port: peerPort(p),
      options: new Uint8Array(0),
    });
  }

  const { failures, fail } = failureCounter();
  const action = (reply: Uint8Array) =>
    ((reply[0]! << 24) | (reply[1]! << 16) | (reply[2]! << 8) | reply[3]!) >>>
    0;

  // ---- phase 1: connection ids, then every peer announces "started" ---------
  const start = performance.now();
  await runPool(ipCount, concurrency, async (i) => {
    for (let t = 0; t < MAX_TRIES; t++) {
      const id = txid();
      const reply = await net.send(
        i,
        encodeBep15Request({ action: "connect", txid: id }),
        id,
      );
      if (!reply) continue;
      if (action(reply) !== 0) return fail(`connect: action ${action(reply)}`);
      const view = new DataView(reply.buffer, reply.byteOffset);
      connectionIds[i] = view.getBigUint64(8);
      return true;
    }
    return fail("connect: no answer");
  });
  const announced = await runPool(peerCount, concurrency, async (p) => {
    for (let t = 0; t < MAX_TRIES; t++) {
      const id = txid();
      const reply = await net.send(p % ipCount, announceBytes(p, 2, id), id);
      if (!reply) continue;
      if (action(reply) === 1) return true;
      return fail(`announce: action ${action(reply)}`);
    }
    return fail("announce: no answer");
  });
  const announceSeconds = (performance.now() - start) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssAfterAnnounceKiB = statusKiB(pid, "VmRSS");

  // ---- phase 2: announces again, as fast as the tracker answers -------------
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let answers = 0;
  let errors = 0;
  let peersListed = 0;
  const timeoutsBefore = net.timeouts;
  // Each slot re-announces from its own buffer: every peer's announce is
  // made before the clock starts, then only its txid changes, so the
  // generator spends its time sending, not encoding.
  const templates = new Uint8Array(peerCount * 98);
  for (let p = 0; p < peerCount; p++) {
    templates.set(announceBytes(p, 0, 0), p * 98);
  }
  const loadStart = performance.now();
  const loadEnd = loadStart + seconds * 1000;
  const slot = async () => {
    const bytes = new Uint8Array(98);
    const view = new DataView(bytes.buffer);
    while (performance.now() < loadEnd) {
      const p = Math.floor(Math.random() * peerCount);
      bytes.set(templates.subarray(p * 98, p * 98 + 98));
      const id = txid();
      view.setUint32(12, id);
      const sent = performance.now();
      const reply = await net.send(p % ipCount, bytes, id);
      if (!reply) continue;
      const ms = performance.now() - sent;
      if (action(reply) !== 1) {
        errors++;
        continue;
      }
      answers++;
      if (samples < MAX_SAMPLES) latencies[samples++] = ms;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const rssAfterLoadKiB = statusKiB(pid, "VmRSS");

  // One full reply, decoded, to report how many peers an announce lists.
  const probeId = txid();
  const probeReply = await new Promise<Uint8Array | null>((resolve) => {
    const buffer = new Uint8Array(2048);
    // Peer 0 announcing again, from its address but a fresh socket (the
    // others' receive loops would take its reply): a new client would find
    // a full tracker.
    const check = Deno.listenDatagram({
      transport: "udp",
      hostname: sourceHost("127.78", 0),
      port: 0,
    });
    const timer = setTimeout(() => {
      check.close();
      resolve(null);
    }, 1_000);
    (async () => {
      try {
        const connect = encodeBep15Request({ action: "connect", txid: 1 });
        await check.send(connect, to);
        const [got] = await check.receive(buffer);
        const reply = parseBep15Reply(got);
        if (reply.action !== "connect") throw new Error("no connection id");
        const bytes = encodeBep15Request({
          action: "announce",
          connectionId: reply.connectionId,
          txid: probeId,
          infohash: infohashOf(0),
          peerId: peerIds.subarray(0, 20),
          downloaded: 0n,
          left: 0n,
          uploaded: 0n,
          event: "none",
          ip: 0,
          key: 0,
          numWant: 50,
          port: peerPort(0),
          options: new Uint8Array(0),
        });
        await check.send(bytes, to);
        const [answer] = await check.receive(buffer);
        resolve(answer.slice());
      } catch {
        resolve(null);
      } finally {
        clearTimeout(timer);
        try {
          check.close();
        } catch {
          // Closed by the timer.
        }
      }
    })();
  });
  if (probeReply) {
    const reply = parseBep15Reply(probeReply);
    if (reply.action === "announce") peersListed = reply.peers.length;
  }

  await net.close();

  const sorted = latencies.slice(0, samples).sort();
  const report: Bep15LoadReport = {
    peers: peerCount,
    infohashes: infohashes.length,
    ips: ipCount,
    concurrency,
    announce: setupReport(
      announceSeconds,
      announced.ok,
      announced.ok,
      announced.failed,
      failures,
    ),
    load: {
      ...timedReport(loadSeconds, answers, net.timeouts - timeoutsBefore),
      errors,
      peersPerAnswer: peersListed,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      p999Ms: quantile(sorted, 0.999),
    },
    target: { pid, rssAfterAnnounceKiB, rssAfterLoadKiB },
  };
  console.log(JSON.stringify(report));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
