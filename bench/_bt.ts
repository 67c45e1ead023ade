/**
 * BitTorrent helpers for the comparison runs: the info-hash of a .torrent
 * (SHA-1 of its bencoded "info" value) and a BEP 15 UDP scrape, used to wait
 * until every seeder has announced to opentracker.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { type BenchProcess, spawnProcess, waitForCount } from "./_proc.ts";
import { loopbackUdp } from "./_udp.ts";

/** Index just past the bencoded value that starts at `i`. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === 0x69) { // i...e
    const end = b.indexOf(0x65, i);
    if (end < 0) throw new SyntaxError("Cannot parse torrent: open integer");
    return end + 1;
  }
  if (c === 0x6c || c === 0x64) { // l...e, d...e
    let j = i + 1;
    let guard = 0;
    while (b[j] !== 0x65) {
      if (j >= b.length || ++guard > 1_000_000) {
        throw new SyntaxError("Cannot parse torrent: open list or dictionary");
      }
      j = skipValue(b, j);
    }
    return j + 1;
  }
  // <length>:<bytes>
  const colon = b.indexOf(0x3a, i);
  if (colon < 0) throw new SyntaxError("Cannot parse torrent: bad string");
  const len = Number(new TextDecoder().decode(b.subarray(i, colon)));
  if (!Number.isInteger(len)) {
    throw new SyntaxError(`Cannot parse torrent: bad string length at ${i}`);
  }
  return colon + 1 + len;
}

/**
 * The info-hash (hex) of a single-file .torrent.
 *
 * @param torrent the .torrent bytes
 * @returns 40 hex digits
 */
export function infoHashOf(torrent: Uint8Array): string {
  if (torrent[0] !== 0x64) {
    throw new SyntaxError("Cannot parse torrent: not a dictionary");
  }
  let i = 1;
  const decoder = new TextDecoder();
  while (i < torrent.length && torrent[i] !== 0x65) {
    const keyEnd = skipValue(torrent, i);
    const colon = torrent.indexOf(0x3a, i);
    const key = decoder.decode(torrent.subarray(colon + 1, keyEnd));
    const valueEnd = skipValue(torrent, keyEnd);
    if (key === "info") {
      return createHash("sha1").update(torrent.subarray(keyEnd, valueEnd))
        .digest("hex");
    }
    i = valueEnd;
  }
  throw new SyntaxError("Cannot parse torrent: no info dictionary");
}

async function exchange(
  socket: Deno.DatagramConn,
  to: Deno.NetAddr,
  request: Uint8Array,
  txid: number,
  timeoutMs: number,
): Promise<DataView | null> {
  await socket.send(request, to);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const got = await Promise.race([
      socket.receive(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    if (!got) return null;
    const view = new DataView(
      got[0].buffer,
      got[0].byteOffset,
      got[0].byteLength,
    );
    if (view.byteLength < 8 || view.getUint32(4) !== txid) return null;
    return view;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Seeders opentracker lists for an info-hash (BEP 15 connect + scrape).
 *
 * @returns the seeder count, or null when the tracker did not answer
 */
export async function scrapeSeeders(
  port: number,
  infoHashHex: string,
): Promise<number | null> {
  const { socket, to } = loopbackUdp(port);
  try {
    const tx1 = randomBytes(4).readUInt32BE(0);
    const connect = new Uint8Array(16);
    const cv = new DataView(connect.buffer);
    cv.setBigUint64(0, 0x41727101980n);
    cv.setUint32(8, 0);
    cv.setUint32(12, tx1);
    const reply = await exchange(socket, to, connect, tx1, 500);
    if (!reply || reply.byteLength < 16 || reply.getUint32(0) !== 0) {
      return null;
    }
    const connectionId = reply.getBigUint64(8);
    const tx2 = (tx1 + 1) >>> 0;
    const scrape = new Uint8Array(36);
    const sv = new DataView(scrape.buffer);
    sv.setBigUint64(0, connectionId);
    sv.setUint32(8, 2);
    sv.setUint32(12, tx2);
    for (let k = 0; k < 20; k++) {
      scrape[16 + k] = parseInt(infoHashHex.slice(2 * k, 2 * k + 2), 16);
    }
    const answer = await exchange(socket, to, scrape, tx2, 500);
    if (!answer || answer.byteLength < 20 || answer.getUint32(0) !== 2) {
      return null;
    }
    return answer.getUint32(8);
  } finally {
    socket.close();
  }
}

/** Waits until opentracker lists at least `count` seeders; throws on timeout. */
export async function waitSeeders(
  port: number,
  infoHashHex: string,
  count: number,
  timeoutMs: number,
): Promise<void> {
  await waitForCount(
    () => scrapeSeeders(port, infoHashHex),
    count,
    timeoutMs,
    (last) =>
      `opentracker lists ${last} of ${count} seeders after ${timeoutMs} ms`,
  );
}

/** Options for {@linkcode spawnOpentracker}. */
export interface OpentrackerOptions {
  /** Its UDP and TCP port, on 127.0.0.1. */
  port: number;
  /** Its folder, holding the whitelist. */
  dir: string;
  /** The whitelist's file name in `dir`: infohashes it tracks, hex, one a line. */
  whitelist: string;
  /** The process's name, for messages. */
  name: string;
  /** Where its output goes. */
  logPath: string;
  /** Resolves once it answers (rejects when it does not). */
  ready: () => Promise<unknown>;
}

/**
 * Starts opentracker on loopback and waits until it answers.
 *
 * @returns the process
 * @throws {Error} with its output, when it does not answer
 */
export async function spawnOpentracker(
  options: OpentrackerOptions,
): Promise<BenchProcess> {
  const args = [
    "-i",
    "127.0.0.1",
    "-p",
    String(options.port),
    "-P",
    String(options.port),
    "-d",
    options.dir,
    "-w",
    options.whitelist,
  ];
  // It refuses to run as root; it drops to this user (README in
  // ../shared/bench-peers).
  if (Deno.uid() === 0) args.push("-u", "_opentracker");
  const proc = spawnProcess(options.name, "opentracker", {
    args,
    logPath: options.logPath,
  });
  try {
    await options.ready();
  } catch (error) {
    await proc.stop();
    throw new Error(`opentracker did not answer:\n${proc.tail()}`, {
      cause: error,
    });
  }
  return proc;
}
