import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BEP15_MAX_REQUEST_BYTES,
  type Bep15Announce,
  checkBep15Request,
  createMessage,
  datagramDialect,
  encodeBep15Reply,
  encodeBep15Request,
  fromHex,
  parseBep15Reply,
  parseBep15Request,
  PeerListPeers,
  ProtocolError,
  toHex,
  writeBep15Announce,
} from "@shoal/protocol";
import {
  bep15DatagramArb,
  bep15Outcome,
  bep15ReplyArb,
  bep15RequestArb,
  mutatedArb,
} from "../../../bench/_protocol_inputs.ts";

function rejects(bytes: Uint8Array, code: string): void {
  assert.throws(
    () => parseBep15Request(bytes),
    (error) => error instanceof ProtocolError && error.code === code,
  );
  assert.throws(
    () => checkBep15Request(bytes),
    (error) => error instanceof ProtocolError && error.code === code,
  );
}

const INFOHASH = fromHex("0123456789abcdef0123456789abcdef01234567")!;
const PEER_ID = new TextEncoder().encode("-lt2080-abcdefghijkl");

function announce(overrides: Partial<Bep15Announce> = {}): Bep15Announce {
  return {
    action: "announce",
    connectionId: 0x8123_4567_89ab_cdefn,
    txid: 0x1122_3344,
    infohash: INFOHASH,
    peerId: PEER_ID,
    downloaded: 5n,
    left: 1_000n,
    uploaded: 7n,
    event: "started",
    ip: 0,
    key: 0xdead_beef,
    numWant: -1,
    port: 6881,
    options: new Uint8Array(0),
    ...overrides,
  };
}

Deno.test("encodeBep15Request() writes BEP 15's connect: protocol id, action 0, txid", () => {
  assert.equal(
    toHex(encodeBep15Request({ action: "connect", txid: 0x0a0b0c0d })),
    "0000041727101980" + "00000000" + "0a0b0c0d",
  );
});

Deno.test("encodeBep15Request() writes the 98-byte announce layout of BEP 15", () => {
  const bytes = encodeBep15Request(announce());
  assert.equal(bytes.byteLength, 98);
  assert.equal(
    toHex(bytes),
    "8123456789abcdef" + "00000001" + "11223344" + toHex(INFOHASH) +
      toHex(PEER_ID) + "0000000000000005" + "00000000000003e8" +
      "0000000000000007" + "00000002" + "00000000" + "deadbeef" +
      "ffffffff" + "1ae1",
  );
});

Deno.test("parseBep15Request() reads what encodeBep15Request() writes, options included", () => {
  fc.assert(
    fc.property(bep15RequestArb, (request) => {
      const bytes = encodeBep15Request(request);
      assert.deepStrictEqual(parseBep15Request(bytes), request);
      assert.equal(checkBep15Request(bytes), request.action);
    }),
    { seed: 0x0b15_0001, numRuns: 2000 },
  );
});

Deno.test("parseBep15Reply() reads what encodeBep15Reply() writes, IPv4 and IPv6 peers", () => {
  fc.assert(
    fc.property(bep15ReplyArb, ({ reply, family }) => {
      const bytes = encodeBep15Reply(reply, family);
      assert.deepStrictEqual(parseBep15Reply(bytes, family), reply);
    }),
    { seed: 0x0b15_0002, numRuns: 2000 },
  );
});

Deno.test("encodeBep15Reply() writes 6-byte IPv4 peers and 18-byte IPv6 peers", () => {
  const reply = {
    action: "announce" as const,
    txid: 1,
    intervalSeconds: 1800,
    leechers: 2,
    seeders: 3,
  };
  const v4 = encodeBep15Reply({
    ...reply,
    peers: [{ host: "127.0.0.1", port: 6881 }],
  }, 4);
  assert.equal(
    toHex(v4),
    "00000001" + "00000001" + "00000708" + "00000002" + "00000003" +
      "7f000001" + "1ae1",
  );
  const v6 = encodeBep15Reply({
    ...reply,
    peers: [{ host: "::1", port: 6881 }],
  }, 6);
  assert.equal(v6.byteLength, 20 + 18);
  assert.equal(toHex(v6.subarray(20)), "00".repeat(15) + "01" + "1ae1");
  assert.throws(
    () => encodeBep15Reply({ ...reply, peers: [{ host: "::1", port: 1 }] }, 4),
    RangeError,
  );
});

Deno.test("checkBep15Request() refuses a connect with a wrong protocol id", () => {
  const bytes = encodeBep15Request({ action: "connect", txid: 1 });
  bytes[7] = bytes[7]! ^ 1;
  rejects(bytes, "bad_magic");
});

Deno.test("checkBep15Request() refuses truncated requests of every kind", () => {
  const connect = encodeBep15Request({ action: "connect", txid: 1 });
  rejects(connect.subarray(0, 15), "too_short");
  rejects(new Uint8Array(0), "too_short");
  const full = encodeBep15Request(announce());
  for (const length of [16, 20, 50, 97]) {
    rejects(full.subarray(0, length), "too_short");
  }
  const scrape = encodeBep15Request({
    action: "scrape",
    connectionId: 1n,
    txid: 2,
    infohashes: [INFOHASH, INFOHASH],
  });
  rejects(scrape.subarray(0, 16), "bad_length");
  rejects(scrape.subarray(0, 16 + 30), "bad_length");
});

Deno.test("checkBep15Request() refuses a scrape of more than 74 infohashes", () => {
  const infohashes = Array.from({ length: 74 }, () => INFOHASH);
  const most = encodeBep15Request({
    action: "scrape",
    connectionId: 1n,
    txid: 2,
    infohashes,
  });
  assert.equal(most.byteLength, BEP15_MAX_REQUEST_BYTES);
  assert.equal(checkBep15Request(most), "scrape");
  const more = new Uint8Array(most.byteLength + 20);
  more.set(most);
  rejects(more, "too_long");
  assert.throws(
    () =>
      encodeBep15Request({
        action: "scrape",
        connectionId: 1n,
        txid: 2,
        infohashes: [...infohashes, INFOHASH],
      }),
    TypeError,
  );
});

Deno.test("checkBep15Request() refuses an unknown action, an unknown event and a padded connect", () => {
  const bytes = encodeBep15Request(announce());
  bytes[11] = 3; // action 3 is a reply (error), never a request
  rejects(bytes, "bad_type");
  const event = encodeBep15Request(announce());
  event[83] = 4;
  rejects(event, "bad_value");
  const connect = encodeBep15Request({ action: "connect", txid: 1 });
  const padded = new Uint8Array(17);
  padded.set(connect);
  rejects(padded, "trailing_bytes");
});

Deno.test("parseBep15Request() gives a request or a ProtocolError for random and mutated bytes, and agrees with the check", () => {
  const outcomes = new Set<string>();
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 1600 }),
        mutatedArb(bep15DatagramArb),
      ),
      (bytes) => {
        outcomes.add(bep15Outcome(bytes));
      },
    ),
    { seed: 0x0b15_0003, numRuns: 5000 },
  );
  for (const expected of ["announce", "scrape", "error:too_short"]) {
    assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes]}`);
  }
});

Deno.test("parseBep15Reply() gives a reply or a ProtocolError for random bytes", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 1600 }),
      fc.constantFrom(4 as const, 6 as const),
      (bytes, family) => {
        try {
          parseBep15Reply(bytes, family);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { seed: 0x0b15_0004, numRuns: 3000 },
  );
});

Deno.test("datagramDialect() tells Shoal's messages from BEP 15 requests by the first byte", () => {
  assert.equal(
    datagramDialect(createMessage({ kind: "connect", txid: 1 })),
    "shoal",
  );
  assert.equal(
    datagramDialect(encodeBep15Request({ action: "connect", txid: 1 })),
    "bep15",
  );
  // A connection id a Shoal tracker issues has its top bit set.
  assert.equal(datagramDialect(encodeBep15Request(announce())), "bep15");
  assert.equal(datagramDialect(new Uint8Array(0)), "bep15");
});

Deno.test("writeBep15Announce() refuses a peer of the other family", () => {
  const peers = new PeerListPeers(2);
  peers.family[0] = 6;
  peers.count = 1;
  assert.throws(
    () =>
      writeBep15Announce(new Uint8Array(100), {
        txid: 1,
        intervalSeconds: 1,
        leechers: 0,
        seeders: 0,
        peers,
        family: 4,
      }),
    RangeError,
  );
});
