/**
 * Hostile BitTorrent (BEP 15) input to the real tracker process
 * (`tracker/main.ts`, network permission only): wrong protocol ids,
 * forged or expired connection ids, truncated and oversized requests, a
 * flood, and an address trying to fill the tables with announces. The
 * process must survive, never answer an unproven address with more bytes
 * than it sent, and keep serving honest BitTorrent clients and Shoal peers.
 * Loopback only; every loop is bounded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as p from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import {
  connectFlood,
  sprayFromProbes,
  withTrackerProcess,
} from "../_helpers/tracker_attack.ts";
import { bep15DatagramArb, mutate, Rng } from "../../bench/_protocol_inputs.ts";

const INFOHASH = new Uint8Array(20).fill(0x42);

/** An honest client's round: connect, announce, scrape. */
async function honestClient(
  tracker: { host: string; port: number },
  from: string,
): Promise<void> {
  await using client = new h.Bep15Client(from, tracker, 51_413);
  await client.connect();
  const reply = await client.announce(INFOHASH, { left: 0n });
  assert.equal(reply?.action, "announce", JSON.stringify(reply));
  const scrape = await client.scrape([INFOHASH]);
  assert.equal(scrape?.action, "scrape", JSON.stringify(scrape));
  if (scrape?.action === "scrape") assert.ok(scrape.files[0]!.seeders >= 1);
}

/** Every way a BEP 15 datagram can be wrong, from a seeded generator. */
function garbage(rng: Rng, valid: Uint8Array[]): Uint8Array {
  const base = rng.pick(valid);
  switch (rng.int(7)) {
    case 0: { // a connect with a wrong protocol id
      const bytes = p.encodeBep15Request({ action: "connect", txid: 1 });
      const at = rng.int(8);
      bytes[at] = bytes[at]! ^ (1 + rng.int(255));
      return bytes;
    }
    case 1: // truncated
      return base.subarray(0, rng.int(base.byteLength));
    case 2: { // a scrape of more than 74 infohashes
      const bytes = rng.bytes(16 + 20 * (75 + rng.int(100)));
      bytes[0] = 0x80 | bytes[0]!;
      bytes.set([0, 0, 0, 2], 8);
      return bytes;
    }
    case 3: { // a forged connection id (never issued)
      const bytes = base.slice();
      bytes.set(rng.bytes(8));
      bytes[0] = 0x80 | bytes[0]!;
      return bytes;
    }
    case 4: // random bytes that do not start like Shoal's
      return Uint8Array.from(
        rng.bytes(1 + rng.int(1600)),
        (byte, i) => i === 0 && byte === 0x53 ? 0 : byte,
      );
    default:
      return mutate(rng, base);
  }
}

Deno.test("the tracker process drops malformed BEP 15 datagrams and answers no unproven request with more bytes than it sent", async () => {
  await withTrackerProcess([], async (tracker) => {
    const valid = fc.sample(bep15DatagramArb, { seed: 15, numRuns: 300 });
    const rng = new Rng(15);
    // Each well-formed request goes out with a txid of its own, so each
    // answer is matched with what it answers.
    const sizeOf = new Map<number, { bytes: number; kind: string }>();
    let txid = 1_000_000;
    let malformed = 0;
    let connects = 0;
    const { answers } = await sprayFromProbes(
      tracker,
      Array.from({ length: 8 }, (_, i) => `127.0.1.${10 + i}`),
      3_000,
      () => {
        const bytes = garbage(rng, valid);
        if (p.datagramDialect(bytes) !== "bep15") return null;
        let kind = "malformed";
        try {
          kind = p.checkBep15Request(bytes);
          new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, ++txid);
          sizeOf.set(txid, { bytes: bytes.byteLength, kind });
        } catch (error) {
          if (!(error instanceof p.ProtocolError)) throw error;
          malformed++;
        }
        if (kind === "connect") connects++;
        return bytes;
      },
    );
    assert.ok(malformed > 1_000, `only ${malformed} malformed datagrams`);
    assert.ok(sizeOf.size > 300, `only ${sizeOf.size} well-formed ones`);
    let errors = 0;
    for (const { bytes } of answers) {
      const reply = p.parseBep15Reply(bytes);
      const request = sizeOf.get(reply.txid);
      assert.ok(
        request,
        `an answer to a malformed datagram: ${p.toHex(bytes)}`,
      );
      assert.ok(
        bytes.byteLength <= request.bytes,
        `${request.kind} of ${request.bytes} bytes got ${reply.action} of ${bytes.byteLength}`,
      );
      if (request.kind === "connect") {
        assert.equal(reply.action, "connect");
      } else {
        assert.deepEqual(
          {
            action: reply.action,
            message: (reply as { message?: string }).message,
          },
          { action: "error", message: "Connection id expired" },
        );
        errors++;
      }
    }
    assert.ok(errors > 200, `only ${errors} refusals came back`);
    await honestClient(tracker, "127.0.1.30");
  });
});

Deno.test("the tracker process rate-limits a flood of BEP 15 connects and still serves another client", async () => {
  await withTrackerProcess([], async (tracker) => {
    await connectFlood(
      tracker,
      "127.0.1.40",
      p.encodeBep15Request({ action: "connect", txid: 9 }),
      () => honestClient(tracker, "127.0.1.41"),
    );
  });
});

Deno.test("BitTorrent announces from one address cannot fill the tracker; /stats counts BitTorrent peers and requests", async () => {
  // --max-files 2000: one address may hold 1 % of it, 20 (peer, file) pairs.
  const args = ["--max-files", "2000", "--stats-port", "0"];
  await withTrackerProcess(args, async (tracker) => {
    const statsUrl = (await tracker.waitFor(/stats on (http:\S+)\/stats/))[1]!;
    await using greedy = new h.Bep15Client("127.0.1.50", tracker);
    await greedy.connect();
    const outcomes: string[] = [];
    for (let i = 0; i < 60; i++) {
      const infohash = new Uint8Array(20).fill(i + 1);
      const reply = await greedy.announce(infohash);
      outcomes.push(
        reply?.action === "error" ? reply.message : reply?.action ?? "none",
      );
    }
    const accepted = outcomes.filter((o) => o === "announce").length;
    assert.ok(accepted <= 20, `${accepted} announces accepted`);
    assert.equal(
      outcomes.filter((o) => o === "Tracker is full: try later").length,
      60 - accepted,
    );
    await honestClient(tracker, "127.0.1.51");
    const stats = await (await fetch(`${statsUrl}/stats`)).json();
    assert.equal(stats.peersByProtocol.bittorrent, 2);
    assert.equal(stats.peersByProtocol.shoal, 0);
    assert.ok(stats.bittorrentRequests.announce >= 61);
    assert.equal(stats.bittorrentRequests.scrape, 1);
    const metrics = await (await fetch(`${statsUrl}/metrics`)).text();
    assert.match(
      metrics,
      /shoal_tracker_peers_by_protocol\{protocol="bittorrent"\} 2/,
    );
    assert.match(
      metrics,
      /shoal_tracker_bittorrent_requests_total\{type="scrape"\} 1/,
    );
  });
});
