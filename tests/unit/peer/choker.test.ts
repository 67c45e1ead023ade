import assert from "node:assert/strict";
import {
  type ChokerPeer,
  chooseUnchoked,
  OPTIMISTIC_EVERY_ROUNDS,
} from "../../../peer/swarm/choker.ts";

function peer(
  id: number,
  receivedBytes: number,
  interested = true,
): ChokerPeer {
  return { id, interested, requesting: true, receivedBytes, sentBytes: 0 };
}

Deno.test("chooseUnchoked() gives regular slots to the peers that gave us the most", () => {
  const peers = [
    peer(1, 10),
    peer(2, 500),
    peer(3, 300),
    peer(4, 0),
    peer(5, 200),
  ];
  const decision = chooseUnchoked(peers, {
    slots: 3,
    round: 1,
    random: () => 0,
  });
  assert.ok(decision.unchoked.has(2));
  assert.ok(decision.unchoked.has(3));
  assert.equal(decision.unchoked.size, 3);
  // The third slot is optimistic: one of the others.
  assert.ok(
    decision.optimistic !== null && [1, 4, 5].includes(decision.optimistic),
  );
});

Deno.test("chooseUnchoked() ignores peers that are not interested", () => {
  const peers = [peer(1, 1000, false), peer(2, 1)];
  const decision = chooseUnchoked(peers, {
    slots: 2,
    round: 0,
    random: () => 0,
  });
  assert.deepEqual([...decision.unchoked], [2]);
});

Deno.test("chooseUnchoked() keeps the optimistic peer between rotations, then rotates it", () => {
  const peers = [peer(1, 100), peer(2, 0), peer(3, 0), peer(4, 0)];
  const first = chooseUnchoked(peers, { slots: 2, round: 0, random: () => 0 });
  assert.equal(first.optimistic, 2);
  const kept = chooseUnchoked(peers, {
    slots: 2,
    round: 1,
    optimistic: first.optimistic,
    random: () => 0.99,
  });
  assert.equal(kept.optimistic, 2);
  const rotated = chooseUnchoked(peers, {
    slots: 2,
    round: OPTIMISTIC_EVERY_ROUNDS,
    optimistic: kept.optimistic,
    random: () => 0.99,
  });
  assert.equal(rotated.optimistic, 4);
});

Deno.test("chooseUnchoked() ranks by what we sent when nobody gives back (seeding)", () => {
  const peers: ChokerPeer[] = [
    {
      id: 1,
      interested: true,
      requesting: true,
      receivedBytes: 0,
      sentBytes: 5,
    },
    {
      id: 2,
      interested: true,
      requesting: true,
      receivedBytes: 0,
      sentBytes: 50,
    },
    {
      id: 3,
      interested: true,
      requesting: true,
      receivedBytes: 0,
      sentBytes: 1,
    },
  ];
  const decision = chooseUnchoked(peers, {
    slots: 2,
    round: 1,
    random: () => 0.99,
  });
  assert.ok(decision.unchoked.has(2));
});

Deno.test("chooseUnchoked() gives no slot, not even the optimistic one, to peers that ask for nothing", () => {
  const idle = (id: number): ChokerPeer => ({
    id,
    interested: true,
    requesting: false,
    receivedBytes: 1000,
    sentBytes: 0,
  });
  const peers = [idle(1), idle(2), idle(3), peer(4, 0)];
  for (const random of [0, 0.5, 0.99]) {
    const decision = chooseUnchoked(peers, {
      slots: 3,
      round: 0,
      random: () => random,
    });
    assert.deepEqual([...decision.unchoked], [4]);
  }
});
