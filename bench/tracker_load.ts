// deno-lint-ignore-file no-console
/**
 * Tracker load generator, run as its own process. Registers PEERS peers over
 * FILES files with the real protocol (CONNECT for a cookie, then REGISTER),
 * from many loopback source addresses (127.77.x.y: every 127.0.0.0/8
 * address is local on Linux), because the tracker keys peers by source IP
 * and allows at most 64 per IP (tracker/registry/quotas.ts, `maxPeersPerIp`) and
 * rate-limits each IP (tracker/rate_limit.ts: 200/s, bursts of 400). Then it
 * keeps CONCURRENCY requests in flight, alternating REQUEST (a random file
 * by id) and KEEPALIVE (a random registered peer), for SECONDS, and reports
 * answers per second, latency quantiles and the target's memory.
 *
 * Memory per peer is the RSS growth from registering the peers, measured
 * after a warm-up of WARMUP datagrams that leave no state behind (KEEPALIVEs
 * from peers not registered yet, REQUESTs for files nobody holds). Without
 * it the figure also charges the peers with one-time costs: code pages of
 * the runtime paged in, the JIT's code, the young generation growing to its
 * working size. The echo loop, which keeps nothing, scores ~180 bytes per
 * "peer" that way. Both figures are reported.
 *
 * The same load runs against bench/udp_echo.ts (`--mode echo`), which sends
 * every datagram back: the baseline.
 *
 * Usage:
 *   deno run --allow-all bench/tracker_load.ts --target 127.0.0.1:PORT
 *     [--pid PID] [--mode tracker|echo] [--peers 100000] [--files 10000]
 *     [--seconds 10] [--concurrency 32] [--ips N] [--timeout-ms 1000]
 *     [--warmup 100000]
 * Prints one JSON line on stdout. Reading /proc/PID/status needs --allow-all.
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { randomFillSync } from "node:crypto";
import {
  createMessage,
  FILE_ID_BYTES,
  type Message,
  parseHeader,
  parseMessage,
  PEER_ID_BYTES,
} from "@shoal/protocol";
import {
  failureCounter,
  LoadSources,
  parseTarget,
  PEERS_PER_IP,
  quantile,
  runPool,
  type SetupReport,
  setupReport,
  sourceCount,
  statusKiB,
  type TimedReport,
  timedReport,
  txidCounter,
} from "./_udp_load.ts";

/** Most latency samples kept. */
const MAX_SAMPLES = 4_000_000;
/** Retries of a registration datagram that got no answer. */
const MAX_TRIES = 5;

interface Source {
  /** Its index in the LoadSources. */
  index: number;
  cookie: bigint;
  /** Indexes of the peers registered from this address. */
  peers: number[];
}

/**
 * A reply as the generator needs it. PEER_LIST and ACK bodies are not
 * decoded: building peer objects for every answer made the generator's own
 * garbage collection show up as the target's latency.
 */
type Reply =
  | Message
  | { kind: "peer_list" | "ack" | "other"; txid: number };

/** Replies decoded in full: cookies and errors, whose fields are read. */
const DECODED_KINDS = new Set<string>(["cookie", "error"]);

/** What the generator prints. */
export interface LoadReport {
  mode: string;
  peers: number;
  files: number;
  ips: number;
  concurrency: number;
  register: SetupReport;
  load: TimedReport & {
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    replies: Record<string, number>;
  };
  target: {
    pid: number | null;
    /** RSS before any datagram. */
    rssStartKiB: number | null;
    /** RSS after the warm-up, before the first REGISTER. */
    rssBeforeKiB: number | null;
    rssAfterRegisterKiB: number | null;
    rssAfterLoadKiB: number | null;
    peakKiB: number | null;
    /** (RSS after registration - RSS after warm-up) / peers. */
    bytesPerPeer: number | null;
    /** (RSS after registration - RSS at start) / peers: with one-time costs. */
    bytesPerPeerFromStart: number | null;
  };
}

const USAGE =
  `Usage: deno run --allow-all bench/tracker_load.ts --target HOST:PORT [options]

Registers peers on a Shoal tracker (or sends the same datagrams to an echo
loop), then keeps requests in flight and prints one JSON line of results.

Options:
  --target HOST:PORT    the tracker or echo loop (required)
  --pid PID             its process id, to read its memory from /proc
  --mode MODE           tracker or echo (default tracker)
  --peers N             peers to register (default 100000)
  --files N             files they hold, spread evenly (default 10000)
  --seconds N           length of the request phase (default 10)
  --concurrency N       requests in flight (default 32)
  --ips N               source addresses 127.77.x.y (default: enough for 64
                        peers each, at least 1024)
  --timeout-ms N        a request with no answer this long is lost (default 1000)
  --warmup N            stateless datagrams sent before registering, so the
                        memory per peer leaves out one-time costs (default 100000)
  --help                print this help and exit`;

async function main(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    target: { type: "string" },
    pid: { type: "string" },
    mode: { type: "string", default: "tracker" },
    peers: { type: "string", default: "100000" },
    files: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    ips: { type: "string" },
    "timeout-ms": { type: "string", default: "1000" },
    warmup: { type: "string", default: "100000" },
  }, USAGE);
  if (!values) return 0;
  const to = parseTarget(values.target);
  if (!to) {
    console.error("Cannot start load: give --target HOST:PORT");
    return 2;
  }
  const pid = values.pid ? Number(values.pid) : null;
  const echo = values.mode === "echo";
  const peerCount = Number(values.peers);
  const fileCount = Number(values.files);
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const timeoutMs = Number(values["timeout-ms"]);
  const warmupCount = Number(values.warmup);
  const ipCount = values.ips ? Number(values.ips) : sourceCount(peerCount);
  if (Math.ceil(peerCount / ipCount) > PEERS_PER_IP) {
    console.error(
      `Cannot start load: ${peerCount} peers need at least ${
        Math.ceil(peerCount / PEERS_PER_IP)
      } source addresses`,
    );
    return 2;
  }

  // ---- data: file ids, peer ids ------------------------------------------
  const fileIds = new Uint8Array(fileCount * FILE_ID_BYTES);
  randomFillSync(fileIds);
  const fileId = (f: number) =>
    fileIds.subarray(f * FILE_ID_BYTES, (f + 1) * FILE_ID_BYTES);
  const peerIds = new Uint8Array(peerCount * PEER_ID_BYTES);
  randomFillSync(peerIds);
  const peerId = (p: number) =>
    peerIds.subarray(p * PEER_ID_BYTES, (p + 1) * PEER_ID_BYTES);
  const peerPort = (p: number) => 10_000 + Math.floor(p / ipCount);

  const rssStartKiB = statusKiB(pid, "VmRSS");

  // ---- sockets ------------------------------------------------------------
  const replyKinds: Record<string, number> = {};
  const net = new LoadSources<Reply>("127.77", ipCount, to, timeoutMs, {
    decode: (data) => {
      try {
        const header = parseHeader(data);
        if (DECODED_KINDS.has(header.kind)) return parseMessage(data);
        return {
          kind: header.kind === "peer_list" || header.kind === "ack"
            ? header.kind
            : "other",
          txid: header.txid,
        };
      } catch {
        replyKinds["malformed"] = (replyKinds["malformed"] ?? 0) + 1;
        return null;
      }
    },
    txidOf: (reply) => reply.txid,
  });
  const sources: Source[] = Array.from(
    { length: ipCount },
    (_, index) => ({ index, cookie: 0n, peers: [] }),
  );
  for (let p = 0; p < peerCount; p++) sources[p % ipCount]!.peers.push(p);

  const send = (source: Source, message: Message): Promise<Reply | null> =>
    net.send(source.index, createMessage(message), message.txid);

  const txid = txidCounter();

  const { failures, fail } = failureCounter();

  // ---- phase 1: cookies and registrations ----------------------------------
  const registerStart = performance.now();
  const connects = await runPool(ipCount, concurrency, async (i) => {
    const source = sources[i]!;
    for (let t = 0; t < MAX_TRIES; t++) {
      const reply = await send(source, { kind: "connect", txid: txid() });
      if (!reply) continue;
      if (reply.kind === "cookie") source.cookie = reply.cookie;
      else if (!echo) return fail(`connect: ${reply.kind}`);
      return true;
    }
    return fail("connect: no answer");
  });
  const connectSeconds = (performance.now() - registerStart) / 1000;

  // ---- warm-up: traffic that leaves no state in the target ------------------
  // Peer ids and file ids no registration uses: the tracker answers
  // UNKNOWN_PEER and an empty or unknown-file reply, and stores nothing.
  const strangerIds = new Uint8Array(1024 * FILE_ID_BYTES);
  randomFillSync(strangerIds);
  const stranger = (i: number, bytes: number) =>
    strangerIds.subarray((i % 1024) * bytes, (i % 1024 + 1) * bytes);
  await runPool(warmupCount, concurrency, async (i) => {
    const source = sources[i % ipCount]!;
    await send(
      source,
      i % 2 === 0
        ? {
          kind: "keepalive",
          txid: txid(),
          cookie: source.cookie,
          peerId: stranger(i, PEER_ID_BYTES),
          port: 9,
        }
        : {
          kind: "request",
          txid: txid(),
          cookie: source.cookie,
          wanted: 50,
          query: { id: stranger(i, FILE_ID_BYTES) },
        },
    );
    return true;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssBeforeKiB = statusKiB(pid, "VmRSS");

  const registersStart = performance.now();
  const registers = await runPool(peerCount, concurrency, async (p) => {
    const source = sources[p % ipCount]!;
    const f = p % fileCount;
    for (let t = 0; t < MAX_TRIES; t++) {
      const reply = await send(source, {
        kind: "register",
        txid: txid(),
        cookie: source.cookie,
        peerId: peerId(p),
        port: peerPort(p),
        files: [{
          id: fileId(f),
          name: `load-${f}.bin`,
          size: 1_048_576,
          chunkCount: 2,
          complete: p % 2 === 0,
        }],
      });
      if (!reply) continue;
      if (reply.kind === "ack" || echo) return true;
      return fail(
        `register: ${reply.kind}${
          reply.kind === "error" ? ` ${reply.code} ${reply.text}` : ""
        }`,
      );
    }
    return fail("register: no answer");
  });
  const registerSeconds = connectSeconds +
    (performance.now() - registersStart) / 1000;
  // Let the target settle (and collect garbage) before reading its memory.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssAfterRegisterKiB = statusKiB(pid, "VmRSS");

  // ---- phase 2: REQUEST and KEEPALIVE as fast as the target answers ---------
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let answers = 0;
  let rr = 0;
  const timeoutsBefore = net.timeouts;
  const loadStart = performance.now();
  const loadEnd = loadStart + seconds * 1000;
  const slot = async (s: number) => {
    let n = s;
    while (performance.now() < loadEnd) {
      const source = sources[rr++ % ipCount]!;
      n++;
      let message: Message;
      if (n % 2 === 0) {
        message = {
          kind: "request",
          txid: txid(),
          cookie: source.cookie,
          wanted: 50,
          query: { id: fileId(Math.floor(Math.random() * fileCount)) },
        };
      } else {
        const p = source
          .peers[Math.floor(Math.random() * source.peers.length)]!;
        message = {
          kind: "keepalive",
          txid: txid(),
          cookie: source.cookie,
          peerId: peerId(p),
          port: peerPort(p),
        };
      }
      const sent = performance.now();
      const reply = await send(source, message);
      if (!reply) continue;
      const ms = performance.now() - sent;
      answers++;
      if (samples < MAX_SAMPLES) latencies[samples++] = ms;
      const label = reply.kind === "error" ? `error ${reply.code}` : reply.kind;
      replyKinds[label] = (replyKinds[label] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, s) => slot(s)));
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const rssAfterLoadKiB = statusKiB(pid, "VmRSS");
  const peakKiB = statusKiB(pid, "VmHWM");

  await net.close();

  const lat = latencies.slice(0, samples).sort();
  const report: LoadReport = {
    mode: echo ? "echo" : "tracker",
    peers: peerCount,
    files: fileCount,
    ips: ipCount,
    concurrency,
    register: setupReport(
      registerSeconds,
      connects.ok + registers.ok,
      registers.ok,
      registers.failed + connects.failed,
      failures,
    ),
    load: {
      ...timedReport(loadSeconds, answers, net.timeouts - timeoutsBefore),
      p50Ms: quantile(lat, 0.5),
      p90Ms: quantile(lat, 0.9),
      p99Ms: quantile(lat, 0.99),
      p999Ms: quantile(lat, 0.999),
      maxMs: quantile(lat, 1),
      replies: replyKinds,
    },
    target: {
      pid,
      rssStartKiB,
      rssBeforeKiB,
      rssAfterRegisterKiB,
      rssAfterLoadKiB,
      peakKiB,
      bytesPerPeer: rssBeforeKiB !== null && rssAfterRegisterKiB !== null
        ? Math.round((rssAfterRegisterKiB - rssBeforeKiB) * 1024 / peerCount)
        : null,
      bytesPerPeerFromStart: rssStartKiB !== null &&
          rssAfterRegisterKiB !== null
        ? Math.round((rssAfterRegisterKiB - rssStartKiB) * 1024 / peerCount)
        : null,
    },
  };
  console.log(JSON.stringify(report));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
