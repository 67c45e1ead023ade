/**
 * A real leecher process against hostile seeders written in this test (raw
 * TCP servers speaking the protocol): a manifest that does not match the
 * id, chunks that fail their hash, chunks nobody asked for, a chunk other
 * than the one asked for, a peer that never answers and one that answers
 * one byte at a time. The leecher must drop each offender, never come back
 * to one that sent bad data, and finish from the honest seeder with the
 * right file. Loopback only; bounded in time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { makeBuiltFile } from "../_helpers/seed_new_file.ts";

const CHUNK = 512 * 1024;

Deno.test("a leecher drops and bans lying seeders and finishes from the honest one", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { data, built } = await makeBuiltFile(
    dir.path,
    "target.bin",
    24 * CHUNK + 777,
    41,
  );
  const liars: h.FakeBehaviour[] = [
    "wrong_manifest",
    "bad_hash",
    "unsolicited",
    "wrong_index",
    "silent",
    "trickle",
  ];
  const seeders = new Map<h.FakeBehaviour, h.FakeSeeder>();
  for (const behaviour of [...liars, "honest" as const]) {
    seeders.set(
      behaviour,
      h.listedFake(tracker, data, built, {
        behaviour,
        // Slow enough that the liars get their share of requests.
        ...(behaviour === "honest" ? { bytesPerSecond: 8 * CHUNK } : {}),
      }),
    );
  }
  try {
    // The tracker lists every one of them.
    assert.equal(tracker.handler.registry.stats.peers, seeders.size);
    const out = join(dir.path, "out");
    const leecher = h.spawnLeecher(tracker, toHex(built.id), out, 30, [
      "--log-level",
      "info",
    ]);
    const result = await leecher.done(60_000);
    if (Deno.env.get("SHOAL_TEST_DEBUG")) {
      // deno-lint-ignore no-console
      console.log(
        result.stdout,
        result.stderr,
        [...seeders].map((
          [b, s],
        ) => [b, s.connections, s.gets.size, s.manifestRequests]),
      );
    }
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await h.assertFileHash(
      join(out, "target.bin"),
      built.sha256,
    );
    // Every peer that sent bad data was dropped and never contacted again:
    // one connection for the manifest, and at most two for chunks, open at
    // the same time (a small swarm gets second connections to spread the
    // checks over the fetch workers; a ban closes both).
    for (
      const behaviour of ["wrong_manifest", "bad_hash", "wrong_index"] as const
    ) {
      const seeder = seeders.get(behaviour)!;
      assert.ok(
        seeder.connections <= 3,
        `${behaviour}: ${seeder.connections} connections`,
      );
    }
    assert.ok(
      seeders.get("unsolicited")!.connections <= 3,
      `unsolicited: ${seeders.get("unsolicited")!.connections} connections`,
    );
    // The honest seeder served real chunks.
    assert.ok(seeders.get("honest")!.gets.size > 0);
  } finally {
    await Promise.all([...seeders.values()].map((seeder) => seeder.close()));
  }
});

Deno.test("a leecher fails with a clear error when the only seeder lies about the manifest", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(3 * CHUNK).fill(5);
  const built = h.manifestOf(data, "lie.bin");
  await using liar = h.listedFake(tracker, data, built, {
    behaviour: "wrong_manifest",
  });
  const out = join(dir.path, "out");
  const result = await h.getFile(tracker, toHex(built.id), out, {
    giveUpAfterSeconds: 3,
    timeoutMs: 30_000,
  });
  assert.equal(result.code, 5, result.stderr);
  assert.match(result.stderr, /does not hash/);
  // Banned after the first lie: asked once, not once per retry.
  assert.equal(liar.manifestRequests, 1);
  // Nothing was written: not even the download folder was needed.
  const written = await Array.fromAsync(Deno.readDir(out)).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  });
  assert.deepEqual(written.filter((entry) => entry.name !== ".shoal"), []);
});

Deno.test("a lone seeder that sends a bad chunk is dropped on both its connections and never asked again", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(16 * CHUNK);
  for (let i = 0; i < data.byteLength; i += 4096) data[i] = i / 4096;
  const built = h.manifestOf(data, "lone.bin");
  await using liar = h.listedFake(tracker, data, built, {
    behaviour: "bad_hash",
  });
  const result = await h.getFile(
    tracker,
    toHex(built.id),
    join(dir.path, "out"),
    {
      // Long enough for a retry (every 3 s) if the ban did not hold.
      giveUpAfterSeconds: 8,
      timeoutMs: 40_000,
    },
  );
  // No honest peer: the download gives up, with the exit code for that.
  assert.equal(result.code, 5, result.stderr);
  // One connection for the manifest and, as it is the only peer, two for
  // chunks (one per fetch worker); after the first bad chunk, no more.
  assert.ok(liar.connections <= 3, `${liar.connections} connections`);
  const asked = [...liar.gets.values()].reduce((sum, n) => sum + n, 0);
  assert.ok(asked <= 2 * 16, `${asked} GETs`);
});
