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
import { toHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { type Crowd, withIdleCrowd } from "../_helpers/idle_crowd.ts";

const CHUNK = 512 * 1024;
const IDLE_PEERS = 64;

/** Runs `--get ID --no-seed` and waits at most `timeoutMs` for the exit. */
function leech(
  tracker: { host: string; port: number },
  id: Uint8Array,
  out: string,
  giveUpAfterSeconds: number,
  timeoutMs: number,
) {
  return h.spawnLeecher(tracker, toHex(id), out, giveUpAfterSeconds).done(
    timeoutMs,
  );
}

/** 64 fakes that answer the handshake with an empty bitfield, then nothing. */
function emptyPeers(
  tracker: Awaited<ReturnType<typeof h.startTracker>>,
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

Deno.test("a leecher among peers that have nothing for it gives up within --give-up-after", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(4 * CHUNK).fill(7);
  const built = h.manifestOf(data, "idle.bin");
  await withIdleCrowd(
    tracker,
    built,
    emptyPeers(tracker, data, built),
    async (fakes) => {
      // Without the rule the open connections kept the leecher waiting forever.
      const result = await leech(
        tracker,
        built.id,
        join(dir.path, "out"),
        5,
        30_000,
      );
      assert.equal(result.code, 5, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stderr, /idle\.bin/);
      assert.ok(fakes.some((fake) => fake.connections > 0));
    },
  );
});

Deno.test("a leecher among peers that have nothing for it finishes from the one honest seeder", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(6 * CHUNK + 99).fill(3);
  data[0] = 1;
  const built = h.manifestOf(data, "mixed.bin");
  await withIdleCrowd(
    tracker,
    built,
    emptyPeers(tracker, data, built),
    async () => {
      await using _honest = h.listedFake(tracker, data, built, {
        behaviour: "honest",
      });
      const out = join(dir.path, "out");
      const result = await leech(tracker, built.id, out, 30, 45_000);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      await h.assertFileHash(
        join(out, "mixed.bin"),
        built.sha256,
      );
    },
  );
});

Deno.test("registered peers that never answer do not hold up the start", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(4 * CHUNK).fill(9);
  const built = h.manifestOf(data, "start.bin");
  // Listening sockets nobody accepts from: the kernel completes the TCP
  // handshake, and then nothing ever answers.
  await withIdleCrowd(
    tracker,
    built,
    { subnet: 10, listeners: 40 },
    async () => {
      await using _honest = h.listedFake(tracker, data, built, {
        behaviour: "honest",
      });
      const out = join(dir.path, "out");
      // Asked one after another at 10 s each, the silent ones took minutes.
      const result = await leech(tracker, built.id, out, 60, 40_000);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      await h.assertFileHash(
        join(out, "start.bin"),
        built.sha256,
      );
    },
  );
});

Deno.test("a leecher whose only seeder stops sending data gives up within --give-up-after", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(8 * CHUNK).fill(4);
  const built = h.manifestOf(data, "stops.bin");
  await using fake = h.listedFake(tracker, data, built, {
    behaviour: "stops",
    stopAfterChunks: 2,
  });
  const result = await leech(
    tracker,
    built.id,
    join(dir.path, "out"),
    5,
    // Before the rule its chatter kept the leecher past 20 s (the stall
    // timeout, a reconnection, then the old clock).
    15_000,
  );
  assert.equal(result.code, 5, `${result.stdout}\n${result.stderr}`);
  assert.equal(fake.chunksSent, 2);
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
