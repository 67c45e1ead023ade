/**
 * Attacks on a real seeder's upload slots and connection table: connections
 * that handshake, say INTERESTED and then never ask for anything must not
 * keep an honest leecher waiting, and one address may not hold more than
 * its share of connections.
 *
 * The attackers connect from other loopback addresses (127.0.0.2 and up:
 * Linux routes all of 127.0.0.0/8 to loopback), the way strangers on other
 * hosts would, through `node:net` (Deno.connect cannot pick its source
 * address).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createMessage, ErrorCode, type Message } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { type RawClient, rawShoalClient } from "../_helpers/raw_client.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";
import { MAX_CONNECTIONS_PER_ADDRESS } from "../../peer/wire/server.ts";

const CHUNK = 512 * 1024;

function handshake(fileId: Uint8Array, i: number): Uint8Array {
  return createMessage({
    kind: "handshake",
    txid: 1,
    fileId,
    peerId: new Uint8Array(16).fill(i),
    port: 0,
  });
}

Deno.test("connections that only say INTERESTED do not hold a seeder's upload slots", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "big.bin",
    32 * CHUNK,
    9,
    ["--host", "127.0.0.1"],
  );
  const idle: RawClient<Message>[] = [];
  try {
    // 20 connections from 4 addresses (5 each, under the per-address cap):
    // a handshake, INTERESTED, then nothing (as one INTERESTED a minute).
    for (let i = 0; i < 20; i++) {
      const client = await rawShoalClient(
        `127.0.0.${2 + (i % 4)}`,
        seeder.port,
      );
      client.send(handshake(fileId, i));
      client.send(createMessage({ kind: "interested", txid: 0 }));
      idle.push(client);
    }
    await h.waitUntil(
      "every idle connection to be accepted",
      () =>
        idle.every((c) => c.frames.some((m) => m.kind === "bitfield")) ||
        null,
      10_000,
    );
    assert.ok(idle.every((c) => !c.closed), "an idle connection was refused");

    const out = join(dir.path, "leech");
    const result = await h.spawnLeecher(tracker, "big.bin", out, null).done(
      30_000,
    );
    assert.equal(result.code, 0, result.stderr);
    await h.assertSameFile(join(out, "big.bin"), source);
    // None of them ever asked for a chunk, so none was given a slot.
    for (const client of idle) {
      assert.ok(!client.frames.some((m) => m.kind === "unchoke"));
    }
  } finally {
    for (const client of idle) client.close();
    await seeder.stop();
  }
});

Deno.test("a seeder refuses connections over its per-address cap with an ERROR, and serves other addresses", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "small.bin",
    4 * CHUNK,
    10,
    ["--host", "127.0.0.1"],
  );
  const clients: RawClient<Message>[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS_PER_ADDRESS; i++) {
      const client = await rawShoalClient("127.0.0.7", seeder.port);
      client.send(handshake(fileId, i));
      clients.push(client);
    }
    await h.waitUntil(
      "the connections under the cap to be accepted",
      () =>
        clients.every((c) => c.frames.some((m) => m.kind === "ack")) || null,
      10_000,
    );
    const over = await rawShoalClient("127.0.0.7", seeder.port);
    await h.waitUntil(
      "the seeder to close the connection over the cap",
      () => over.closed || null,
      10_000,
    );
    const refusal = over.frames[0];
    assert.ok(refusal?.kind === "error", JSON.stringify(over.frames));
    assert.equal(refusal.code, ErrorCode.BUSY);
    assert.match(refusal.text, /too many connections from your address/);
    // The ones under the cap are untouched, and another address still gets in.
    assert.ok(clients.every((c) => !c.closed));
    const other = await rawShoalClient("127.0.0.8", seeder.port);
    clients.push(other);
    other.send(handshake(fileId, 99));
    await h.waitUntil(
      "another address to be accepted",
      () => other.frames.some((m) => m.kind === "ack") || null,
      10_000,
    );
  } finally {
    for (const client of clients) client.close();
    await seeder.stop();
  }
});
