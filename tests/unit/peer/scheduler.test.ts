import assert from "node:assert/strict";
import { Bitfield } from "@shoal/protocol";
import { ProgressClock } from "../../../peer/download/liveness.ts";
import { PeerBook } from "../../../peer/download/peer_book.ts";
import {
  Scheduler,
  type SchedulerAction,
  type SchedulerOptions,
  SLOW_HANDSHAKE_MS,
} from "../../../peer/download/scheduler.ts";

const CHUNK = 1024 * 1024;

/** A scheduler over `chunkCount` chunks, the last `held` already held, a fake clock. */
function setup(
  options: {
    chunkCount: number;
    held?: number;
    peers?: number;
  } & Partial<SchedulerOptions>,
) {
  const clock = { ms: 1_000 };
  const have = new Bitfield(options.chunkCount);
  for (
    let i = options.chunkCount - (options.held ?? 0);
    i < options.chunkCount;
    i++
  ) {
    have.set(i);
  }
  const book = new PeerBook();
  book.add(
    Array.from(
      { length: options.peers ?? 1 },
      (_, k) => ({ host: "127.0.0.1", port: 7000 + k }),
    ),
  );
  // The tracker was just asked: ticks do not ask again unless a test says so.
  book.asked(clock.ms);
  const scheduler = new Scheduler({
    manifest: {
      chunkCount: options.chunkCount,
      chunkSize: CHUNK,
      size: options.chunkCount * CHUNK,
    },
    have,
    book,
    clock: new ProgressClock(60_000, clock.ms),
    workers: 1,
    now: () => clock.ms,
    random: () => 0,
    ...options,
  });
  return { scheduler, book, clock };
}

/** A peer's bitfield bytes holding `indices`. */
function bits(size: number, indices: number[]): Uint8Array {
  const field = new Bitfield(size);
  for (const i of indices) field.set(i);
  return field.toBytes();
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

function only<T extends SchedulerAction["type"]>(
  actions: SchedulerAction[],
  type: T,
): Extract<SchedulerAction, { type: T }>[] {
  return actions.filter((a): a is Extract<SchedulerAction, { type: T }> =>
    a.type === type
  );
}

/** The connections the scheduler opens once the tracker has answered. */
function connectKnown(scheduler: Scheduler): number[] {
  return only(scheduler.handle({ type: "peers_known" }), "connect").map((c) =>
    c.connId
  );
}

/** What the scheduler does once `connId` is connected with `bitfield`. */
function connect(scheduler: Scheduler, connId: number, bitfield: Uint8Array) {
  return scheduler.handle({ type: "connected", connId, bitfield });
}

/** The chunks the scheduler first asks of `connId` once it is connected. */
function asked(scheduler: Scheduler, connId: number, bitfield: Uint8Array) {
  return only(connect(scheduler, connId, bitfield), "get")[0]?.indices;
}

/** A scheduler over `chunkCount` chunks, the last 4 held, and two connections to peers holding all. */
function twoPeers(chunkCount: number, pipelineDepth: number) {
  const { scheduler } = setup({ chunkCount, held: 4, peers: 2, pipelineDepth });
  const [a, b] = connectKnown(scheduler) as [number, number];
  return { scheduler, a, b, all: bits(chunkCount, range(0, chunkCount)) };
}

/** What the scheduler does once `connId` has sent the chunks `indices`. */
function received(scheduler: Scheduler, connId: number, indices: number[]) {
  return scheduler.handle({ type: "received", connId, indices });
}

Deno.test("Scheduler connects to known peers and asks each ready one for the rarest chunk it holds", () => {
  const { scheduler } = setup({
    chunkCount: 12,
    held: 4,
    peers: 3,
    maxPeers: 3,
    pipelineDepth: 1,
  });
  const connects = only(scheduler.handle({ type: "peers_known" }), "connect");
  assert.deepEqual(connects.map((c) => c.port), [7000, 7001, 7002]);
  const [a, b, c] = connects.map((x) => x.connId) as [number, number, number];
  // B holds 0..5; alone, nothing is rare: file order.
  const first = only(
    connect(scheduler, b!, bits(12, range(0, 6))),
    "get",
  );
  assert.deepEqual(first, [{ type: "get", connId: b, indices: [0] }]);
  // C also holds 7, which only it has: rarest first.
  const second = only(
    connect(scheduler, c!, bits(12, [...range(0, 6), 7])),
    "get",
  );
  assert.deepEqual(second, [{ type: "get", connId: c, indices: [7] }]);
  // A holds 6, which only it has.
  const third = only(
    connect(scheduler, a!, bits(12, range(0, 7))),
    "get",
  );
  assert.deepEqual(third, [{ type: "get", connId: a, indices: [6] }]);
});

Deno.test("Scheduler doubles up on the last chunk in the endgame and cancels the loser's request", () => {
  const { scheduler, a, b, all } = twoPeers(6, 1);
  assert.deepEqual(asked(scheduler, a, all), [0]);
  assert.deepEqual(asked(scheduler, b, all), [1]);
  // A is done first: chunk 1, still out at B, is asked of A too.
  const afterA = received(scheduler, a, [0]);
  assert.deepEqual(only(afterA, "gained"), [{
    type: "gained",
    index: 0,
    bytes: CHUNK,
    peer: "127.0.0.1:7000",
  }]);
  assert.deepEqual(only(afterA, "get"), [{
    type: "get",
    connId: a,
    indices: [1],
  }]);
  // B answers first: A's duplicate is cancelled and the download is complete.
  const afterB = received(scheduler, b, [1]);
  assert.deepEqual(only(afterB, "cancel"), [{
    type: "cancel",
    connId: a,
    index: 1,
  }]);
  assert.deepEqual(afterB.at(-1), { type: "complete" });
  assert.equal(scheduler.complete, true);
  // A's late answer changes nothing.
  assert.deepEqual(
    received(scheduler, a, [1]),
    [],
  );
});

Deno.test("Scheduler never doubles a chunk onto a second connection to the same peer in the endgame", () => {
  // One seeder, two workers: two connections to it, as a real leecher opens.
  const { scheduler } = setup({
    chunkCount: 6,
    held: 4,
    peers: 1,
    workers: 2,
    pipelineDepth: 1,
  });
  const [a, b] = connectKnown(scheduler) as [number, number];
  assert.notEqual(a, b);
  const all = bits(6, range(0, 6));
  assert.deepEqual(asked(scheduler, a, all), [0]);
  assert.deepEqual(asked(scheduler, b, all), [1]);
  // A is done first; chunk 1 is still out at B, which is the same peer:
  // asking A for it too would only make that peer send it twice.
  const afterA = received(scheduler, a, [0]);
  assert.deepEqual(only(afterA, "get"), []);
  const afterB = received(scheduler, b, [1]);
  assert.deepEqual(only(afterB, "cancel"), []);
  assert.deepEqual(afterB.at(-1), { type: "complete" });
});

Deno.test("Scheduler drops a connection that sends no chunk for the stall timeout", () => {
  const { scheduler, clock } = setup({
    chunkCount: 8,
    held: 4,
    stallTimeoutMs: 15_000,
  });
  const [a] = connectKnown(scheduler);
  connect(scheduler, a!, bits(8, range(0, 8)));
  clock.ms += 15_000;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "disconnect"), []);
  clock.ms += 1;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "disconnect"), [
    { type: "disconnect", connId: a, reason: "no chunk for 15 s" },
  ]);
  // Its chunks go back to the pool once it is closed; a new connection is opened.
  const closed = scheduler.handle({
    type: "closed",
    connId: a!,
    misbehaved: false,
  });
  assert.deepEqual(only(closed, "connect"), []); // the peer backs off first
  clock.ms += 3_000;
  const [b] = connectKnown(scheduler);
  const gets = only(
    connect(scheduler, b!, bits(8, range(0, 8))),
    "get",
  );
  assert.deepEqual(gets.flatMap((g) => g.indices).sort(), [0, 1, 2, 3]);
});

Deno.test("Scheduler opens more connections while some are slow to shake hands, up to twice maxPeers", () => {
  const { scheduler, clock, book } = setup({
    chunkCount: 8,
    held: 4,
    peers: 12,
    maxPeers: 4,
  });
  const first = connectKnown(scheduler);
  assert.equal(first.length, 4);
  // Two answer at once; two stay silent (listeners that never answer).
  connect(scheduler, first[0]!, bits(8, range(0, 8)));
  connect(scheduler, first[1]!, bits(8, range(0, 8)));
  // Under SLOW_HANDSHAKE_MS, the silent ones still hold their slots.
  clock.ms += SLOW_HANDSHAKE_MS - 1;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "connect"), []);
  // Past it, two more are opened in their place.
  clock.ms += 1;
  const second = only(scheduler.handle({ type: "tick" }), "connect");
  assert.equal(second.length, 2);
  // Those are slow too: two more, and then no more than 2 * maxPeers in all
  // (the tracker was just asked again: ticks open connections meanwhile).
  clock.ms += SLOW_HANDSHAKE_MS;
  book.asked(clock.ms);
  const third = only(scheduler.handle({ type: "tick" }), "connect");
  assert.equal(third.length, 2);
  clock.ms += SLOW_HANDSHAKE_MS;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "connect"), []);
});

Deno.test("Scheduler drops a peer with nothing we need only while another peer waits", () => {
  for (const peers of [1, 2]) {
    const { scheduler, clock } = setup({
      chunkCount: 8,
      held: 4,
      peers,
      maxPeers: 1,
    });
    const [a] = connectKnown(scheduler);
    const connected = connect(scheduler, a!, bits(8, [5]));
    assert.deepEqual(only(connected, "interest"), [{
      type: "interest",
      connId: a,
      interested: false,
    }]);
    clock.ms += 3_000;
    const dropped = only(scheduler.handle({ type: "tick" }), "disconnect");
    assert.deepEqual(
      dropped,
      peers === 2
        ? [{ type: "disconnect", connId: a, reason: "it has nothing we need" }]
        : [],
      `${peers} known peers`,
    );
  }
});

Deno.test("Scheduler says NOT_INTERESTED only once a peer has had nothing for us for a second", () => {
  const { scheduler, clock } = setup({
    chunkCount: 8,
    held: 4,
    peers: 2,
    pipelineDepth: 4,
  });
  const [a, b] = connectKnown(scheduler) as [number, number];
  // B holds only chunk 0, which A is asked for first.
  connect(scheduler, a!, bits(8, range(0, 8)));
  const bConnected = connect(scheduler, b!, bits(8, [0]));
  assert.deepEqual(only(bConnected, "interest"), [{
    type: "interest",
    connId: b,
    interested: true,
  }]);
  const gained = received(scheduler, a, [0]);
  assert.deepEqual(only(gained, "interest"), []);
  clock.ms += 999;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "interest"), []);
  clock.ms += 1;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "interest"), [
    { type: "interest", connId: b, interested: false },
  ]);
});

Deno.test("Scheduler bans a peer that sends a bad chunk and drops all its connections", () => {
  // Two workers, one peer: it gets two connections.
  const { scheduler, book } = setup({ chunkCount: 8, held: 4, workers: 2 });
  const connects = only(scheduler.handle({ type: "peers_known" }), "connect");
  assert.equal(connects.length, 2);
  const [a, b] = connects.map((c) => c.connId) as [number, number];
  connect(scheduler, a!, bits(8, range(0, 8)));
  connect(scheduler, b!, bits(8, range(0, 8)));
  assert.deepEqual(
    only(scheduler.handle({ type: "bad_chunk", connId: a }), "disconnect"),
    [
      {
        type: "disconnect",
        connId: b,
        reason: "the peer sent bad data on another connection",
      },
    ],
  );
  assert.equal(book.get("127.0.0.1:7000")?.banned, true);
  const closed = scheduler.handle({
    type: "closed",
    connId: a,
    misbehaved: true,
  });
  assert.deepEqual(only(closed, "connect"), []);
  assert.equal(scheduler.peersDropped, 1);
});

Deno.test("Scheduler gives a chunk the peer is too busy to send to another peer, and asks a choked peer nothing", () => {
  const { scheduler, a, b, all } = twoPeers(8, 2);
  assert.deepEqual(asked(scheduler, a, all), [0, 1]);
  assert.deepEqual(asked(scheduler, b, all), [2, 3]);
  scheduler.handle({ type: "busy", connId: a, index: 0 });
  // B finishes its chunks and is given chunk 0, which A gave back.
  const afterB = only(
    received(scheduler, b, [2, 3]),
    "get",
  );
  assert.ok(
    afterB.some((g) => g.connId === b && g.indices.includes(0)),
    JSON.stringify(afterB),
  );
  // A is choked: nothing for it, even after its last chunk arrives.
  assert.deepEqual(
    only(
      received(scheduler, a, [1]),
      "get",
    ),
    [],
  );
});

Deno.test("Scheduler holds GETs back under the download limit and sends them once the bucket refills", () => {
  // 1 MiB/s, bursts of 1 MiB: one chunk now, the next a second later.
  const { scheduler, clock } = setup({
    chunkCount: 8,
    held: 4,
    limit: CHUNK,
    pipelineDepth: 4,
  });
  const [a] = connectKnown(scheduler);
  const connected = connect(scheduler, a!, bits(8, range(0, 8)));
  assert.deepEqual(only(connected, "get"), [{
    type: "get",
    connId: a,
    indices: [0],
  }]);
  assert.deepEqual(only(connected, "wake"), [{ type: "wake", afterMs: 1_000 }]);
  clock.ms += 500;
  assert.deepEqual(only(scheduler.handle({ type: "wake" }), "get"), []);
  clock.ms += 500;
  assert.deepEqual(only(scheduler.handle({ type: "wake" }), "get"), [{
    type: "get",
    connId: a,
    indices: [1],
  }]);
});

Deno.test("Scheduler follows a download limit changed while it runs", () => {
  let limit: number | null = CHUNK;
  const { scheduler } = setup({
    chunkCount: 8,
    held: 4,
    limit,
    readLimit: () => limit,
    pipelineDepth: 4,
  });
  const [a] = connectKnown(scheduler);
  limit = null;
  const gets = only(
    connect(scheduler, a!, bits(8, range(0, 8))),
    "get",
  );
  assert.deepEqual(gets, [{ type: "get", connId: a, indices: [0, 1, 2, 3] }]);
});

Deno.test("Scheduler gives up once nothing was gained for the whole patience", () => {
  const { scheduler, clock } = setup({ chunkCount: 8, held: 4 });
  const [a] = connectKnown(scheduler);
  connect(scheduler, a!, bits(8, range(0, 8)));
  clock.ms += 30_000;
  received(scheduler, a!, [0]);
  clock.ms += 59_999;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "give_up"), []);
  clock.ms += 1;
  assert.deepEqual(only(scheduler.handle({ type: "tick" }), "give_up"), [{
    type: "give_up",
    ready: 1,
  }]);
});

Deno.test("Scheduler.peerList() names each peer's program and protocol, and a name told after the handshake replaces the first", () => {
  const { scheduler } = setup({ chunkCount: 8, peers: 2, pipelineDepth: 1 });
  const [a, b] = connectKnown(scheduler) as [number, number];
  const all = bits(8, range(0, 8));
  connect(scheduler, a, all);
  scheduler.handle({
    type: "connected",
    connId: b,
    bitfield: all,
    client: "libtorrent 2.0.8",
    dialect: "bittorrent",
  });
  const list = () =>
    scheduler.peerList().map((p) => [p.address, p.client, p.dialect]);
  assert.deepEqual(list(), [
    ["127.0.0.1:7000", "Shoal", "shoal"],
    ["127.0.0.1:7001", "libtorrent 2.0.8", "bittorrent"],
  ]);
  scheduler.handle({ type: "client", connId: b, client: "libtorrent/2.0.8.0" });
  assert.deepEqual(list()[1], [
    "127.0.0.1:7001",
    "libtorrent/2.0.8.0",
    "bittorrent",
  ]);
});

/** The most GETs a fast peer has in flight, over 150 chunks it sends 1 ms apart. */
function mostInFlight(lengthOf?: (index: number) => number): number {
  const { scheduler, clock } = setup({
    chunkCount: 400,
    manifest: {
      chunkCount: 400,
      chunkSize: CHUNK,
      size: 400 * CHUNK,
      ...(lengthOf ? { lengthOf } : {}),
    },
  });
  const [connId] = connectKnown(scheduler);
  const out = new Set(asked(scheduler, connId!, bits(400, range(0, 400))));
  let most = out.size;
  for (let i = 0; i < 150 && out.size > 0; i++) {
    clock.ms += 1;
    const index = out.values().next().value!;
    out.delete(index);
    const actions = scheduler.handle({
      type: "received",
      connId: connId!,
      indices: [index],
    });
    for (const get of only(actions, "get")) {
      for (const k of get.indices) out.add(k);
    }
    most = Math.max(most, out.size);
  }
  return most;
}

Deno.test("a folder's chunks far smaller than a piece get a deeper pipeline (within what a seeder queues); a file's stays as it was", () => {
  const small = mostInFlight(() => 4096);
  assert.ok(small > 16 && small <= 48, `${small}`);
  assert.ok(mostInFlight() <= 16);
});
