/**
 * Hostile BitTorrent seeders against a Shoal leecher: wrong piece data,
 * blocks nobody asked for, a message longer than any block, a handshake for
 * another file, metadata and piece hashes that lie. Each is dropped and
 * banned; the download finishes from the honest peer. The fakes speak the
 * BitTorrent wire (tests/_helpers/fake_bt_seeder.ts) and, like BitTorrent
 * clients, close a Shoal handshake without a word, so the leecher asks them
 * again in BitTorrent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { magnetLink } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { makeBuiltFile, seedNewFile } from "../_helpers/seed_new_file.ts";

const CHUNK = 512 * 1024;

Deno.test("BitTorrent seeders that send wrong pieces, unasked blocks, oversized messages or another file's handshake are dropped and banned; the download finishes", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // The honest one is slow, so every liar is asked for pieces meanwhile.
  const { source, data, built, seeder: honest } = await seedNewFile(
    tracker,
    dir.path,
    "target.bin",
    8 * CHUNK + 777,
    31,
    ["--max-upload", "1M"],
  );
  const liars =
    (["bad_piece", "unasked", "oversized", "other_infohash"] as const)
      .map((behaviour) => ({
        behaviour,
        seeder: h.listedBtFake(tracker, data, built, { behaviour }),
      }));
  try {
    // From a .torrent: no manifest race, every liar is met by the fetch
    // workers (the race would ban the one with another file's handshake).
    const torrent = await h.writeTorrent(dir.path, built);
    const out = join(dir.path, "out");
    const result = await h.spawnLeecher(tracker, torrent, out, 30, [
      "--json",
    ]).done(60_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    await h.assertSameFile(join(out, "target.bin"), source);
    const events = h.jsonEvents(result.stdout);
    const done = h.doneEvent(result.stdout);
    // The honest seeder gave chunks. A liar's chunk counts only if it passed
    // the piece hash before the liar broke a rule (under load a liar may get
    // a request answered before its lie): those are the right bytes anyway.
    assert.ok(
      done.chunksByPeer[`127.0.0.1:${honest.port}`]! > 0,
      JSON.stringify(done.chunksByPeer),
    );
    const dropped = Math.max(
      ...events.filter((e) => e.type === "progress").map((e) =>
        e.peersDropped as number
      ),
    );
    assert.equal(dropped, liars.length);
    for (const { behaviour, seeder } of liars) {
      // Asked in Shoal, then in BitTorrent; banned after that, so never
      // more than the two connections one peer may get at once.
      assert.ok(seeder.otherProtocol >= 1, behaviour);
      assert.ok(
        seeder.btHandshakes >= 1 && seeder.btHandshakes <= 2,
        `${behaviour}: ${seeder.btHandshakes} BitTorrent handshakes`,
      );
      if (behaviour !== "other_infohash") {
        assert.ok(seeder.requests >= 1, `${behaviour} was asked for blocks`);
      }
    }
  } finally {
    await honest.stop();
    for (const { seeder } of liars) await seeder.close();
  }
});

Deno.test("BitTorrent peers whose metadata, piece hashes or handshake lie are banned from a magnet download, which gets the manifest from the honest one", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, data, built } = await makeBuiltFile(
    dir.path,
    "magnet.bin",
    5 * CHUNK + 100,
    32,
  );
  const { manifest, id } = built;
  const fake = (behaviour: h.FakeBtBehaviour, handshakeDelayMs = 0) =>
    h.listedBtFake(tracker, data, built, { behaviour, handshakeDelayMs });
  // The honest one answers late, so the liars are asked first.
  const honest = fake("honest", 1_000);
  const liars = (["lying_metadata", "lying_hashes", "other_infohash"] as const)
    .map((behaviour) => ({ behaviour, seeder: fake(behaviour) }));
  try {
    const out = join(dir.path, "out");
    const link = magnetLink(id, "magnet.bin", []);
    const result = await h.spawnLeecher(tracker, link, out, 30, ["--json"])
      .done(60_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    await h.assertSameFile(join(out, "magnet.bin"), source);
    const done = h.doneEvent(result.stdout);
    assert.deepEqual(done.chunksByPeer, {
      [`127.0.0.1:${honest.port}`]: manifest.chunkCount,
    });
    assert.ok(honest.metadataRequests >= 1);
    assert.ok(honest.hashRequests >= 1);
    for (const { behaviour, seeder } of liars) {
      assert.equal(seeder.btHandshakes, 1, behaviour);
      assert.equal(seeder.requests, 0, behaviour);
    }
    const [metadata, hashes] = liars.map((l) => l.seeder);
    assert.equal(metadata!.metadataRequests, 1);
    assert.equal(hashes!.hashRequests, 1);
  } finally {
    await honest.close();
    for (const { seeder } of liars) await seeder.close();
  }
});
