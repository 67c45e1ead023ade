/**
 * A real leecher process against peers that do nothing: fakes that answer
 * the handshake with an empty bitfield and then fall silent, listeners that
 * never answer at all, a fake that stops sending data, and a real seeder
 * whose file is cut short mid-download. The leecher must give up within
 * its --give-up-after (counted in progress, not in open sockets), and with
 * one honest seeder among the idle peers it must still finish, without
 * waiting on the idle ones one after another. Loopback only; each process
 * waited on for a bounded time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import { type Crowd, leechAmongFakes } from "../_helpers/idle_crowd.ts";

const CHUNK = 512 * 1024;
const IDLE_PEERS = 64;

/** 64 fakes that answer the handshake with an empty bitfield, then nothing. */
function emptyPeers(
  tracker: h.RunningTracker,
  data: Uint8Array,
  built: h.BuiltFile,
): Crowd<h.FakeSeeder> {
  return {
    subnet: 10,
    fakes: Array.from(
      { length: IDLE_PEERS },
      () => (hostname: string) =>
        h.listedFake(tracker, data, built, { behaviour: "empty", hostname }),
    ),
  };
}

/** An honest fake seeder on 127.0.0.1. */
function honest(
  tracker: h.RunningTracker,
  data: Uint8Array,
  built: h.BuiltFile,
): h.FakeSeeder {
  return h.listedFake(tracker, data, built, { behaviour: "honest" });
}

/** `size` bytes of `fill`, the first one `first`. */
function bytes(size: number, fill: number, first = fill): Uint8Array {
  const data = new Uint8Array(size).fill(fill);
  data[0] = first;
  return data;
}

Deno.test("a leecher among peers that have nothing for it gives up within --give-up-after", async () => {
  // Without the rule the open connections kept the leecher waiting forever.
  await leechAmongFakes({
    name: "idle.bin",
    data: bytes(4 * CHUNK, 7),
    crowd: emptyPeers,
    giveUpAfterSeconds: 5,
    timeoutMs: 30_000,
    code: 5,
    stderr: /idle\.bin/,
    check: (fakes) => assert.ok(fakes.some((fake) => fake.connections > 0)),
  });
});

Deno.test("a leecher among peers that have nothing for it finishes from the one honest seeder", async () => {
  await leechAmongFakes({
    name: "mixed.bin",
    data: bytes(6 * CHUNK + 99, 3, 1),
    crowd: emptyPeers,
    peer: honest,
    giveUpAfterSeconds: 30,
    timeoutMs: 45_000,
    code: 0,
  });
});

Deno.test("registered peers that never answer do not hold up the start", async () => {
  // Listening sockets nobody accepts from: the kernel completes the TCP
  // handshake, and then nothing ever answers. Asked one after another at
  // 10 s each, the silent ones took minutes.
  await leechAmongFakes({
    name: "start.bin",
    data: bytes(4 * CHUNK, 9),
    crowd: () => ({ subnet: 10, listeners: 40 }),
    peer: honest,
    giveUpAfterSeconds: 60,
    timeoutMs: 40_000,
    code: 0,
  });
});

Deno.test("a leecher whose only seeder stops sending data gives up within --give-up-after", async () => {
  await leechAmongFakes({
    name: "stops.bin",
    data: bytes(8 * CHUNK, 4),
    peer: (tracker, data, built) =>
      h.listedFake(tracker, data, built, {
        behaviour: "stops",
        stopAfterChunks: 2,
      }),
    giveUpAfterSeconds: 5,
    // Before the rule its chatter kept the leecher past 20 s (the stall
    // timeout, a reconnection, then the old clock).
    timeoutMs: 15_000,
    code: 5,
    check: (_, fake) => assert.equal(fake?.chunksSent, 2),
  });
});

Deno.test("a leecher whose seeder's file is cut short mid-download exits 5 within --give-up-after", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "cut.bin");
  await h.makeFile(source, 32 * CHUNK, 17);
  // Slow enough that the file is cut while chunks are still wanted.
  const seeder = await h.startSeeder(
    tracker,
    [source],
    join(dir.path, "seed"),
    [
      "--max-upload",
      "2M",
    ],
  );
  try {
    const leecher = h.spawnPeer(tracker, [
      "--get",
      "cut.bin",
      "--out",
      join(dir.path, "out"),
      "--no-seed",
      "--json",
      "--give-up-after",
      "5",
    ]);
    await leecher.waitFor(/"chunksDone":[1-9]/, 20_000);
    await Deno.truncate(source, 3 * CHUNK);
    // Without the rule the leecher waited for the seeder's 120 s idle timeout.
    const result = await leecher.done(30_000);
    assert.equal(result.code, 5, `${result.stdout}\n${result.stderr}`);
  } finally {
    await seeder.stop();
  }
});
