import assert from "node:assert/strict";
import {
  CHOKE_ROUND_MS,
  SLOT_GRANT_GRACE_MS,
  SLOT_IDLE_MS,
  type SlotHolder,
  UploadSlots,
} from "../../../peer/wire/upload_slots.ts";

/** A connection as the slots see it, recording what it was told. */
interface FakeHolder extends SlotHolder {
  told: ("choke" | "unchoke")[];
  queued: number;
}

function holder(key: string): FakeHolder {
  const h: FakeHolder = {
    key,
    interested: true,
    sentBytes: 0,
    unchoked: false,
    told: [],
    queued: 0,
    pending: () => h.queued,
    setChoked(choked) {
      h.told.push(choked ? "choke" : "unchoke");
      if (choked) h.queued = 0;
    },
  };
  return h;
}

/** Slots on a clock the test moves. */
function slotsAt(slots: number) {
  let now = 0;
  const table = new UploadSlots({ slots, now: () => now, timers: false });
  return {
    table,
    advance(ms: number) {
      now += ms;
      table.tick();
    },
  };
}

/**
 * One slot: "first" holds it; "lurker" asks once (BUSY) and is handed the
 * slot when "first" leaves; "honest" has joined and not asked yet.
 */
function slotHandedToLurker(table: UploadSlots) {
  const first = holder("first");
  const lurker = holder("lurker");
  const honest = holder("honest");
  const [i1, il, ih] = [first, lurker, honest].map((h) => table.join(h));
  table.request(i1!);
  assert.equal(table.request(il!), false);
  table.leave(i1!);
  assert.ok(lurker.unchoked);
  return { lurker, honest, il: il!, ih: ih! };
}

Deno.test("UploadSlots gives a slot to a GET, never for connecting or INTERESTED", () => {
  const { table, advance } = slotsAt(2);
  const idle = [holder("a"), holder("b"), holder("c")];
  const idleIds = idle.map((h) => table.join(h));
  for (const id of idleIds) table.interestChanged(id);
  advance(CHOKE_ROUND_MS * 3);
  assert.equal(table.held, 0);
  assert.ok(idle.every((h) => !h.unchoked && h.told.length === 0));
  const asker = holder("d");
  const id = table.join(asker);
  assert.equal(table.request(id), true);
  assert.ok(asker.unchoked);
  assert.equal(table.held, 1);
});

Deno.test("UploadSlots answers BUSY when full, then hands the next free slot to the first in line at once", () => {
  const { table } = slotsAt(1);
  const a = holder("a");
  const b = holder("b");
  const c = holder("c");
  const [ia, ib, ic] = [a, b, c].map((h) => table.join(h));
  assert.equal(table.request(ia!), true);
  assert.equal(table.request(ib!), false);
  assert.equal(table.request(ic!), false);
  table.leave(ia!);
  assert.ok(b.unchoked && !c.unchoked);
  assert.deepEqual(b.told, ["unchoke"]);
});

Deno.test("UploadSlots takes the slot of a holder that asks for nothing for SLOT_IDLE_MS, without stranding it", () => {
  const { table, advance } = slotsAt(1);
  const quiet = holder("quiet");
  const waiting = holder("waiting");
  const iq = table.join(quiet);
  const iw = table.join(waiting);
  assert.equal(table.request(iq), true);
  assert.equal(table.request(iw), false);
  // A chunk still being sent keeps the slot, however long it takes (within
  // one choke round here, so the round does not re-deal the slot).
  quiet.queued = 1;
  advance(SLOT_IDLE_MS / 2);
  advance(SLOT_IDLE_MS / 2);
  assert.ok(quiet.unchoked);
  quiet.queued = 0;
  table.served(iq);
  advance(SLOT_IDLE_MS - 1);
  assert.ok(quiet.unchoked);
  advance(1);
  // The slot went on at once, not at the next round.
  assert.ok(!quiet.unchoked && waiting.unchoked);
  assert.deepEqual(waiting.told, ["unchoke"]);
  // The idle peer was never told CHOKE: its next GET asks again (and waits).
  assert.deepEqual(quiet.told, []);
  assert.equal(table.request(iw), true);
  assert.equal(table.request(iq), false);
});

Deno.test("UploadSlots lets a GET in hand take a slot granted to a peer that has not asked since", () => {
  const { table } = slotsAt(1);
  // The lurker asks once (BUSY), is given the slot, and then says nothing.
  const { lurker, honest, ih } = slotHandedToLurker(table);
  assert.equal(table.request(ih), true);
  assert.ok(honest.unchoked && !lurker.unchoked);
});

Deno.test("UploadSlots re-deals slots each round among askers only; a choked asker stays in line", () => {
  const { table, advance } = slotsAt(2);
  const a = holder("a");
  const b = holder("b");
  const c = holder("c");
  const ids = [a, b, c].map((h) => table.join(h));
  for (const id of ids) table.request(id);
  assert.ok(a.unchoked && b.unchoked && !c.unchoked);
  // a and b keep asking (a GET outstanding each); a round may choke one of
  // them for c, and whoever is choked is in line, not stranded.
  a.queued = 1;
  b.queued = 1;
  for (let round = 0; round < 6; round++) {
    advance(CHOKE_ROUND_MS);
    assert.equal(table.held, 2);
    for (const h of [a, b, c]) {
      if (!h.unchoked) h.queued = 0;
      else h.queued = 1;
      if (h.told.at(-1) === "choke") assert.ok(!h.unchoked);
    }
  }
  // Once nobody asks, every slot is free within a few idle periods.
  for (const h of [a, b, c]) h.queued = 0;
  for (let i = 0; i < 4 && table.held > 0; i++) advance(SLOT_IDLE_MS);
  assert.equal(table.held, 0);
});

Deno.test("UploadSlots: NOT_INTERESTED frees the slot; INTERESTED after a CHOKE joins the line", () => {
  const { table } = slotsAt(1);
  const a = holder("a");
  const b = holder("b");
  const ia = table.join(a);
  const ib = table.join(b);
  table.request(ia);
  table.request(ib);
  b.interested = false;
  table.interestChanged(ib);
  a.interested = false;
  table.interestChanged(ia);
  assert.equal(table.held, 0);
  b.interested = true;
  table.interestChanged(ib);
  assert.ok(b.unchoked);
  assert.deepEqual(b.told, ["unchoke"]);
});

Deno.test("UploadSlots puts a peer that let a granted slot go unused behind those that did not", () => {
  const { table, advance } = slotsAt(1);
  // The lurker is told UNCHOKE, never asks, and loses the slot soon.
  const { lurker, honest, il, ih } = slotHandedToLurker(table);
  advance(SLOT_GRANT_GRACE_MS - 1);
  assert.ok(lurker.unchoked);
  advance(1);
  assert.ok(!lurker.unchoked);
  // It asks again (BUSY) before the honest peer does, yet goes second.
  const busy = holder("busy");
  const ib = table.join(busy);
  assert.equal(table.request(ib), true);
  assert.equal(table.request(il), false);
  assert.equal(table.request(ih), false);
  table.leave(ib);
  assert.ok(honest.unchoked && !lurker.unchoked);
});

Deno.test("UploadSlots.setLimits() gives new slots to those in line at once and sets the upload limit", () => {
  const { table } = slotsAt(1);
  const [a, b, c] = [holder("a"), holder("b"), holder("c")];
  const [ia, ib, ic] = [a, b, c].map((h) => table.join(h));
  assert.equal(table.request(ia!), true);
  assert.equal(table.request(ib!), false);
  assert.equal(table.request(ic!), false);
  table.setLimits({ slots: 3 });
  assert.ok(b.unchoked && c.unchoked);
  assert.equal(table.held, 3);
  assert.deepEqual(table.limits, { maxUploadBytesPerSecond: null, slots: 3 });
  table.setLimits({ maxUploadBytesPerSecond: 2_000_000, slots: 0 });
  assert.deepEqual(table.limits, {
    maxUploadBytesPerSecond: 2_000_000,
    slots: 1,
  });
  table.setLimits({ maxUploadBytesPerSecond: null });
  assert.deepEqual(table.limits, { maxUploadBytesPerSecond: null, slots: 1 });
});

Deno.test("UploadSlots: a BitTorrent peer's INTERESTED is a place in line, not a request; said again it keeps no slot, and the slot is taken with a CHOKE", () => {
  const { table, advance } = slotsAt(1);
  const idle = { ...holder("idle"), saysInterest: true };
  const bt = { ...holder("bt"), saysInterest: true };
  // The spread copies the methods bound to the first object's fields.
  idle.setChoked = (choked) => idle.told.push(choked ? "choke" : "unchoke");
  bt.setChoked = (choked) => bt.told.push(choked ? "choke" : "unchoke");
  const ii = table.join(idle);
  const ib = table.join(bt);
  assert.equal(table.want(ii), true);
  assert.equal(table.want(ib), false);
  // INTERESTED over and over does not keep the slot past its grace.
  for (let t = 0; t < SLOT_GRANT_GRACE_MS; t += 500) {
    table.want(ii);
    advance(500);
  }
  assert.ok(!idle.unchoked && bt.unchoked);
  assert.deepEqual(idle.told, ["choke"]);
  assert.deepEqual(bt.told, ["unchoke"]);
  // A request keeps it; idle after that, it goes back to the one in line.
  assert.equal(table.request(ib), true);
  advance(SLOT_IDLE_MS - 1_000);
  assert.ok(bt.unchoked);
  advance(2_000);
  assert.ok(!bt.unchoked && idle.unchoked);
  assert.deepEqual(bt.told, ["unchoke", "choke"]);
  assert.deepEqual(idle.told, ["choke", "unchoke"]);
});
