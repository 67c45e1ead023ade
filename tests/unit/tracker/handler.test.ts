import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  ErrorCode,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  type Message,
  parseMessage,
  peerListBaseBytes,
  toHex,
} from "@shoal/protocol";
import { FakeTracker, file, type Outgoing } from "./_fake.ts";

const HOST_A = "192.0.2.1";
const HOST_B = "192.0.2.2";

function assertError(reply: Message | null, code: number): void {
  assert.equal(reply?.kind, "error");
  if (reply?.kind === "error") assert.equal(reply.code, code);
}

function peersOf(reply: Message | null) {
  assert.equal(reply?.kind, "peer_list");
  if (reply?.kind !== "peer_list") throw new Error("unreachable");
  return reply.peers;
}

Deno.test("handler answers CONNECT with a COOKIE no larger than the request", () => {
  const tracker = new FakeTracker();
  const { reply, requestBytes, replyBytes } = tracker.exchange(
    { kind: "connect" },
    { hostname: HOST_A, port: 1 },
  );
  assert.equal(reply?.kind, "cookie");
  assert.ok(replyBytes <= requestBytes);
});

Deno.test("handler answers REGISTER with ACK and an interval of a third of the TTL", () => {
  const tracker = new FakeTracker({ registry: { peerTtlMs: 60_000 } });
  const reply = tracker.peer(HOST_A).register([file("a.txt")]);
  assert.deepEqual(reply, {
    kind: "ack",
    txid: reply!.txid,
    intervalSeconds: 20,
  });
});

Deno.test("handler ACK interval is at least one second for a short TTL", () => {
  const tracker = new FakeTracker({ registry: { peerTtlMs: 1_500 } });
  const reply = tracker.peer(HOST_A).register([]);
  assert.equal(reply?.kind === "ack" && reply.intervalSeconds, 1);
});

Deno.test("handler answers every command with a missing cookie with BAD_COOKIE no larger than the request", () => {
  const tracker = new FakeTracker();
  const source = { hostname: HOST_A, port: 5 };
  const peerId = new Uint8Array(16);
  const id = new Uint8Array(32);
  // The smallest request of each kind: the answer must still fit in it.
  const commands: Outgoing[] = [
    { kind: "register", cookie: 0n, peerId, port: 1, files: [] },
    { kind: "keepalive", cookie: 0n, peerId, port: 1 },
    { kind: "leave", cookie: 0n, peerId, port: 1 },
    { kind: "request", cookie: 0n, wanted: 0, query: { name: "a" } },
    { kind: "request", cookie: 0n, wanted: 0, query: { id } },
    { kind: "get_count", cookie: 0n, fileId: id },
    { kind: "list", cookie: 0n, query: "", offset: 0 },
    {
      kind: "become_seeder",
      cookie: 0n,
      peerId,
      port: 1,
      file: { id, name: "a", size: 1, chunkCount: 1, complete: true },
    },
  ];
  for (const command of commands) {
    const { reply, requestBytes, replyBytes } = tracker.exchange(
      command,
      source,
    );
    assertError(reply, ErrorCode.BAD_COOKIE);
    assert.ok(
      replyBytes <= requestBytes,
      `${command.kind}: ${replyBytes} > ${requestBytes}`,
    );
  }
  assert.equal(tracker.handler.stats.badCookie, commands.length);
  assert.equal(tracker.registry.stats.peers, 0);
});

Deno.test("handler rejects a cookie issued to another source port or address", () => {
  const tracker = new FakeTracker();
  const cookie = tracker.cookie({ hostname: HOST_A, port: 1000 });
  const keepalive = {
    kind: "keepalive",
    cookie,
    peerId: new Uint8Array(16),
    port: 7000,
  } as const;
  assertError(
    tracker.send(keepalive, { hostname: HOST_A, port: 1001 }),
    ErrorCode.BAD_COOKIE,
  );
  assertError(
    tracker.send(keepalive, { hostname: HOST_B, port: 1000 }),
    ErrorCode.BAD_COOKIE,
  );
  // Right source: the cookie passes and the peer is merely unknown.
  assertError(
    tracker.send(keepalive, { hostname: HOST_A, port: 1000 }),
    ErrorCode.UNKNOWN_PEER,
  );
});

Deno.test("handler accepts a cookie for the next window and refuses it after two", () => {
  const tracker = new FakeTracker({ registry: { peerTtlMs: 1_000_000 } });
  tracker.nowMs = 60_000 * 1000; // start of a window
  const peer = tracker.peer(HOST_A);
  assert.equal(peer.register([])?.kind, "ack");
  tracker.nowMs += 60_000 + 59_999; // last ms of the next window
  assert.equal(peer.keepalive()?.kind, "ack");
  tracker.nowMs += 1;
  assertError(peer.keepalive(), ErrorCode.BAD_COOKIE);
  peer.cookie = tracker.cookie(peer.source);
  assert.equal(peer.keepalive()?.kind, "ack");
});

Deno.test("handler answers KEEPALIVE from an unknown peer with UNKNOWN_PEER", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  assertError(peer.keepalive(), ErrorCode.UNKNOWN_PEER);
  assert.equal(peer.register([file("a")])?.kind, "ack");
  assert.equal(peer.keepalive()?.kind, "ack");
});

Deno.test("handler answers KEEPALIVE with another peer id on the same key with UNKNOWN_PEER", () => {
  const tracker = new FakeTracker();
  const first = tracker.peer(HOST_A, 40_000, 7000);
  first.register([file("a")]);
  const second = tracker.peer(HOST_A, 40_000, 7000);
  assertError(second.keepalive(), ErrorCode.UNKNOWN_PEER);
});

Deno.test("handler REGISTER with a new peer id on the same key replaces the old record", () => {
  const tracker = new FakeTracker();
  const a = file("a");
  const b = file("b");
  const first = tracker.peer(HOST_A, 40_000, 7000);
  first.register([a]);
  const second = tracker.peer(HOST_A, 40_001, 7000);
  assert.equal(second.register([b])?.kind, "ack");
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 1, holdings: 1 });
  assertError(first.keepalive(), ErrorCode.UNKNOWN_PEER);
  assertError(second.request({ id: a.id }), ErrorCode.UNKNOWN_FILE);
});

Deno.test("handler adds files across several REGISTERs of one peer", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  peer.register([file("a"), file("b")]);
  peer.register([file("c")]);
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 3, holdings: 3 });
});

Deno.test("handler answers REGISTER with TCP port 0 with BAD_REQUEST", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A, 40_000, 0);
  assertError(peer.register([file("a")]), ErrorCode.BAD_REQUEST);
  assert.equal(tracker.registry.stats.peers, 0);
});

Deno.test("handler REQUEST by id lists holders at their source address, not the requester", () => {
  const tracker = new FakeTracker();
  const shared = file("movie.mkv", { size: 5_000_000, chunkCount: 10 });
  const seeder = tracker.peer(HOST_A, 40_000, 7001);
  const leecher = tracker.peer(HOST_B, 40_000, 7002);
  seeder.register([shared]);
  leecher.register([{ ...shared, complete: false }]);

  const reply = leecher.request({ id: shared.id });
  assert.equal(reply?.kind, "peer_list");
  if (reply?.kind !== "peer_list") return;
  assert.equal(toHex(reply.fileId), toHex(shared.id));
  assert.equal(reply.name, "movie.mkv");
  assert.equal(reply.size, 5_000_000);
  assert.equal(reply.chunkCount, 10);
  assert.deepEqual(reply.peers, [{ host: HOST_A, port: 7001, complete: true }]);

  // Someone outside the swarm sees both, with their complete flags.
  const outsider = tracker.peer("192.0.2.3");
  const peers = peersOf(outsider.request({ id: shared.id }));
  assert.deepEqual(
    peers.toSorted((x, y) => x.port - y.port),
    [
      { host: HOST_A, port: 7001, complete: true },
      { host: HOST_B, port: 7002, complete: false },
    ],
  );
});

Deno.test("handler REQUEST by exact name answers PEER_LIST, CANDIDATES or UNKNOWN_FILE", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  const unique = file("unique.bin");
  const twinA = file("twin.bin", { size: 10 });
  const twinB = file("twin.bin", { size: 20, complete: false });
  peer.register([unique, twinA, twinB]);

  const single = peer.request({ name: "unique.bin" });
  assert.equal(single?.kind, "peer_list");

  const twins = peer.request({ name: "twin.bin" });
  assert.equal(twins?.kind, "candidates");
  if (twins?.kind !== "candidates") return;
  assert.equal(twins.files.length, 2);
  // Seeders first.
  assert.equal(toHex(twins.files[0]!.id), toHex(twinA.id));
  assert.deepEqual(
    { ...twins.files[0]!, id: null },
    { id: null, name: "twin.bin", size: 10, peers: 1, seeders: 1 },
  );
  assert.deepEqual(
    { ...twins.files[1]!, id: null },
    { id: null, name: "twin.bin", size: 20, peers: 1, seeders: 0 },
  );

  assertError(peer.request({ name: "UNIQUE.bin" }), ErrorCode.UNKNOWN_FILE);
  assertError(
    peer.request({ id: new Uint8Array(32) }),
    ErrorCode.UNKNOWN_FILE,
  );
});

Deno.test("handler CANDIDATES holds as many files as fit one datagram", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxPeersPerIp: 1000 } },
  });
  const name = "n".repeat(200);
  for (let i = 0; i < 20; i++) {
    tracker.peer(HOST_A, 40_000 + i, 7000 + i).register([file(name)]);
  }
  const { reply, replyBytes } = tracker.exchange(
    {
      kind: "request",
      cookie: tracker.cookie({ hostname: HOST_B, port: 1 }),
      wanted: 0,
      query: { name },
    },
    { hostname: HOST_B, port: 1 },
  );
  assert.equal(reply?.kind, "candidates");
  if (reply?.kind !== "candidates") return;
  const perFile = 32 + 8 + 2 + 2 + 1 + 200;
  assert.equal(
    reply.files.length,
    Math.floor((MAX_DATAGRAM_BYTES - HEADER_BYTES - 1) / perFile),
  );
  assert.ok(replyBytes <= MAX_DATAGRAM_BYTES);
});

/**
 * Asks for `shared` by id with `wanted` peers: the peers listed, the
 * reply's size, and how many peers of `peerBytes` fit one datagram.
 */
function fullList(
  tracker: FakeTracker,
  asker: ReturnType<FakeTracker["peer"]>,
  shared: { id: Uint8Array; name: string },
  wanted: number,
  peerBytes: number,
) {
  const { reply, replyBytes } = tracker.exchange(
    { kind: "request", cookie: asker.cookie, wanted, query: { id: shared.id } },
    asker.source,
  );
  const fit = Math.floor(
    (MAX_DATAGRAM_BYTES - peerListBaseBytes(shared.name)) / peerBytes,
  );
  return { peers: peersOf(reply), replyBytes, fit };
}

Deno.test("handler PEER_LIST defaults to 50 peers and caps at what fits one datagram", () => {
  const tracker = new FakeTracker();
  const shared = file("popular.iso");
  for (let i = 0; i < 250; i++) {
    tracker.peer(`10.0.${i >> 8}.${i & 255}`, 40_000, 7000).register([shared]);
  }
  const asker = tracker.peer(HOST_A);
  assert.equal(peersOf(asker.request({ id: shared.id })).length, 50);
  assert.equal(peersOf(asker.request({ id: shared.id }, 10)).length, 10);
  const { peers, replyBytes, fit } = fullList(tracker, asker, shared, 255, 8);
  assert.ok(fit < 200);
  assert.equal(peers.length, fit);
  assert.ok(replyBytes <= MAX_DATAGRAM_BYTES);
  const unique = new Set(peers.map((peer) => peer.host));
  assert.equal(unique.size, fit);
});

Deno.test("handler PEER_LIST fits one datagram with IPv6 peers", () => {
  const tracker = new FakeTracker();
  const shared = file("v6.iso");
  for (let i = 0; i < 100; i++) {
    tracker.peer(`2001:db8::${(i + 1).toString(16)}`, 40_000, 7000).register([
      shared,
    ]);
  }
  const asker = tracker.peer(HOST_A);
  const { peers, replyBytes, fit } = fullList(tracker, asker, shared, 200, 20);
  assert.equal(peers.length, fit);
  assert.ok(replyBytes <= MAX_DATAGRAM_BYTES);
});

Deno.test("handler PEER_LIST comes in random order", () => {
  const tracker = new FakeTracker();
  const shared = file("shuffled");
  for (let i = 0; i < 30; i++) {
    tracker.peer(`10.0.0.${i + 1}`).register([shared]);
  }
  const asker = tracker.peer(HOST_A);
  const orders = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const peers = peersOf(asker.request({ id: shared.id }));
    assert.equal(peers.length, 30);
    orders.add(peers.map((peer) => peer.host).join(","));
  }
  // 30! orders: five identical draws would mean no shuffling at all.
  assert.ok(orders.size > 1);
});

Deno.test("handler maps an IPv4-mapped IPv6 source to its IPv4 address", () => {
  const tracker = new FakeTracker();
  const shared = file("mapped");
  tracker.peer("::ffff:192.0.2.9", 40_000, 7009).register([shared]);
  const peers = peersOf(tracker.peer(HOST_A).request({ id: shared.id }));
  assert.deepEqual(peers, [{ host: "192.0.2.9", port: 7009, complete: true }]);
});

Deno.test("handler answers GET_COUNT with CHUNK_COUNT or UNKNOWN_FILE", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  const big = file("big", { size: 3_000_000, chunkCount: 6 });
  peer.register([big]);
  const reply = peer.getCount(big.id);
  assert.equal(reply?.kind, "chunk_count");
  if (reply?.kind === "chunk_count") {
    assert.equal(reply.chunkCount, 6);
    assert.equal(reply.size, 3_000_000);
    assert.equal(toHex(reply.fileId), toHex(big.id));
  }
  assertError(peer.getCount(new Uint8Array(32)), ErrorCode.UNKNOWN_FILE);
});

Deno.test("handler BECOME_SEEDER marks the file complete, or answers UNKNOWN_PEER", () => {
  const tracker = new FakeTracker();
  const partial = file("partial", { complete: false });
  const peer = tracker.peer(HOST_A);
  assertError(peer.becomeSeeder(partial), ErrorCode.UNKNOWN_PEER);
  peer.register([partial]);
  assert.equal(peer.becomeSeeder({ ...partial, complete: false })?.kind, "ack");
  const listed = tracker.peer(HOST_B).list("partial");
  assert.equal(listed?.kind === "file_list" && listed.files[0]?.seeders, 1);
  const peers = peersOf(tracker.peer(HOST_B, 1).request({ id: partial.id }));
  assert.deepEqual(peers, [{ host: HOST_A, port: 7000, complete: true }]);

  // A file it did not register yet is added as complete.
  const extra = file("extra", { complete: false });
  assert.equal(peer.becomeSeeder(extra)?.kind, "ack");
  assert.equal(tracker.registry.stats.holdings, 2);
});

Deno.test("handler LEAVE answers ACK and forgets the peer and its lone files", () => {
  const tracker = new FakeTracker();
  const shared = file("shared");
  const lone = file("lone");
  const a = tracker.peer(HOST_A);
  const b = tracker.peer(HOST_B);
  a.register([shared, lone]);
  b.register([shared]);
  assert.equal(a.leave()?.kind, "ack");
  assertError(a.keepalive(), ErrorCode.UNKNOWN_PEER);
  assertError(b.request({ id: lone.id }), ErrorCode.UNKNOWN_FILE);
  assert.deepEqual(
    peersOf(tracker.peer("192.0.2.3").request({ id: shared.id })),
    [
      { host: HOST_B, port: 7000, complete: true },
    ],
  );
  // Leaving twice, or as a stranger, is still acknowledged.
  assert.equal(a.leave()?.kind, "ack");
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 1, holdings: 1 });
});

Deno.test("handler LEAVE with the wrong peer id leaves the record alone", () => {
  const tracker = new FakeTracker();
  const a = tracker.peer(HOST_A, 40_000, 7000);
  a.register([file("x")]);
  const impostor = tracker.peer(HOST_A, 40_001, 7000);
  assert.equal(impostor.leave()?.kind, "ack");
  assert.equal(a.keepalive()?.kind, "ack");
});

Deno.test("handler LIST matches a substring case-insensitively, sorted by name, with paging", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  peer.register([
    file("Holiday-2.jpg"),
    file("notes.txt"),
    file("holiday-1.JPG"),
    file("Zebra.jpg"),
  ]);
  const reply = peer.list("JPG");
  assert.equal(reply?.kind, "file_list");
  if (reply?.kind !== "file_list") return;
  assert.equal(reply.total, 3);
  // Code-unit order: upper case first.
  assert.deepEqual(reply.files.map((f) => f.name), [
    "Holiday-2.jpg",
    "Zebra.jpg",
    "holiday-1.JPG",
  ]);
  const page = peer.list("jpg", 2);
  assert.equal(page?.kind === "file_list" && page.total, 3);
  assert.deepEqual(
    page?.kind === "file_list" && page.files.map((f) => f.name),
    ["holiday-1.JPG"],
  );
  const all = peer.list("");
  assert.equal(all?.kind === "file_list" && all.total, 4);
  const none = peer.list("nothing");
  assert.deepEqual(
    none?.kind === "file_list" && [none.total, none.files.length],
    [0, 0],
  );
});

Deno.test("handler LIST pages through more files than one datagram holds", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  const names: string[] = [];
  for (let batch = 0; batch < 10; batch++) {
    const files = [];
    for (let i = 0; i < 10; i++) {
      const name = `file-${String(batch * 10 + i).padStart(3, "0")}-${
        "x".repeat(40)
      }`;
      names.push(name);
      files.push(file(name));
    }
    peer.register(files);
  }
  const seen: string[] = [];
  for (let round = 0; round < 20 && seen.length < names.length; round++) {
    const { reply, replyBytes } = tracker.exchange(
      { kind: "list", cookie: peer.cookie, query: "FILE", offset: seen.length },
      peer.source,
    );
    assert.equal(reply?.kind, "file_list");
    if (reply?.kind !== "file_list") return;
    assert.equal(reply.total, 100);
    assert.ok(reply.files.length > 0 && reply.files.length < 100);
    assert.ok(replyBytes <= MAX_DATAGRAM_BYTES);
    seen.push(...reply.files.map((f) => f.name));
  }
  assert.deepEqual(seen, names);
});

Deno.test("handler sweep drops peers silent longer than the TTL and their files", () => {
  const tracker = new FakeTracker({
    registry: { peerTtlMs: 30_000 },
    handler: { sweepIntervalMs: 1_000 },
  });
  const shared = file("shared");
  const quiet = tracker.peer(HOST_A);
  const chatty = tracker.peer(HOST_B);
  const lone = file("lone");
  quiet.register([shared, lone]);
  chatty.register([shared]);
  for (let i = 0; i < 4; i++) {
    tracker.nowMs += 10_000;
    assert.equal(chatty.keepalive()?.kind, "ack");
  }
  // 40 s later: the quiet peer is gone, the chatty one stays.
  const asker = tracker.peer("192.0.2.3");
  assertError(asker.request({ id: lone.id }), ErrorCode.UNKNOWN_FILE);
  assert.deepEqual(peersOf(asker.request({ id: shared.id })), [
    { host: HOST_B, port: 7000, complete: true },
  ]);
  assertError(quiet.keepalive(), ErrorCode.UNKNOWN_PEER);
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 1, holdings: 1 });

  tracker.nowMs += 31_000;
  tracker.cookie(asker.source); // any datagram triggers the sweep
  assert.deepEqual(tracker.registry.stats, { peers: 0, files: 0, holdings: 0 });
});

Deno.test("handler answers REGISTER over the per-IP peer cap with BUSY", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxPeersPerIp: 2 } },
  });
  assert.equal(tracker.peer(HOST_A, 1, 7001).register([])?.kind, "ack");
  assert.equal(tracker.peer(HOST_A, 2, 7002).register([])?.kind, "ack");
  assertError(tracker.peer(HOST_A, 3, 7003).register([]), ErrorCode.BUSY);
  assert.equal(tracker.peer(HOST_B, 3, 7003).register([])?.kind, "ack");
});

Deno.test("handler answers REGISTER over the per-peer file cap with BUSY and changes nothing", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxFilesPerPeer: 3 } },
  });
  const peer = tracker.peer(HOST_A);
  assert.equal(peer.register([file("a"), file("b")])?.kind, "ack");
  assertError(peer.register([file("c"), file("d")]), ErrorCode.BUSY);
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 2, holdings: 2 });
  assert.equal(peer.register([file("c")])?.kind, "ack");
});

Deno.test("handler answers REGISTER over the file cap or per-file peer cap with BUSY", () => {
  const tracker = new FakeTracker({
    registry: { limits: { maxFiles: 2, maxPeersPerFile: 1 } },
  });
  const a = file("a");
  const first = tracker.peer(HOST_A);
  assert.equal(first.register([a, file("b")])?.kind, "ack");
  assertError(first.register([file("c")]), ErrorCode.BUSY);
  assertError(tracker.peer(HOST_B).register([a]), ErrorCode.BUSY);
  assertError(tracker.peer(HOST_B).becomeSeeder(a), ErrorCode.UNKNOWN_PEER);
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 2, holdings: 2 });
});

Deno.test("handler drops malformed datagrams without throwing and counts them", () => {
  const tracker = new FakeTracker();
  const source = { hostname: HOST_A, port: 9 };
  const valid = createMessage({ kind: "connect", txid: 1 });
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([1, 2, 3]),
    valid.subarray(0, valid.byteLength - 1),
    new Uint8Array([...valid, 0]),
    new Uint8Array(MAX_DATAGRAM_BYTES + 1),
    Uint8Array.from(valid, (byte, i) => (i === 0 ? 0 : byte)),
  ];
  for (const bytes of bad) assert.equal(tracker.raw(bytes, source), null);
  assert.equal(tracker.handler.stats.malformed, bad.length);
  assert.equal(tracker.handler.stats.replies, 0);
});

Deno.test("handler drops REGISTER datagrams with a bad field in any file, and accepts the same datagram intact", () => {
  const tracker = new FakeTracker();
  const peer = tracker.peer(HOST_A);
  const register = (files: ReturnType<typeof file>[]) =>
    createMessage({
      kind: "register",
      txid: 7,
      cookie: peer.cookie,
      peerId: new Uint8Array(16).fill(3),
      port: 7000,
      files,
    });
  const good = register([file("one.bin"), file("two.bin")]);
  const second = good.byteLength - (32 + 8 + 4 + 1 + 1 + "two.bin".length);
  const mutations: Array<(bytes: Uint8Array) => void> = [
    (bytes) => (bytes[second + 32] = 0xff), // size above the limit
    (bytes) => (bytes[second + 40] = 0xff), // chunk count above the limit
    (bytes) => (bytes[second + 46] = "/".charCodeAt(0)), // forbidden character
    (bytes) => (bytes[second + 46] = 0xff), // not UTF-8
    (bytes) => (bytes[14 + 8 + 16 + 2] = 3), // one file more than present
    (bytes) => (bytes[14 + 8 + 16 + 2] = 1), // one file less than present
  ];
  for (const mutate of mutations) {
    const bytes = good.slice();
    mutate(bytes);
    assert.equal(tracker.raw(bytes, peer.source), null);
  }
  assert.equal(tracker.handler.stats.malformed, mutations.length);
  assert.deepEqual(tracker.registry.stats, { peers: 0, files: 0, holdings: 0 });
  assert.equal(parseMessage(tracker.raw(good, peer.source)!).kind, "ack");
  assert.deepEqual(tracker.registry.stats, { peers: 1, files: 2, holdings: 2 });
});

Deno.test("handler drops peer-to-peer and answer messages", () => {
  const tracker = new FakeTracker();
  const source = { hostname: HOST_A, port: 9 };
  const others: Message[] = [
    { kind: "get", txid: 1, index: 0 },
    { kind: "ack", txid: 1, intervalSeconds: 5 },
    { kind: "choke", txid: 1 },
    { kind: "cookie", txid: 1, cookie: 5n },
  ];
  for (const message of others) {
    assert.equal(tracker.raw(createMessage(message), source), null);
  }
  assert.equal(tracker.handler.stats.ignored, others.length);
});

Deno.test("handler never throws on random or mutated datagrams", () => {
  const tracker = new FakeTracker();
  const source = { hostname: HOST_A, port: 9 };
  const peer = tracker.peer(HOST_A, 9);
  const seeds = [
    createMessage({ kind: "connect", txid: 1 }),
    createMessage({
      kind: "register",
      txid: 2,
      cookie: peer.cookie,
      peerId: peer.peerId,
      port: 7000,
      files: [file("a"), file("b")],
    }),
    createMessage({
      kind: "list",
      txid: 3,
      cookie: peer.cookie,
      offset: 0,
      query: "a",
    }),
  ];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      tracker.raw(bytes, source);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      (seed, edits) => {
        const bytes = seed.slice();
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        const reply = tracker.raw(bytes, source);
        if (reply) assert.ok(reply.byteLength <= MAX_DATAGRAM_BYTES);
      },
    ),
    { numRuns: 1_000 },
  );
});

Deno.test("handler drops datagrams over the per-IP rate limit", () => {
  const tracker = new FakeTracker({
    handler: { rateLimit: { ratePerSecond: 1, burst: 3 } },
  });
  const source = { hostname: HOST_A, port: 9 };
  const connect = { kind: "connect" } as const;
  for (let i = 0; i < 3; i++) {
    assert.notEqual(tracker.send(connect, source), null);
  }
  assert.equal(tracker.send(connect, source), null);
  assert.notEqual(tracker.send(connect, { hostname: HOST_B, port: 9 }), null);
  tracker.nowMs += 1_000;
  assert.notEqual(tracker.send(connect, source), null);
  assert.equal(tracker.handler.stats.rateLimited, 1);
});

Deno.test("handler charges a LIST by the files it scans, not by the datagram", () => {
  const tracker = new FakeTracker({ handler: { rateLimit: {} } });
  // 20,000 files from 20 addresses (1,000 each, the per-address share).
  for (let host = 0; host < 20; host++) {
    for (let batch = 0; batch < 40; batch++) {
      const files = Array.from(
        { length: 25 },
        (_, i) => file(`file-${host}-${batch}-${i}.bin`),
      );
      tracker.registry.register(
        {
          host: `198.51.100.${host}`,
          port: 7000 + batch,
          peerId: new Uint8Array(16).fill(batch),
        },
        files,
        tracker.nowMs,
      );
    }
  }
  assert.equal(tracker.registry.stats.files, 20_000);
  const attacker = tracker.peer(HOST_A);
  let answered = 0;
  const before = tracker.registry.work;
  // 100 searches that match nothing, each a scan of every file.
  for (let i = 0; i < 100; i++) {
    if (attacker.list(`nothing-${i}`)?.kind === "file_list") answered++;
  }
  // 20,000 files cost 80 tokens: a burst of 400 pays for 5 scans.
  assert.ok(answered <= 6, `${answered} scans answered`);
  assert.ok(tracker.registry.work - before <= 6 * 20_000);
  // Another address is served as usual.
  const honest = tracker.peer(HOST_B);
  const page = honest.list("");
  assert.equal(page?.kind, "file_list");
  if (page?.kind === "file_list") assert.equal(page.total, 20_000);
  // Listing without a query costs the page, not the table: never charged.
  let pages = 0;
  for (let i = 0; i < 300; i++) {
    if (honest.list("", i * 20)?.kind === "file_list") pages++;
  }
  assert.equal(pages, 300);
  // A query asked again before any file changes is answered from the
  // first scan's matches.
  const again = tracker.peer("192.0.2.3");
  const work = tracker.registry.work;
  for (let i = 0; i < 50; i++) {
    assert.equal(again.list("file-3-", i * 20)?.kind, "file_list");
  }
  assert.ok(tracker.registry.work - work < 20_000 + 50 * 30);
});

Deno.test("handler answers REQUEST by id prefix: PEER_LIST for one match, CANDIDATES for several, UNKNOWN_FILE for none", () => {
  const tracker = new FakeTracker();
  const seeder = tracker.peer(HOST_A);
  const one = file("one.bin");
  one.id.fill(0x12);
  const two = file("two.bin");
  two.id.fill(0x12);
  // Within the first 20 bytes: ids that share those are one swarm.
  two.id[19] = 0x34;
  const other = file("other.bin");
  other.id.fill(0x56);
  seeder.register([one, two, other]);
  const leecher = tracker.peer(HOST_B);

  const single = leecher.request({ idPrefix: "5656565656" });
  assert.equal(single?.kind, "peer_list");
  if (single?.kind === "peer_list") {
    assert.equal(toHex(single.fileId), toHex(other.id));
  }
  const several = leecher.request({ idPrefix: "12121212" });
  assert.equal(several?.kind, "candidates");
  if (several?.kind === "candidates") {
    assert.deepEqual(
      several.files.map((entry) => entry.name).sort(),
      ["one.bin", "two.bin"],
    );
  }
  // 63 digits: the odd last digit counts.
  const exact = leecher.request({ idPrefix: toHex(two.id).slice(0, 63) });
  assert.equal(exact?.kind, "peer_list");
  assertError(
    leecher.request({ idPrefix: "abcdef01" }),
    ErrorCode.UNKNOWN_FILE,
  );
});
