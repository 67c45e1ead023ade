/**
 * Attacks on a real seeder's upload slots and connection table over the
 * BitTorrent wire: connections that shake hands, say INTERESTED and then
 * never request (or say INTERESTED again and again, or request one block
 * per UNCHOKE) must not keep an honest leecher waiting, and lose their slot
 * with a CHOKE within seconds; BitTorrent and MSE connections count toward
 * the per-address cap.
 *
 * The attackers connect from other loopback addresses (127.0.0.2 and up),
 * as strangers on other hosts would, through `node:net` (Deno.connect
 * cannot pick its source address).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BtFrame,
  type BtMessage,
  encodeBtHandshake,
  encodeBtMessage,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { rawBtClient, type RawClient } from "../_helpers/raw_client.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";
import { MAX_CONNECTIONS_PER_ADDRESS } from "../../peer/wire/server.ts";

const CHUNK = 512 * 1024;

type RawBtClient = RawClient<BtFrame>;

/** Sends one BitTorrent message. */
function sendBt(client: RawBtClient, message: BtMessage): void {
  client.send(encodeBtMessage(message));
}

function btHandshake(fileId: Uint8Array, i: number): Uint8Array {
  return encodeBtHandshake({
    infoHash: fileId.slice(0, 20),
    peerId: new TextEncoder().encode(
      `-AT0001-attacker${String(i).padStart(4, "0")}`,
    ),
    extended: false,
    fast: true,
  });
}

Deno.test("BitTorrent connections that say INTERESTED and never request, say it again and again, or request once per UNCHOKE do not hold a seeder's upload slots", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "big.bin",
    32 * CHUNK,
    19,
    ["--host", "127.0.0.1"],
  );
  const idle: { kind: string; client: RawBtClient }[] = [];
  const kinds = ["silent", "again", "once"] as const;
  const timer = setInterval(() => {
    for (const { kind, client } of idle) {
      if (client.closed) continue;
      if (kind === "again") sendBt(client, { kind: "interested" });
      // One block per UNCHOKE (as one request a minute), then nothing.
      const unchokes = client.frames.filter((f) => f.kind === "unchoke").length;
      const asked = (client as { asked?: number }).asked ?? 0;
      if (kind === "once" && unchokes > asked) {
        (client as { asked?: number }).asked = unchokes;
        sendBt(client, { kind: "request", index: 0, begin: 0, length: 16_384 });
      }
    }
  }, 300);
  try {
    // 21 connections from 4 addresses (under the per-address cap).
    for (let i = 0; i < 21; i++) {
      const client = await rawBtClient(`127.0.0.${2 + (i % 4)}`, seeder.port);
      client.send(btHandshake(fileId, i));
      sendBt(client, { kind: "interested" });
      idle.push({ kind: kinds[i % 3]!, client });
    }
    await h.waitUntil(
      "every idle connection to be answered",
      () =>
        idle.every(({ client }) =>
          client.frames.some((f) => f.kind === "have_all")
        ) || null,
      10_000,
    );
    // The attack settles past the slot's grace (2 s) and idle (5 s) times,
    // so the slots are wherever the rules leave them when the leecher comes.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const out = join(dir.path, "leech");
    // The give-up clock counts progress: a leecher kept from every slot
    // for 10 s gives up (before the rule, for good: INTERESTED said again
    // kept a slot as a request does).
    const result = await h.spawnLeecher(tracker, "big.bin", out, 10).done(
      60_000,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    await h.assertSameFile(join(out, "big.bin"), source);
    // Every idle one that was given a slot lost it with a CHOKE, as a
    // BitTorrent peer expects (before, the slot was taken silently).
    const unchoked = idle.filter(({ client }) =>
      client.frames.some((f) => f.kind === "unchoke")
    );
    assert.ok(unchoked.length >= 5, `${unchoked.length} were ever unchoked`);
    await h.waitUntil(
      "every idle connection to be choked",
      () =>
        unchoked.every(({ client }) =>
          client.frames.some((f) => f.kind === "choke")
        ) || null,
      15_000,
    );
    assert.ok(idle.every(({ client }) => !client.closed));
  } finally {
    clearInterval(timer);
    for (const { client } of idle) client.close();
    await seeder.stop();
  }
});

Deno.test("BitTorrent and MSE connections count toward a seeder's per-address cap", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "small.bin",
    4 * CHUNK,
    20,
    ["--host", "127.0.0.1"],
  );
  const clients: RawBtClient[] = [];
  try {
    const half = MAX_CONNECTIONS_PER_ADDRESS / 2;
    for (let i = 0; i < MAX_CONNECTIONS_PER_ADDRESS; i++) {
      const client = await rawBtClient("127.0.0.9", seeder.port, i < half);
      // Half shake hands in BitTorrent; half open an MSE handshake (96
      // bytes of key) and wait, as a client does for the answer.
      client.send(
        i < half
          ? btHandshake(fileId, i)
          : crypto.getRandomValues(new Uint8Array(96)),
      );
      clients.push(client);
    }
    await h.waitUntil(
      "the BitTorrent connections under the cap to be answered",
      () =>
        clients.slice(0, half).every((c) =>
          c.frames.some((f) => f.kind === "handshake")
        ) || null,
      10_000,
    );
    const over = await rawBtClient("127.0.0.9", seeder.port);
    over.send(btHandshake(fileId, 99));
    await h.waitUntil(
      "the seeder to close the connection over the cap",
      () => over.closed || null,
      10_000,
    );
    assert.ok(!over.frames.some((f) => f.kind === "handshake"));
    assert.ok(clients.every((c) => !c.closed));
    // Another address still gets in.
    const other = await rawBtClient("127.0.0.10", seeder.port);
    clients.push(other);
    other.send(btHandshake(fileId, 100));
    await h.waitUntil(
      "another address to be answered",
      () => other.frames.some((f) => f.kind === "handshake") || null,
      10_000,
    );
  } finally {
    for (const client of clients) client.close();
    await seeder.stop();
  }
});
