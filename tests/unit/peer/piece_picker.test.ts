import assert from "node:assert/strict";
import { Bitfield } from "@shoal/protocol";
import {
  ENDGAME_DOUBLED_PER_PEER,
  ENDGAME_MAX_REQUESTERS,
  PiecePicker,
  RANDOM_FIRST_CHUNKS,
} from "../../../peer/download/piece_picker.ts";

function bits(size: number, held: number[]): Bitfield {
  const field = new Bitfield(size);
  for (const i of held) field.set(i);
  return field;
}

/** A seeded generator, so every run picks the same way. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function pastRandomStart(picker: PiecePicker, size: number): void {
  // Hold the last few chunks so the random start phase is over.
  for (let i = size - RANDOM_FIRST_CHUNKS; i < size; i++) picker.markHave(i);
}

Deno.test("PiecePicker.next() takes chunks in file order when every peer holds everything", () => {
  const picker = new PiecePicker(new Bitfield(20), { random: seeded(1) });
  pastRandomStart(picker, 20);
  const all = Bitfield.full(20);
  picker.addPeer(all);
  picker.addPeer(all);
  const order: number[] = [];
  for (let i = 0; i < 6; i++) {
    const index = picker.next(all, 1)!;
    picker.requested(index, 1);
    order.push(index);
  }
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});

Deno.test("PiecePicker.next() prefers the rarest chunk among connected peers", () => {
  const picker = new PiecePicker(new Bitfield(12), { random: seeded(2) });
  pastRandomStart(picker, 12);
  // Chunk 6 is held by one peer only; chunks 0..5 by three.
  picker.addPeer(bits(12, [0, 1, 2, 3, 4, 5, 6]));
  picker.addPeer(bits(12, [0, 1, 2, 3, 4, 5]));
  picker.addPeer(bits(12, [0, 1, 2, 3, 4, 5, 7]));
  const asker = bits(12, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(picker.next(asker, 1), 6);
});

Deno.test("PiecePicker.next() follows a chunk that becomes as common as the rest, or rarer, through HAVEs", () => {
  const picker = new PiecePicker(new Bitfield(12), { random: seeded(3) });
  pastRandomStart(picker, 12);
  const all = Bitfield.full(12);
  picker.addPeer(all);
  picker.addPeer(bits(12, [0, 1, 2, 3, 4, 6, 7]));
  assert.equal(picker.next(all, 1), 5); // held by one peer of two
  picker.peerGained(5);
  assert.equal(picker.next(all, 1), 0); // now all held by both: file order
  picker.peerLost(3);
  assert.equal(picker.next(all, 1), 3); // rarer again
});

Deno.test("PiecePicker.next() spreads equally rare chunks at random", () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const picker = new PiecePicker(new Bitfield(16), { random: seeded(seed) });
    pastRandomStart(picker, 16);
    // Three peers each hold a disjoint third: every chunk has rarity 1.
    picker.addPeer(bits(16, [0, 1, 2, 3]));
    picker.addPeer(bits(16, [4, 5, 6, 7]));
    picker.addPeer(bits(16, [8, 9, 10, 11]));
    seen.add(picker.next(bits(16, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 9)!);
  }
  assert.ok(seen.size >= 6, `only picked ${[...seen]}`);
});

Deno.test("PiecePicker.next() starts with random chunks so a new peer has something to trade", () => {
  const firsts = new Set<number>();
  for (let seed = 1; seed <= 30; seed++) {
    const picker = new PiecePicker(new Bitfield(100), { random: seeded(seed) });
    picker.addPeer(Bitfield.full(100));
    firsts.add(picker.next(Bitfield.full(100), 1)!);
  }
  assert.ok(firsts.size > 10, `first picks were ${[...firsts]}`);
});

Deno.test("PiecePicker.next() never picks a chunk we hold or the peer lacks", () => {
  const picker = new PiecePicker(bits(8, [0, 2, 4, 6]), { random: seeded(3) });
  const peer = bits(8, [0, 1, 2, 4]);
  picker.addPeer(peer);
  assert.equal(picker.next(peer, 1), 1);
  picker.requested(1, 1);
  assert.equal(picker.next(peer, 1), null);
});

Deno.test("PiecePicker endgame doubles up on requests still out, at most twice per chunk", () => {
  const picker = new PiecePicker(bits(4, [0, 1, 2]), { random: seeded(4) });
  const all = Bitfield.full(4);
  picker.addPeer(all);
  picker.addPeer(all);
  picker.addPeer(all);
  assert.equal(picker.next(all, 1), 3);
  picker.requested(3, 1);
  // Nothing unrequested is left: peer 2 gets a duplicate, peer 3 none.
  assert.equal(picker.next(all, 2), 3);
  picker.requested(3, 2);
  assert.equal(picker.requesters(3).size, ENDGAME_MAX_REQUESTERS);
  assert.equal(picker.next(all, 3), null);
  // The first answer wins; the other requester is returned for a CANCEL.
  assert.deepEqual(picker.markHave(3), [1, 2]);
  assert.ok(picker.complete);
});

Deno.test("PiecePicker endgame asks an idle peer for one doubled chunk at a time, not a pipeline of them", () => {
  const picker = new PiecePicker(new Bitfield(8), { random: seeded(9) });
  const all = Bitfield.full(8);
  picker.addPeer(all);
  picker.addPeer(all);
  // Peer 1 has every chunk asked of it before peer 2 comes up.
  for (let i = 0; i < 8; i++) picker.requested(picker.next(all, 1)!, 1);
  const doubled = picker.next(all, 2);
  assert.notEqual(doubled, null);
  picker.requested(doubled!, 2);
  assert.equal(ENDGAME_DOUBLED_PER_PEER, 1);
  assert.equal(picker.next(all, 2), null, "a second doubled chunk");
  // Its doubled chunk answered (by either), it may take another.
  picker.markHave(doubled!);
  assert.notEqual(picker.next(all, 2), null);
});

Deno.test("PiecePicker endgame skips a requester that is the same peer as one already asked", () => {
  // Connections 1 and 2 go to one peer, 3 to another.
  const samePeer = (x: number, y: number) => x !== 3 && y !== 3;
  const picker = new PiecePicker(bits(4, [0, 1, 2]), {
    random: seeded(4),
    samePeer,
  });
  const all = Bitfield.full(4);
  picker.addPeer(all);
  picker.addPeer(all);
  picker.requested(picker.next(all, 1)!, 1);
  assert.equal(picker.next(all, 2), null, "the same peer asked twice");
  assert.equal(picker.next(all, 3), 3, "another peer may double up");
});

Deno.test("PiecePicker.release() makes a chunk available again", () => {
  const picker = new PiecePicker(new Bitfield(3), { random: seeded(5) });
  const all = Bitfield.full(3);
  picker.addPeer(all);
  for (let i = 0; i < 3; i++) picker.requested(picker.next(all, 1)!, 1);
  picker.release(1, 1);
  assert.equal(picker.next(all, 2), 1);
});

Deno.test("PiecePicker.removePeer() lowers availability so the picker follows who is left", () => {
  const picker = new PiecePicker(new Bitfield(6), { random: seeded(6) });
  pastRandomStart(picker, 6);
  const a = bits(6, [0, 1]);
  const b = bits(6, [0]);
  picker.addPeer(a);
  picker.addPeer(b);
  assert.equal(picker.availability(0), 2);
  picker.removePeer(b);
  assert.equal(picker.availability(0), 1);
  assert.equal(picker.availability(1), 1);
});

Deno.test("PiecePicker endgame waits until every missing chunk is requested", () => {
  const picker = new PiecePicker(new Bitfield(6), { random: seeded(7) });
  pastRandomStart(picker, 6);
  // Chunks 0 and 1 are missing; only 0 is requested, from peer 1.
  picker.addPeer(Bitfield.full(6));
  picker.requested(0, 1);
  // Peer 2 holds only chunk 0: no doubling up while chunk 1 is still unrequested.
  assert.equal(picker.next(bits(6, [0]), 2), null);
  picker.requested(1, 1);
  assert.equal(picker.next(bits(6, [0]), 2), 0);
});
