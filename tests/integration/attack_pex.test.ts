/**
 * Peer exchange (PEX, DATA 8) against a real seeder, from raw clients: a
 * peer that offers PEX is told about the seeder's other peers, one that
 * does not (an older Shoal) is never sent it; a peer that floods the seeder
 * with PEX, or sends a malformed one, loses its connection while the seeder
 * serves on.
 *
 * The clients connect from other loopback addresses (127.0.0.2 and up:
 * Linux routes all of 127.0.0.0/8 to loopback), through `node:net`
 * (Deno.connect cannot pick its source address).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createMessage, MAX_PEX_PEERS, type Message } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { type RawClient, rawShoalClient } from "../_helpers/raw_client.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";

/** Waits (bounded: at most `timeoutMs`, polling every 50 ms) until `done()`. */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function handshake(fileId: Uint8Array, port: number, pex: boolean) {
  return createMessage({
    kind: "handshake",
    txid: 1,
    fileId,
    peerId: new Uint8Array(16).fill(port & 0xff),
    port,
    ...(pex ? { pex: true } : {}),
  });
}

/** A PEX frame naming one peer (byte 14, the added count, may be tampered with). */
function onePeerPex(): Uint8Array {
  return createMessage({
    kind: "pex",
    txid: 0,
    added: [{ host: "10.0.0.1", port: 6881, complete: false }],
    dropped: [],
  });
}

Deno.test("a seeder tells a peer that offers PEX about its other peers, and never sends PEX to one that does not", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "told.bin",
    3 * 512 * 1024,
    5,
  );
  const old = await rawShoalClient("127.0.0.2", seeder.port);
  const fresh = await rawShoalClient("127.0.0.3", seeder.port);
  try {
    old.send(handshake(fileId, 7001, false));
    await until(() => old.frames.length >= 2, 5_000);
    fresh.send(handshake(fileId, 7002, true));
    const pexOf = (client: RawClient<Message>) =>
      client.frames.find((m) => m.kind === "pex");
    await until(() => pexOf(fresh) !== undefined, 5_000);
    const ack = fresh.frames[0];
    assert.ok(ack?.kind === "ack" && ack.pex === true, "ACK offers PEX");
    const told = pexOf(fresh);
    assert.ok(told?.kind === "pex", JSON.stringify(fresh.frames));
    // The other peer, where it said it listens; never the receiver itself.
    assert.deepStrictEqual(told.added, [
      { host: "127.0.0.2", port: 7001, complete: false },
    ]);
    // The older peer (no PEX flag) got its ACK and BITFIELD, nothing else,
    // though the seeder had a peer to tell it about.
    await until(() => false, 1_500);
    assert.deepStrictEqual(old.frames.map((m) => m.kind), [
      "ack",
      "bitfield",
    ]);
    assert.ok(!old.closed && !fresh.closed);
  } finally {
    old.close();
    fresh.close();
    await seeder.stop();
  }
});

Deno.test("a peer that floods a seeder with PEX, or sends a malformed one, loses its connection; the seeder serves on", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built: { id: fileId }, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "flood.bin",
    3 * 512 * 1024 + 9,
    6,
  );
  const flooder = await rawShoalClient("127.0.0.4", seeder.port);
  const malformed = await rawShoalClient("127.0.0.5", seeder.port);
  try {
    flooder.send(handshake(fileId, 7003, true));
    await until(() => flooder.frames.length >= 2, 5_000);
    // Five a minute are allowed; the sixth closes the connection.
    for (let i = 0; i < 5; i++) flooder.send(onePeerPex());
    await until(() => false, 500);
    assert.ok(!flooder.closed, "five PEX messages are allowed");
    flooder.send(onePeerPex());
    await until(() => flooder.closed, 5_000);
    assert.ok(flooder.closed, "the sixth PEX message in a minute closes it");

    malformed.send(handshake(fileId, 7004, true));
    await until(() => malformed.frames.length >= 2, 5_000);
    // One more added peer than a PEX message may carry.
    const bad = onePeerPex();
    bad[14] = MAX_PEX_PEERS + 1;
    malformed.send(bad);
    await until(() => malformed.closed, 5_000);
    assert.ok(malformed.closed, "a PEX message with 51 added peers closes it");

    const got = await h.getFile(tracker, "flood.bin", join(dir.path, "out"));
    assert.equal(got.code, 0, got.stderr);
    await h.assertSameFile(join(dir.path, "out", "flood.bin"), source);
  } finally {
    flooder.close();
    malformed.close();
    await seeder.stop();
  }
});
