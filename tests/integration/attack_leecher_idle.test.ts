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

/** A distinct loopback address per idle peer, as if each were its own host. */
function hostOf(i: number): string {
  return `127.0.${10 + (i >> 8)}.${(i & 0xff) + 1}`;
}

async function withEmptyPeers(
  data: Uint8Array,
  built: ReturnType<typeof h.manifestOf>,
  tracker: Awaited<ReturnType<typeof h.startTracker>>,
  body: (fakes: h.FakeSeeder[]) => Promise<void>,
): Promise<void> {
  const fakes: h.FakeSeeder[] = [];
  try {
    for (let i = 0; i < IDLE_PEERS; i++) {
      const host = hostOf(i);
      const fake = h.startFakeSeeder({
        behaviour: "empty",
        data,
        manifestBytes: built.bytes,
        manifest: built.manifest,
        hostname: host,
      });
      fakes.push(fake);
      h.listOnTracker(tracker, fake.port, fileOf(built), host);
    }
    await body(fakes);
  } finally {
    await Promise.all(fakes.map((fake) => fake.close()));
  }
}

function fileOf(built: ReturnType<typeof h.manifestOf>) {
  return {
    id: built.id,
    name: built.manifest.name,
    size: built.manifest.size,
    chunkCount: built.manifest.chunkCount,
  };
}

Deno.test("a leecher among peers that have nothing for it gives up within --give-up-after", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(4 * CHUNK).fill(7);
  const built = h.manifestOf(data, "idle.bin");
  await withEmptyPeers(data, built, tracker, async (fakes) => {
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
  });
});

Deno.test("a leecher among peers that have nothing for it finishes from the one honest seeder", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(6 * CHUNK + 99).fill(3);
  data[0] = 1;
  const built = h.manifestOf(data, "mixed.bin");
  await withEmptyPeers(data, built, tracker, async () => {
    await using honest = h.startFakeSeeder({
      behaviour: "honest",
      data,
      manifestBytes: built.bytes,
      manifest: built.manifest,
    });
    h.listOnTracker(tracker, honest.port, fileOf(built));
    const out = join(dir.path, "out");
    const result = await leech(tracker, built.id, out, 30, 45_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await h.assertFileHash(
      join(out, "mixed.bin"),
      built.sha256,
    );
  });
});

Deno.test("registered peers that never answer do not hold up the start", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(4 * CHUNK).fill(9);
  const built = h.manifestOf(data, "start.bin");
  // Listening sockets nobody accepts from: the kernel completes the TCP
  // handshake, and then nothing ever answers.
  const listeners: Deno.Listener[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const host = hostOf(i);
      const listener = Deno.listen({ hostname: host, port: 0 });
      listeners.push(listener);
      h.listOnTracker(
        tracker,
        (listener.addr as Deno.NetAddr).port,
        fileOf(built),
        host,
      );
    }
    await using honest = h.startFakeSeeder({
      behaviour: "honest",
      data,
      manifestBytes: built.bytes,
      manifest: built.manifest,
    });
    h.listOnTracker(tracker, honest.port, fileOf(built));
    const out = join(dir.path, "out");
    // Asked one after another at 10 s each, the silent ones took minutes.
    const result = await leech(tracker, built.id, out, 60, 40_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await h.assertFileHash(
      join(out, "start.bin"),
      built.sha256,
    );
  } finally {
    for (const listener of listeners) listener.close();
  }
});

Deno.test("a leecher whose only seeder stops sending data gives up within --give-up-after", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(8 * CHUNK).fill(4);
  const built = h.manifestOf(data, "stops.bin");
  await using fake = h.startFakeSeeder({
    behaviour: "stops",
    data,
    manifestBytes: built.bytes,
    manifest: built.manifest,
    stopAfterChunks: 2,
  });
  h.listOnTracker(tracker, fake.port, fileOf(built));
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
