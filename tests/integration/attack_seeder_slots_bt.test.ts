/**
 * Attacks on a real seeder's upload slots and connection table over the
 * BitTorrent wire: connections that shake hands, say INTERESTED and then
 * never request (or say INTERESTED again and again, or request one block
 * per UNCHOKE) must not keep an honest leecher waiting, and lose their slot
 * with a CHOKE within seconds; BitTorrent and MSE connections count toward
 * the per-address cap. The bodies are shared with the Shoal twins
 * (attack_seeder_slots.test.ts) in tests/_helpers/slot_attack.ts.
 *
 * The attackers connect from other loopback addresses (127.0.0.2 and up),
 * as strangers on other hosts would, through `node:net` (Deno.connect
 * cannot pick its source address).
 */
import assert from "node:assert/strict";
import {
  type BtFrame,
  type BtMessage,
  encodeBtHandshake,
  encodeBtMessage,
} from "@shoal/protocol";
import { waitUntil } from "../_helpers/attack.ts";
import { rawBtClient, type RawClient } from "../_helpers/raw_client.ts";
import {
  type AttackWire,
  idleSlotAttack,
  perAddressCapAttack,
} from "../_helpers/slot_attack.ts";
import { MAX_CONNECTIONS_PER_ADDRESS } from "../../peer/wire/server.ts";

type RawBtClient = RawClient<BtFrame>;

/** Sends one BitTorrent message. */
function sendBt(client: RawBtClient, message: BtMessage): void {
  client.send(encodeBtMessage(message));
}

/** BitTorrent's wire: a handshake, answered with one. */
const BT: AttackWire<BtFrame> = {
  connect: (localAddress, port) => rawBtClient(localAddress, port),
  handshake: (fileId, i) =>
    encodeBtHandshake({
      infoHash: fileId.slice(0, 20),
      peerId: new TextEncoder().encode(
        `-AT0001-attacker${String(i).padStart(4, "0")}`,
      ),
      extended: false,
      fast: true,
    }),
  welcome: (f) => f.kind === "handshake",
};

Deno.test("BitTorrent connections that say INTERESTED and never request, say it again and again, or request once per UNCHOKE do not hold a seeder's upload slots", async () => {
  const kinds = ["silent", "again", "once"] as const;
  /** UNCHOKEs each "once" attacker has answered with a request. */
  const asked = new Map<RawBtClient, number>();
  // 21 connections from 4 addresses (under the per-address cap).
  await idleSlotAttack({
    wire: BT,
    seed: 19,
    count: 21,
    interested: encodeBtMessage({ kind: "interested" }),
    answered: (f) => f.kind === "have_all",
    tick: (client, i) => {
      const kind = kinds[i % 3]!;
      if (kind === "again") sendBt(client, { kind: "interested" });
      // One block per UNCHOKE (as one request a minute), then nothing.
      const unchokes = client.frames.filter((f) => f.kind === "unchoke").length;
      if (kind === "once" && unchokes > (asked.get(client) ?? 0)) {
        asked.set(client, unchokes);
        sendBt(client, { kind: "request", index: 0, begin: 0, length: 16_384 });
      }
    },
    // The attack settles past the slot's grace (2 s) and idle (5 s) times,
    // so the slots are wherever the rules leave them when the leecher comes.
    settleMs: 6_000,
    // The give-up clock counts progress: a leecher kept from every slot
    // for 10 s gives up (before the rule, for good: INTERESTED said again
    // kept a slot as a request does).
    giveUpAfterSeconds: 10,
    leechTimeoutMs: 60_000,
    check: async (idle) => {
      // Every idle one that was given a slot lost it with a CHOKE, as a
      // BitTorrent peer expects (before, the slot was taken silently).
      const unchoked = idle.filter((client) =>
        client.frames.some((f) => f.kind === "unchoke")
      );
      assert.ok(unchoked.length >= 5, `${unchoked.length} were ever unchoked`);
      await waitUntil(
        "every idle connection to be choked",
        () =>
          unchoked.every((client) =>
            client.frames.some((f) => f.kind === "choke")
          ) || null,
        15_000,
      );
    },
  });
});

Deno.test("BitTorrent and MSE connections count toward a seeder's per-address cap", async () => {
  const half = MAX_CONNECTIONS_PER_ADDRESS / 2;
  await perAddressCapAttack({
    wire: BT,
    seed: 20,
    addresses: ["127.0.0.9", "127.0.0.10"],
    // Half shake hands in BitTorrent; half open an MSE handshake (96 bytes
    // of key) and wait, as a client does for the answer (never read).
    openUnder: async (localAddress, port, fileId, i) => {
      const client = await rawBtClient(localAddress, port, i < half);
      client.send(
        i < half
          ? BT.handshake(fileId, i)
          : crypto.getRandomValues(new Uint8Array(96)),
      );
      return { client, welcomed: i < half };
    },
    overGreets: true,
    assertRefused: (over) => {
      assert.ok(!over.frames.some((f) => f.kind === "handshake"));
    },
    otherId: 100,
  });
});
