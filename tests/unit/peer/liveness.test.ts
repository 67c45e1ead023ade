import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Candidate,
  CHOKED_DROP_MS,
  connectOrder,
  dropReason,
  type LinkView,
  ProgressClock,
  USELESS_DROP_MS,
} from "../../../peer/download/liveness.ts";

const link = (over: Partial<LinkView> = {}): LinkView => ({
  ready: true,
  useful: 5,
  uselessSinceMs: null,
  inflight: 0,
  choked: false,
  lastChunkMs: 0,
  ...over,
});
const waiting = { stallMs: 15_000, othersWaiting: true };
const alone = { stallMs: 15_000, othersWaiting: false };

Deno.test("a peer with nothing we need gives its place up within seconds, if another waits", () => {
  const useless = link({ useful: 0, uselessSinceMs: 1_000 });
  assert.equal(dropReason(useless, 1_000 + USELESS_DROP_MS - 1, waiting), null);
  assert.equal(
    dropReason(useless, 1_000 + USELESS_DROP_MS, waiting),
    "it has nothing we need",
  );
  // Nobody waits: it stays (its HAVEs make it useful at once); the give-up
  // clock, not the socket, decides when to stop.
  assert.equal(dropReason(useless, 1_000_000, alone), null);
});

Deno.test("a peer with requests out and no chunk is dropped after the stall timeout, waiting or not", () => {
  const stalled = link({ inflight: 3, lastChunkMs: 2_000 });
  assert.equal(dropReason(stalled, 17_000, alone), null);
  assert.equal(dropReason(stalled, 17_001, alone), "no chunk for 15 s");
  assert.equal(dropReason(stalled, 17_001, waiting), "no chunk for 15 s");
});

Deno.test("a peer that keeps us choked gives its place up to a waiting one", () => {
  const choking = link({ choked: true, lastChunkMs: 0 });
  assert.equal(dropReason(choking, CHOKED_DROP_MS - 1, waiting), null);
  assert.match(dropReason(choking, CHOKED_DROP_MS, waiting)!, /choked/);
  assert.equal(dropReason(choking, CHOKED_DROP_MS * 10, alone), null);
});

Deno.test("a connection still shaking hands, or one that helps, is kept", () => {
  assert.equal(
    dropReason(link({ ready: false, inflight: 9 }), 1e9, waiting),
    null,
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000 }),
      fc.integer({ min: 0, max: 16 }),
      fc.integer({ min: 0, max: 14_999 }),
      (useful, inflight, sinceChunk) =>
        dropReason(
          link({ useful, inflight, lastChunkMs: 0 }),
          sinceChunk,
          waiting,
        ) === null,
    ),
  );
});

Deno.test("peers are tried least-failed first, then the one that helped last, never banned or backing off", () => {
  const peers = new Map<string, Candidate>([
    ["failed2", { banned: false, failures: 2, retryAtMs: 0, lastGoodMs: 0 }],
    ["fresh1", { banned: false, failures: 0, retryAtMs: 0, lastGoodMs: 0 }],
    ["banned", { banned: true, failures: 0, retryAtMs: 0, lastGoodMs: 0 }],
    ["later", { banned: false, failures: 0, retryAtMs: 5_000, lastGoodMs: 0 }],
    ["good", { banned: false, failures: 0, retryAtMs: 0, lastGoodMs: 900 }],
    ["failed1", { banned: false, failures: 1, retryAtMs: 0, lastGoodMs: 0 }],
    ["fresh2", { banned: false, failures: 0, retryAtMs: 0, lastGoodMs: 0 }],
  ]);
  assert.deepEqual(connectOrder(peers, 1_000), [
    "good",
    "fresh1",
    "fresh2",
    "failed1",
    "failed2",
  ]);
  assert.deepEqual(connectOrder(peers, 1_000, new Set(["good", "fresh1"])), [
    "fresh2",
    "failed1",
    "failed2",
  ]);
  assert.ok(connectOrder(peers, 5_000).includes("later"));
});

Deno.test("the give-up clock counts progress only", () => {
  const clock = new ProgressClock(5_000, 100);
  assert.equal(clock.expired(5_099), false);
  assert.equal(clock.expired(5_100), true);
  clock.progress(4_000);
  assert.equal(clock.leftMs(4_000), 5_000);
  assert.equal(clock.expired(8_999), false);
  assert.equal(clock.expired(9_000), true);
  // A late report of older progress never winds the clock back.
  clock.progress(1_000);
  assert.equal(clock.leftMs(4_000), 5_000);
  assert.equal(clock.limitMs, 5_000);
});

Deno.test("connectOrder() tries peers whose bitfield held chunks first and empty ones last", () => {
  const peer = (holdsChunks?: boolean) => ({
    banned: false,
    failures: 0,
    retryAtMs: 0,
    lastGoodMs: 0,
    ...(holdsChunks === undefined ? {} : { holdsChunks }),
  });
  const peers = new Map([
    ["empty", peer(false)],
    ["unseen", peer()],
    ["seeder", peer(true)],
  ]);
  assert.deepEqual(connectOrder(peers, 0), ["seeder", "unseen", "empty"]);
});
