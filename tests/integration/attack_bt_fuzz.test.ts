/**
 * Random hostile BitTorrent input against the real processes: a seeder fed
 * random messages on many connections, and a leecher whose BitTorrent
 * peers answer with random messages, while fetching the metadata (a
 * magnet link) and the pieces. A bad peer loses its connection, never the
 * process: the seeder still serves, the leecher still finishes from the
 * honest peer, and neither prints a stack trace. Seeded, so a failure can
 * be replayed.
 */
import assert from "node:assert/strict";
import { magnetLink } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { BtTestClient } from "../_helpers/bittorrent.ts";
import { Rand, randomBtFrame } from "../_helpers/bt_fuzz.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";
import { leechAmongFakes } from "../_helpers/idle_crowd.ts";

const CHUNK = 512 * 1024;
const SEED = Number(Deno.env.get("SHOAL_FUZZ_SEED") ?? 21);

Deno.test("a seeder fed random BitTorrent messages on 300 connections drops them and still serves", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // All from 127.0.0.1: the per-address cap would refuse most of them.
  const { built, seeder } = await seedNewFile(
    tracker,
    dir.path,
    "fuzz.bin",
    3 * CHUNK + 1000,
    23,
    ["--max-conns-per-ip", "64"],
  );
  const rand = new Rand(SEED);
  try {
    const one = async (n: number) => {
      const client = await BtTestClient.connect(seeder.port);
      try {
        await client.handshake(built.id.slice(0, 20));
        for (let i = 0; i < 1 + (n % 30); i++) {
          await client.write(randomBtFrame(rand, built.manifest.piecesRoot));
        }
        await client.closedWithin(300);
      } catch {
        // The seeder hung up mid-write: what it should do.
      } finally {
        await client.close();
      }
    };
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => one(batch * 20 + i)),
      );
    }
    // Still alive and serving: an honest handshake is answered.
    const client = await BtTestClient.connect(seeder.port);
    try {
      await client.handshake(built.id.slice(0, 20));
      await client.next((f) => f.kind === "handshake", 10_000);
    } finally {
      await client.close();
    }
  } finally {
    const code = await seeder.stop();
    const { stderr } = await seeder.done(10_000);
    assert.ok(!/Uncaught| {4}at /.test(stderr), stderr.slice(0, 2000));
    assert.equal(code, 0, stderr.slice(0, 2000));
  }
});

for (const from of ["magnet", "torrent"] as const) {
  Deno.test(`a leecher whose BitTorrent peers answer with random messages finishes from the honest one (${from})`, async () => {
    await leechAmongFakes({
      name: "fuzzed.bin",
      data: new Rand(29).bytes(4 * CHUNK + 321),
      crowd: (tracker, data, built) => ({
        subnet: 60,
        fakes: Array.from(
          { length: 12 },
          (_, i) => (hostname: string) =>
            h.listedBtFake(tracker, data, built, {
              behaviour: "fuzz",
              seed: SEED * 100 + i,
              hostname,
            }),
        ),
      }),
      // It answers late, so the fuzzers are met first.
      peer: (tracker, data, built) =>
        h.listedBtFake(tracker, data, built, {
          behaviour: "honest",
          handshakeDelayMs: 500,
        }),
      query: from === "torrent"
        ? h.writeTorrent
        : (_, built) => Promise.resolve(magnetLink(built.id, "fuzzed.bin")),
      giveUpAfterSeconds: 30,
      timeoutMs: 60_000,
      code: 0,
      check: (fuzzers, _, result) => {
        assert.ok(!/Uncaught| {4}at /.test(result.stderr), result.stderr);
        assert.ok(fuzzers.some((f) => f.btHandshakes > 0));
      },
    });
  });
}
