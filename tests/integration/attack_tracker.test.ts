/**
 * Attacks on the real tracker process (`tracker/main.ts` with network
 * permission only, as `deno task tracker` runs it): garbage datagrams,
 * commands without a valid cookie, a flood from one address and a storm of
 * registrations. After each attack a legitimate client on another loopback
 * address must still be served, and the process must stay alive with
 * bounded memory. Loopback only; every loop is bounded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as p from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import {
  askTracker,
  connectFlood,
  cookieFor,
  sprayFromProbes,
  withTrackerProcess,
} from "../_helpers/tracker_attack.ts";
import {
  datagramArb,
  headerWithRandomBody,
  mutate,
  randomInput,
  Rng,
} from "../../bench/_protocol_inputs.ts";

const LEGIT_HOST = "127.0.0.1";
const FILE_ID = new Uint8Array(32).fill(7);
const PEER_ID = new Uint8Array(16).fill(9);

/** CONNECT, then REGISTER a file and REQUEST it: a legitimate client's round. */
async function legitimateRound(
  tracker: h.TrackerProcess,
  from = LEGIT_HOST,
  port = 40_001,
): Promise<void> {
  await using probe = new h.UdpProbe(from, tracker);
  const cookie = await cookieFor(probe);
  const ack = await askTracker(probe, {
    kind: "register",
    txid: 2,
    cookie,
    peerId: PEER_ID,
    port,
    files: [{
      id: FILE_ID,
      name: "legit.bin",
      size: 1000,
      chunkCount: 1,
      complete: true,
    }],
  });
  assert.equal(ack.kind, "ack", JSON.stringify(ack));
  const list = await askTracker(probe, {
    kind: "request",
    txid: 3,
    cookie,
    wanted: 10,
    query: { id: FILE_ID },
  });
  assert.equal(list.kind, "peer_list");
}

/** Every way a datagram can be wrong, from a seeded generator. */
function garbage(rng: Rng, valid: Uint8Array[]): Uint8Array {
  const base = rng.pick(valid);
  switch (rng.int(9)) {
    case 0:
      return randomInput(rng, 1600);
    case 1: // truncated
      return base.subarray(0, rng.int(base.byteLength));
    case 2: { // wrong magic
      const bytes = base.slice();
      bytes[0] = bytes[0]! ^ 0xff;
      return bytes;
    }
    case 3: { // wrong version
      const bytes = base.slice();
      bytes[2] = 2 + rng.int(254);
      return bytes;
    }
    case 4: { // unknown type or code
      const bytes = base.slice();
      bytes[3] = rng.chance(0.5) ? 0 : 4 + rng.int(252);
      bytes[4] = 12 + rng.int(244);
      return bytes;
    }
    case 5: { // oversized: more than a datagram may carry
      const bytes = new Uint8Array(p.MAX_DATAGRAM_BYTES + 1 + rng.int(8_000));
      bytes.set(base);
      return bytes;
    }
    case 6: { // body length lies (claims far more than sent)
      const bytes = base.slice();
      new DataView(bytes.buffer).setUint32(10, 0xffff_fff0);
      return bytes;
    }
    case 7:
      return headerWithRandomBody(rng, 1500);
    default:
      return mutate(rng, base);
  }
}

Deno.test("the tracker process drops garbage datagrams silently and still serves a client", async () => {
  await withTrackerProcess([], async (tracker) => {
    const valid = fc.sample(datagramArb, { seed: 4, numRuns: 300 });
    const rng = new Rng(4);
    let oversized = 0;
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${10 + i}`);
    const { sent, answers } = await sprayFromProbes(
      tracker,
      addresses,
      4_000,
      () => {
        const bytes = garbage(rng, valid);
        // A few garbage inputs are valid messages by chance; only count
        // the ones that really are malformed.
        try {
          p.parseMessage(bytes);
          return null;
        } catch {
          // Malformed, as intended.
        }
        if (bytes.byteLength > p.MAX_DATAGRAM_BYTES) oversized++;
        return bytes;
      },
    );
    assert.ok(sent > 3_000, `only ${sent} garbage datagrams went out`);
    assert.ok(oversized > 100, `only ${oversized} oversized datagrams`);
    const sentBy = addresses.map((address, k) =>
      [address, answers.filter((a) => a.probe === k).length] as const
    );
    assert.equal(
      answers.length,
      0,
      `the tracker answered garbage: ${JSON.stringify(sentBy)}`,
    );
    await legitimateRound(tracker);
  });
});

Deno.test("the tracker process never answers an unproven address with more bytes than it sent", async () => {
  await withTrackerProcess([], async (tracker) => {
    // A real cookie, issued to another address: it must not work from here.
    await using owner = new h.UdpProbe("127.0.0.21", tracker);
    await owner.send(p.createMessage({ kind: "connect", txid: 1 }));
    const issued = await owner.next(2_000);
    assert.ok(issued, "no COOKIE for the owner");
    const stolen = (p.parseMessage(issued.bytes) as { cookie: bigint }).cookie;

    await using attacker = new h.UdpProbe("127.0.0.22", tracker);
    const file = {
      id: FILE_ID,
      name: "x",
      size: 1,
      chunkCount: 1,
      complete: true,
    };
    const commands: p.Message[] = [];
    for (const cookie of [0n, 0x1122_3344_5566_7788n, stolen]) {
      commands.push(
        {
          kind: "register",
          txid: 1,
          cookie,
          peerId: PEER_ID,
          port: 1,
          files: [],
        },
        {
          kind: "register",
          txid: 1,
          cookie,
          peerId: PEER_ID,
          port: 1,
          files: [file],
        },
        { kind: "keepalive", txid: 2, cookie, peerId: PEER_ID, port: 1 },
        {
          kind: "request",
          txid: 3,
          cookie,
          wanted: 200,
          query: { id: FILE_ID },
        },
        {
          kind: "request",
          txid: 3,
          cookie,
          wanted: 0,
          query: { name: "a" },
        },
        { kind: "get_count", txid: 4, cookie, fileId: FILE_ID },
        {
          kind: "become_seeder",
          txid: 5,
          cookie,
          peerId: PEER_ID,
          port: 1,
          file,
        },
        { kind: "leave", txid: 6, cookie, peerId: PEER_ID, port: 1 },
        { kind: "list", txid: 7, cookie, offset: 0, query: "" },
      );
    }
    // Peer-to-peer and answer kinds are not tracker commands: never answered.
    commands.push(
      { kind: "get", txid: 8, index: 0 },
      { kind: "get_manifest", txid: 9 },
      {
        kind: "handshake",
        txid: 10,
        fileId: FILE_ID,
        peerId: PEER_ID,
        port: 1,
      },
      { kind: "ack", txid: 11, intervalSeconds: 1 },
      { kind: "have", txid: 0, index: 1 },
    );
    const answered: string[] = [];
    for (const command of commands) {
      const request = p.createMessage(command);
      await attacker.send(request);
      const reply = await attacker.next(300);
      if (!reply) continue;
      const message = p.parseMessage(reply.bytes);
      answered.push(`${command.kind} -> ${message.kind}`);
      assert.ok(
        reply.bytes.byteLength <= request.byteLength,
        `${command.kind} of ${request.byteLength} bytes got ${message.kind} of ${reply.bytes.byteLength} bytes`,
      );
      assert.equal(
        message.kind,
        "error",
        `${command.kind} got ${message.kind}`,
      );
      assert.equal(
        (message as { code: number }).code,
        p.ErrorCode.BAD_COOKIE,
      );
    }
    // The smallest commands (KEEPALIVE, LEAVE: 40 bytes) are too small for
    // even a BAD_COOKIE answer (23 bytes + text) to be sent... or not: what
    // matters is the size rule above. At least the bulky ones were refused.
    assert.ok(answered.length > 0, "nothing was answered at all");
    assert.ok(
      !answered.some((line) =>
        /peer_list|file_list|ack|chunk_count/.test(line)
      ),
      answered.join(", "),
    );
    // CONNECT itself: the COOKIE answer is smaller than the CONNECT.
    const connect = p.createMessage({ kind: "connect", txid: 12 });
    await attacker.send(connect);
    const cookie = await attacker.next(1_000);
    assert.ok(cookie && cookie.bytes.byteLength <= connect.byteLength);
    // A CONNECT cut short (no padding) gets nothing: that padding is what
    // keeps COOKIE smaller than the request.
    await attacker.send(connect.subarray(0, p.HEADER_BYTES));
    assert.equal(await attacker.next(300), null);
    // The owner's cookie still works for the owner.
    await legitimateRound(tracker, "127.0.0.21", 40_002);
  });
});

Deno.test("the tracker process rate-limits a flood from one address and still serves others", async () => {
  await withTrackerProcess([], async (tracker) => {
    const connect = p.createMessage({ kind: "connect", txid: 1 });
    await connectFlood(
      tracker,
      "127.0.0.31",
      connect,
      () => legitimateRound(tracker, LEGIT_HOST, 40_003),
      async (flooder) => {
        // Once the bucket refills, the flooder is a normal client again.
        await h.sleep(1_000);
        await flooder.send(connect);
        assert.ok(await flooder.next(1_000), "the flooder was not forgiven");
      },
    );
  });
});

Deno.test("the tracker process keeps its memory bounded under a registration storm", async () => {
  await withTrackerProcess([], async (tracker) => {
    await legitimateRound(tracker);
    const before = await h.rssKiB(tracker.child.pid);
    // Eight hosts, each trying to register 100 peers (ports) with four files
    // of 250-byte names each, plus random garbage: the per-address cap (64
    // peers) must refuse the rest with BUSY.
    const hosts = Array.from({ length: 8 }, (_, i) => `127.0.0.${40 + i}`);
    let busy = 0;
    let acked = 0;
    for (const host of hosts) {
      await using probe = new h.UdpProbe(host, tracker);
      await probe.send(p.createMessage({ kind: "connect", txid: 1 }));
      const issued = await probe.next(2_000);
      assert.ok(issued, `no cookie for ${host}`);
      const cookie =
        (p.parseMessage(issued.bytes) as { cookie: bigint }).cookie;
      const rng = new Rng(host.length * 31 + hosts.indexOf(host));
      for (let port = 1; port <= 100; port++) {
        const files = Array.from({ length: 4 }, (_, f) => ({
          id: rng.bytes(32),
          name: `${"n".repeat(240)}-${port}-${f}`,
          size: 2 ** 40,
          chunkCount: 262_144,
          complete: false,
        }));
        await probe.send(
          p.createMessage({
            kind: "register",
            txid: port,
            cookie,
            peerId: rng.bytes(16),
            port,
            files,
          }),
        );
        await probe.send(randomInput(rng, 1452));
        if (port % 20 === 0) await h.sleep(5);
      }
      for (const reply of await probe.drain(1_000)) {
        const message = p.parseMessage(reply.bytes);
        if (message.kind === "ack") acked++;
        else if (
          message.kind === "error" && message.code === p.ErrorCode.BUSY
        ) busy++;
      }
    }
    assert.ok(acked <= hosts.length * 64, `${acked} peers registered`);
    // 36 refusals per host are due; a loaded machine may drop a few answers.
    assert.ok(busy >= hosts.length * 20, `only ${busy} BUSY answers`);
    // A malformed header that claims a huge body costs nothing either.
    await using last = new h.UdpProbe("127.0.0.60", tracker);
    await last.send(
      p.createHeader("manifest", { txid: 0, bodyLength: 8_000_000 }),
    );
    await legitimateRound(tracker, LEGIT_HOST, 40_004);
    const after = await h.rssKiB(tracker.child.pid);
    if (before !== null && after !== null) {
      assert.ok(
        after - before < 64 * 1024,
        `RSS grew from ${before} KiB to ${after} KiB`,
      );
    }
  });
});
