import assert from "node:assert/strict";
import {
  type Bep15Reply,
  encodeBep15Request,
  ErrorCode,
  type Message,
  toHex,
} from "@shoal/protocol";
import { FakeTracker, file } from "./_fake.ts";

const HOST_A = "192.0.2.1";
const HOST_B = "192.0.2.2";
const HOST_C = "192.0.2.3";

function announced(reply: Bep15Reply | null) {
  assert.equal(reply?.action, "announce", JSON.stringify(reply));
  if (reply?.action !== "announce") throw new Error("unreachable");
  return reply;
}

function scraped(reply: Bep15Reply | null) {
  assert.equal(reply?.action, "scrape", JSON.stringify(reply));
  if (reply?.action !== "scrape") throw new Error("unreachable");
  return reply.files;
}

function peersOf(reply: Message | null) {
  assert.equal(reply?.kind, "peer_list");
  if (reply?.kind !== "peer_list") throw new Error("unreachable");
  return reply.peers;
}

function errorOf(reply: Bep15Reply | null): string {
  assert.equal(reply?.action, "error", JSON.stringify(reply));
  if (reply?.action !== "error") throw new Error("unreachable");
  return reply.message;
}

Deno.test("handler answers a BEP 15 connect with 16 bytes: a connection id with its top bit set", () => {
  const tracker = new FakeTracker();
  const { reply, requestBytes, replyBytes } = tracker.bep15(
    { action: "connect", txid: 77 },
    { hostname: HOST_A, port: 6881 },
  );
  assert.equal(reply?.action, "connect");
  assert.equal(requestBytes, 16);
  assert.equal(replyBytes, 16);
  if (reply?.action === "connect") {
    assert.ok(reply.connectionId >= 1n << 63n);
    // Never mistaken for Shoal's magic "SH" (0x53 0x48).
    assert.notEqual(Number(reply.connectionId >> 56n), 0x53);
  }
  assert.equal(tracker.handler.counters.bittorrent.connect, 1);
});

Deno.test("handler answers an announce with a wrong, foreign or expired connection id with an error no larger than the request", () => {
  const tracker = new FakeTracker();
  const client = tracker.client(HOST_A);
  const infohash = new Uint8Array(20).fill(1);
  const good = client.connectionId;
  const tries = [
    0n, // never issued
    good ^ 1n,
    good & ~(1n << 63n), // the same bits without the mark
    tracker.client(HOST_B).connectionId, // issued to another address
  ];
  for (const connectionId of tries) {
    client.connectionId = connectionId;
    for (
      const exchange of [client.announce(infohash), client.scrape([infohash])]
    ) {
      assert.equal(errorOf(exchange.reply), "Connection id expired");
      assert.ok(exchange.replyBytes <= exchange.requestBytes);
    }
  }
  // A valid id stops working two windows (60 s each) later.
  client.connectionId = good;
  assert.equal(client.announce(infohash).reply?.action, "announce");
  tracker.nowMs += 120_000;
  assert.equal(
    errorOf(client.announce(infohash).reply),
    "Connection id expired",
  );
  assert.equal(tracker.handler.stats.badCookie, 9);
  // Only the one valid announce reached the registry.
  assert.equal(tracker.registry.stats.peers, 1);
});

Deno.test("handler drops malformed BEP 15 datagrams without an answer", () => {
  const tracker = new FakeTracker();
  const source = { hostname: HOST_A, port: 6881 };
  const connect = encodeBep15Request({ action: "connect", txid: 1 });
  const wrongId = connect.slice();
  wrongId[3] = 0x05;
  const announce = encodeBep15Request({
    action: "announce",
    connectionId: tracker.client(HOST_A).connectionId,
    txid: 2,
    infohash: new Uint8Array(20),
    peerId: new Uint8Array(20),
    downloaded: 0n,
    left: 0n,
    uploaded: 0n,
    event: "started",
    ip: 0,
    key: 0,
    numWant: -1,
    port: 6881,
    options: new Uint8Array(0),
  });
  const oversized = new Uint8Array(16 + 75 * 20);
  oversized.set(announce.subarray(0, 8));
  oversized[11] = 2; // scrape of 75 infohashes
  for (
    const bytes of [
      wrongId,
      connect.subarray(0, 15),
      announce.subarray(0, 97),
      oversized,
      new Uint8Array(0),
      new Uint8Array([0x80, 1, 2]),
    ]
  ) {
    assert.equal(tracker.raw(bytes, source), null, toHex(bytes));
  }
  assert.equal(tracker.handler.counters.drops.malformed, 6);
  assert.equal(tracker.registry.stats.peers, 0);
});

Deno.test("a BitTorrent client and a Shoal seeder of the same file are in each other's peer lists", () => {
  const tracker = new FakeTracker();
  const movie = file("movie.mkv", { size: 5_000_000, chunkCount: 10 });
  const seeder = tracker.peer(HOST_A, 40_000, 7000);
  seeder.register([movie]);
  const client = tracker.client(HOST_B, 6881, 51413);

  const reply = announced(client.announce(movie.id).reply);
  assert.equal(reply.intervalSeconds, 1800);
  assert.deepEqual(
    { seeders: reply.seeders, leechers: reply.leechers },
    { seeders: 1, leechers: 1 },
  );
  assert.deepEqual(reply.peers, [{ host: HOST_A, port: 7000 }]);

  // Shoal's REQUEST by id, both the in-place and the general path.
  const leecher = tracker.peer(HOST_C);
  const byId = leecher.request({ id: movie.id });
  assert.deepEqual(
    peersOf(byId).map((peer) => `${peer.host}:${peer.port}`).sort(),
    [`${HOST_A}:7000`, `${HOST_B}:51413`],
  );
  // Each says which protocol to speak to it: the client is flagged as a
  // BitTorrent client, so a Shoal leecher does not try Shoal's handshake.
  assert.deepEqual(
    peersOf(byId).map((peer) => [peer.port, peer.bittorrent === true])
      .sort((a, b) => Number(a[0]) - Number(b[0])),
    [[7000, false], [51413, true]],
  );
  const byName = leecher.request({ name: "movie.mkv" });
  assert.ok(
    peersOf(byName).some((peer) =>
      peer.host === HOST_B && peer.port === 51413 && !peer.complete
    ),
  );
  if (byName?.kind === "peer_list") {
    assert.equal(toHex(byName.fileId), toHex(movie.id));
  }
  // The client counts as a peer of the file, not a voter on its name.
  assert.equal(tracker.registry.fileById(movie.id)?.name, "movie.mkv");
  assert.equal(tracker.handler.counters.bittorrent.announce, 1);
  assert.equal(tracker.registry.totals.bittorrentPeers, 1);
});

Deno.test("an infohash no Shoal peer registered makes a nameless file: not listed, not found by name, found by id and prefix", () => {
  const tracker = new FakeTracker();
  const id = crypto.getRandomValues(new Uint8Array(32));
  const hex = toHex(id.subarray(0, 20));
  tracker.client(HOST_A).announce(id, { left: 0n });
  const record = tracker.registry.fileById(id);
  assert.equal(record?.truncated, true);
  const shoal = tracker.peer(HOST_B);
  const list = shoal.list("");
  assert.equal(list?.kind === "file_list" && list.total, 0);
  const search = shoal.list(hex.slice(0, 10));
  assert.equal(search?.kind === "file_list" && search.total, 0);
  const byName = shoal.request({ name: hex });
  assert.equal(byName?.kind === "error" && byName.code, ErrorCode.UNKNOWN_FILE);
  // By the whole id (its tail unknown to the tracker) and by prefix.
  const byId = shoal.request({ id });
  assert.deepEqual(peersOf(byId), [{
    host: HOST_A,
    port: 6881,
    complete: true,
    bittorrent: true,
  }]);
  if (byId?.kind === "peer_list") {
    assert.equal(toHex(byId.fileId), toHex(id));
    assert.equal(byId.name, hex);
    assert.equal(byId.size, 0);
  }
  assert.equal(
    shoal.request({ idPrefix: hex.slice(0, 12) })?.kind,
    "peer_list",
  );
  assert.equal(
    shoal.request({ idPrefix: toHex(id).slice(0, 63) })?.kind,
    "peer_list",
  );
  const count = shoal.getCount(id);
  assert.equal(count?.kind === "error" && count.code, ErrorCode.UNKNOWN_FILE);

  // A Shoal seeder names it: listed and found by name, the client still in it.
  const seed = { ...file("named.iso"), id };
  tracker.peer(HOST_C).register([seed]);
  const named = shoal.list("");
  assert.deepEqual(
    named?.kind === "file_list" && named.files.map((f) => toHex(f.id)),
    [toHex(id)],
  );
  assert.equal(peersOf(shoal.request({ name: "named.iso" })).length, 2);
  assert.equal(tracker.registry.fileById(id)?.truncated, false);
});

Deno.test("announce events: started leecher, completed seeder, stopped leaves; scrape counts them", () => {
  const tracker = new FakeTracker();
  const infohash = crypto.getRandomValues(new Uint8Array(20));
  const a = tracker.client(HOST_A);
  const b = tracker.client(HOST_B);
  announced(a.announce(infohash, { event: "started", left: 500n }).reply);
  announced(b.announce(infohash, { event: "started", left: 0n }).reply);
  assert.deepEqual(scraped(a.scrape([infohash]).reply), [
    { seeders: 1, completed: 0, leechers: 1 },
  ]);
  const done = announced(
    a.announce(infohash, { event: "completed", left: 0n }).reply,
  );
  assert.deepEqual([done.seeders, done.leechers], [2, 0]);
  assert.deepEqual(scraped(a.scrape([infohash]).reply), [
    { seeders: 2, completed: 1, leechers: 0 },
  ]);
  // A regular announce keeps it; stopped takes it out (no peers in reply).
  assert.equal(
    announced(a.announce(infohash, { event: "none", left: 0n }).reply).seeders,
    2,
  );
  const stopped = announced(
    a.announce(infohash, { event: "stopped", left: 0n }).reply,
  );
  assert.deepEqual([stopped.seeders, stopped.peers.length], [1, 0]);
  assert.equal(tracker.registry.totals.bittorrentPeers, 1);
  const last = announced(b.announce(infohash, { event: "stopped" }).reply);
  assert.deepEqual([last.seeders, last.leechers], [0, 0]);
  assert.equal(tracker.registry.stats.files, 0);
  assert.equal(tracker.registry.stats.peers, 0);
});

Deno.test("scrape answers 12 bytes per infohash, zeros for unknown ones, up to 74", () => {
  const tracker = new FakeTracker();
  const known = crypto.getRandomValues(new Uint8Array(20));
  const client = tracker.client(HOST_A);
  client.announce(known, { left: 0n });
  const hashes = Array.from(
    { length: 74 },
    (_, i) => i === 40 ? known : crypto.getRandomValues(new Uint8Array(20)),
  );
  const { reply, requestBytes, replyBytes } = client.scrape(hashes);
  const files = scraped(reply);
  assert.equal(files.length, 74);
  assert.equal(replyBytes, 8 + 74 * 12);
  assert.ok(replyBytes < requestBytes);
  assert.deepEqual(files[40], { seeders: 1, completed: 0, leechers: 0 });
  assert.deepEqual(files[0], { seeders: 0, completed: 0, leechers: 0 });
  assert.equal(tracker.handler.counters.bittorrent.scrape, 1);
});

Deno.test("numwant: -1 gives up to 50, 0 none, n at most n, and never more than fits a datagram", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxPeersPerIp: 1_000, maxHoldingsPerIp: 10_000 } },
  });
  const movie = file("big.iso");
  // 260 Shoal holders on IPv4, 100 on IPv6.
  for (let i = 0; i < 260; i++) {
    tracker.peer(`10.0.${i >> 8}.${i & 255}`, 40_000, 7000).register([movie]);
  }
  for (let i = 0; i < 100; i++) {
    tracker.peer(`2001:db8::${(i + 1).toString(16)}`, 40_000, 7000).register([
      movie,
    ]);
  }
  const v4 = tracker.client(HOST_A);
  assert.equal(announced(v4.announce(movie.id).reply).peers.length, 50);
  assert.equal(
    announced(v4.announce(movie.id, { numWant: 0 }).reply).peers.length,
    0,
  );
  assert.equal(
    announced(v4.announce(movie.id, { numWant: 7 }).reply).peers.length,
    7,
  );
  const most = v4.announce(movie.id, { numWant: 1000 });
  const peers = announced(most.reply).peers;
  assert.equal(peers.length, 200);
  assert.ok(peers.every((peer) => !peer.host.includes(":")));
  // IPv6: 18-byte peers, IPv6 only, as many as fit 1452 bytes.
  const v6 = tracker.client("2001:db8::ffff");
  const six = v6.announce(movie.id, { numWant: 1000 });
  const sixPeers = announced(six.reply).peers;
  assert.equal(sixPeers.length, 79);
  assert.ok(sixPeers.every((peer) => peer.host.startsWith("2001:db8::")));
  assert.ok(six.replyBytes <= 1452);
  assert.equal(announced(six.reply).seeders, 360);
});

Deno.test("a client announcing two torrents from one port, with a peer id per torrent, holds both", () => {
  const tracker = new FakeTracker();
  const one = crypto.getRandomValues(new Uint8Array(20));
  const two = crypto.getRandomValues(new Uint8Array(20));
  const client = tracker.client(HOST_A);
  client.announce(one);
  client.peerId.fill(9);
  client.announce(two);
  const other = tracker.client(HOST_B);
  assert.equal(announced(other.announce(one).reply).peers.length, 1);
  assert.equal(announced(other.announce(two).reply).peers.length, 1);
  client.announce(one, { event: "stopped" });
  assert.equal(announced(other.announce(one).reply).peers.length, 0);
  assert.equal(announced(other.announce(two).reply).peers.length, 1);
});

Deno.test("BitTorrent announces are held to the per-address caps and port 0 is refused", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxPeersPerIp: 3 } },
  });
  const infohash = crypto.getRandomValues(new Uint8Array(20));
  for (let port = 1; port <= 3; port++) {
    const reply = tracker.client(HOST_A, 6000 + port, 7000 + port).announce(
      infohash,
    );
    assert.equal(reply.reply?.action, "announce");
  }
  assert.equal(
    errorOf(tracker.client(HOST_A, 6004, 7004).announce(infohash).reply),
    "Tracker is full: try later",
  );
  assert.equal(
    errorOf(tracker.client(HOST_B).announce(infohash, { port: 0 }).reply),
    "Cannot announce: TCP port 0",
  );
  assert.equal(tracker.registry.stats.peers, 3);
});

Deno.test("BitTorrent datagrams share the per-address rate limit with Shoal's", () => {
  const tracker = new FakeTracker({
    handler: { rateLimit: { ratePerSecond: 1, burst: 10 } },
  });
  let answered = 0;
  for (let i = 0; i < 100; i++) {
    const { reply } = tracker.bep15(
      { action: "connect", txid: i },
      { hostname: HOST_A, port: 6881 },
    );
    if (reply) answered++;
  }
  assert.equal(answered, 10);
  assert.equal(tracker.handler.counters.drops.rate_limited, 90);
  // Another address is still served.
  assert.ok(tracker.client(HOST_B).connectionId > 0n);
});

Deno.test("a BitTorrent client lives its own TTL, longer than a Shoal peer's", () => {
  const tracker = new FakeTracker({
    registry: { peerTtlMs: 60_000, bittorrentTtlMs: 600_000 },
  });
  assert.equal(tracker.handler.bittorrentIntervalSeconds, 400);
  const infohash = crypto.getRandomValues(new Uint8Array(20));
  tracker.client(HOST_A).announce(infohash, { left: 0n });
  tracker.nowMs += 500_000;
  tracker.registry.sweep(tracker.nowMs);
  const probe = tracker.client(HOST_B);
  assert.equal(announced(probe.announce(infohash).reply).seeders, 1);
  tracker.nowMs += 200_000;
  tracker.registry.sweep(tracker.nowMs);
  const late = announced(tracker.client(HOST_C).announce(infohash).reply);
  assert.deepEqual(late.peers.map((peer) => peer.host), [HOST_B]);
});
