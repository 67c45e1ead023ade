import assert from "node:assert/strict";
import type { ListedPeer, PeerAddress, RequestQuery } from "@shoal/protocol";
import {
  type DhtSource,
  MultiFinder,
  type TrackerSource,
} from "../../../peer/discovery/multi_finder.ts";
import {
  type RequestResult,
  TrackerError,
} from "../../../peer/tracker_client.ts";

const ID = new Uint8Array(32).fill(7);
const OTHER_ID = new Uint8Array(32).fill(8);

function peer(port: number, host = "10.0.0.1"): ListedPeer {
  return { host, port, complete: true };
}

function peers(fileId: Uint8Array, list: ListedPeer[]): RequestResult {
  return {
    kind: "peers",
    fileId,
    name: "a.bin",
    size: 10,
    chunkCount: 1,
    peers: list,
  };
}

/** A tracker whose answers the test hands out when it wants. */
class FakeTracker implements TrackerSource {
  readonly address: string;
  calls = 0;
  #pending: PromiseWithResolvers<RequestResult>[] = [];

  constructor(address: string) {
    this.address = address;
  }

  request(_query: RequestQuery): Promise<RequestResult> {
    this.calls++;
    const pending = Promise.withResolvers<RequestResult>();
    this.#pending.push(pending);
    return pending.promise;
  }

  answer(result: RequestResult): void {
    this.#pending.shift()!.resolve(result);
  }

  fail(error = new TrackerError("unreachable", `${this.address} is down`)) {
    this.#pending.shift()!.reject(error);
  }
}

/** A DHT whose peers and end the test hands out. */
class FakeDht implements DhtSource {
  lookups = 0;
  #onPeers: ((peers: PeerAddress[]) => void) | null = null;
  #end: (() => void) | null = null;

  lookup(
    _fileId: Uint8Array,
    onPeers: (peers: PeerAddress[]) => void,
  ): Promise<void> {
    this.lookups++;
    this.#onPeers = onPeers;
    return new Promise((resolve) => (this.#end = resolve));
  }

  find(list: PeerAddress[]): void {
    this.#onPeers!(list);
  }

  end(): void {
    this.#end!();
  }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("MultiFinder answers with the first tracker that names peers, and hands on the others' new peers later", async () => {
  const a = new FakeTracker("a:1");
  const b = new FakeTracker("b:1");
  const late: ListedPeer[][] = [];
  const finder = new MultiFinder([a, b]);
  const asked = finder.request({ id: ID }, 0, {
    onPeers: (p) => late.push(p),
  });
  b.answer(peers(ID, [peer(1), peer(2)]));
  const result = await asked;
  assert.equal(result.kind, "peers");
  assert.deepEqual(
    result.kind === "peers" && result.peers.map((p) => p.port),
    [1, 2],
  );
  a.answer(peers(ID, [peer(2), peer(3)]));
  await turn();
  assert.deepEqual(late.map((list) => list.map((p) => p.port)), [[3]]);
});

Deno.test("MultiFinder goes on when a tracker is down, and fails only when every tracker is (no DHT)", async () => {
  const a = new FakeTracker("a:1");
  const b = new FakeTracker("b:1");
  const failures: string[] = [];
  const finder = new MultiFinder([a, b], {
    onTrackerFailure: (address) => failures.push(address),
  });
  const asked = finder.request({ id: ID });
  a.fail();
  b.answer(peers(ID, [peer(1)]));
  assert.equal((await asked).kind, "peers");
  assert.deepEqual(failures, ["a:1"]);

  const both = finder.request({ id: ID });
  a.fail();
  b.fail(new TrackerError("unreachable", "b is down"));
  await assert.rejects(both, (error: unknown) => {
    assert.ok(error instanceof TrackerError);
    assert.match(error.message, /a:1 is down/);
    return true;
  });
});

Deno.test("MultiFinder prefers an empty peer list, then candidates, then unknown", async () => {
  const a = new FakeTracker("a:1");
  const b = new FakeTracker("b:1");
  const finder = new MultiFinder([a, b]);
  const name = finder.request({ name: "a.bin" });
  a.answer({ kind: "unknown" });
  b.answer({ kind: "candidates", files: [] });
  assert.equal((await name).kind, "candidates");

  const empty = finder.request({ id: ID });
  a.answer(peers(ID, []));
  b.answer({ kind: "unknown" });
  const result = await empty;
  assert.ok(result.kind === "peers" && result.peers.length === 0);

  const unknown = finder.request({ id: ID });
  a.answer({ kind: "unknown" });
  b.fail();
  assert.equal((await unknown).kind, "unknown");
});

Deno.test("MultiFinder with no tracker answers from the DHT: its first peers, then the rest as they come, each once", async () => {
  const dht = new FakeDht();
  const late: number[][] = [];
  const finder = new MultiFinder([], { dht, dhtWaitMs: 60_000 });
  const asked = finder.request({ id: ID }, 0, {
    onPeers: (p) => late.push(p.map((x) => x.port)),
    selfPort: 9,
  });
  // Ourselves (our port on loopback) is not a peer.
  dht.find([{ host: "127.0.0.1", port: 9 }]);
  dht.find([{ host: "10.0.0.2", port: 5 }]);
  const result = await asked;
  assert.ok(result.kind === "peers");
  assert.deepEqual(result.fileId, ID);
  assert.deepEqual(result.peers, [{
    host: "10.0.0.2",
    port: 5,
    complete: false,
  }]);
  dht.find([{ host: "10.0.0.2", port: 5 }, { host: "10.0.0.3", port: 5 }]);
  dht.end();
  await turn();
  assert.deepEqual(late, [[5]]);
});

Deno.test("MultiFinder with the DHT on never calls an id unknown, and does not ask the DHT about names", async () => {
  const a = new FakeTracker("a:1");
  const dht = new FakeDht();
  const finder = new MultiFinder([a], { dht, dhtWaitMs: 60_000 });
  const byId = finder.request({ id: ID });
  a.answer({ kind: "unknown" });
  dht.end();
  const result = await byId;
  assert.ok(result.kind === "peers" && result.peers.length === 0);
  assert.deepEqual(result.kind === "peers" && result.fileId, ID);

  const byName = finder.request({ name: "a.bin" });
  a.answer({ kind: "unknown" });
  assert.equal((await byName).kind, "unknown");
  assert.equal(dht.lookups, 1);
});

Deno.test("MultiFinder waits for the DHT only a bounded time when the trackers have no peers", async () => {
  const a = new FakeTracker("a:1");
  const dht = new FakeDht();
  const finder = new MultiFinder([a], { dht, dhtWaitMs: 5 });
  const asked = finder.request({ id: ID });
  a.answer(peers(ID, []));
  const result = await asked;
  assert.ok(result.kind === "peers" && result.name === "a.bin");
  dht.end();
});

Deno.test("MultiFinder hands on at most maxPeers per request, and ignores late peers of another file", async () => {
  const a = new FakeTracker("a:1");
  const b = new FakeTracker("b:1");
  const late: ListedPeer[][] = [];
  const finder = new MultiFinder([a, b], { maxPeers: 3 });
  const asked = finder.request({ name: "a.bin" }, 0, {
    onPeers: (p) => late.push(p),
  });
  a.answer(peers(ID, [peer(1), peer(2)]));
  await asked;
  b.answer(peers(OTHER_ID, [peer(3)]));
  await turn();
  assert.equal(late.length, 0);
  const again = finder.request({ id: ID }, 0, {
    onPeers: (p) => late.push(p),
  });
  a.answer(peers(ID, [1, 2, 3, 4, 5].map((n) => peer(n))));
  const result = await again;
  assert.equal(result.kind === "peers" && result.peers.length, 3);
  b.answer(peers(ID, [peer(6)]));
  await turn();
  assert.equal(late.length, 0);
});

Deno.test("MultiFinder asks each tracker once for a query already in flight", async () => {
  const a = new FakeTracker("a:1");
  const finder = new MultiFinder([a]);
  const first = finder.request({ id: ID });
  const second = finder.request({ id: ID });
  assert.equal(a.calls, 1);
  a.answer(peers(ID, [peer(1)]));
  assert.equal((await first).kind, "peers");
  // The joined request gets the same answer (its own copy of the peers).
  const joined = await second;
  assert.ok(joined.kind === "peers" && joined.peers.length === 1);
  const third = finder.request({ id: ID });
  assert.equal(a.calls, 2);
  a.answer(peers(ID, []));
  await third;
});

Deno.test("MultiFinder with no tracker and no DHT says what to do", async () => {
  await assert.rejects(
    new MultiFinder([]).request({ id: ID }),
    /no tracker and the DHT is off/,
  );
  await assert.rejects(
    new MultiFinder([], { dht: new FakeDht() }).request({ name: "a" }),
    /by name without a tracker/,
  );
});
