/**
 * Attacks on a real seeder's upload slots and connection table: connections
 * that handshake, say INTERESTED and then never ask for anything must not
 * keep an honest leecher waiting, and one address may not hold more than
 * its share of connections. The bodies are shared with the BitTorrent
 * twins (attack_seeder_slots_bt.test.ts) in tests/_helpers/slot_attack.ts.
 *
 * The attackers connect from other loopback addresses (127.0.0.2 and up:
 * Linux routes all of 127.0.0.0/8 to loopback), the way strangers on other
 * hosts would, through `node:net` (Deno.connect cannot pick its source
 * address).
 */
import assert from "node:assert/strict";
import { createMessage, ErrorCode, type Message } from "@shoal/protocol";
import { rawShoalClient } from "../_helpers/raw_client.ts";
import {
  type AttackWire,
  idleSlotAttack,
  perAddressCapAttack,
} from "../_helpers/slot_attack.ts";

/** Shoal's wire: a HANDSHAKE, welcomed with an ACK. */
const SHOAL: AttackWire<Message> = {
  connect: rawShoalClient,
  handshake: (fileId, i) =>
    createMessage({
      kind: "handshake",
      txid: 1,
      fileId,
      peerId: new Uint8Array(16).fill(i),
      port: 0,
    }),
  welcome: (m) => m.kind === "ack",
};

Deno.test("connections that only say INTERESTED do not hold a seeder's upload slots", async () => {
  // 20 connections from 4 addresses (5 each, under the per-address cap):
  // a handshake, INTERESTED, then nothing (as one INTERESTED a minute).
  await idleSlotAttack({
    wire: SHOAL,
    seed: 9,
    count: 20,
    interested: createMessage({ kind: "interested", txid: 0 }),
    answered: (m) => m.kind === "bitfield",
    giveUpAfterSeconds: null,
    leechTimeoutMs: 30_000,
    check: (idle) => {
      // None of them ever asked for a chunk, so none was given a slot.
      for (const client of idle) {
        assert.ok(!client.frames.some((m) => m.kind === "unchoke"));
      }
    },
  });
});

Deno.test("a seeder refuses connections over its per-address cap with an ERROR, and serves other addresses", async () => {
  await perAddressCapAttack({
    wire: SHOAL,
    seed: 10,
    addresses: ["127.0.0.7", "127.0.0.8"],
    overGreets: false,
    assertRefused: (over) => {
      const refusal = over.frames[0];
      assert.ok(refusal?.kind === "error", JSON.stringify(over.frames));
      assert.equal(refusal.code, ErrorCode.BUSY);
      assert.match(refusal.text, /too many connections from your address/);
    },
    otherId: 99,
  });
});
