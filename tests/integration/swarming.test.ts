/**
 * A real swarm on loopback: one rate-limited seeder process and eight
 * leechers started together (in this process, to read their statistics).
 * Partial seeding lets the leechers feed each other.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import { PeerNode } from "../../peer/node.ts";

const CHUNK = 512 * 1024;
const CHUNKS = 32;
const LEECHERS = 8;
/** Connections one address may hold here: every peer of this swarm is 127.0.0.1. */
const LOOPBACK_CONNS = 100;

Deno.test("one seeder and eight leechers: everyone ends with the file, mostly from each other", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "crowd.bin");
  await h.makeFile(source, CHUNKS * CHUNK, 21);
  const expected = await h.sha256File(source);
  // 4 MB/s: one copy takes about 4 s, eight copies from the seeder alone over 30 s.
  const seeder = h.spawnPeer(tracker, [
    "--seed",
    source,
    "--out",
    join(dir.path, "seed"),
    "--host",
    "127.0.0.1",
    "--max-upload",
    "4M",
    "--upload-slots",
    "3",
    // Every leecher connects from 127.0.0.1: lift the per-address cap.
    "--max-conns-per-ip",
    String(LOOPBACK_CONNS),
  ]);
  const nodes: PeerNode[] = [];
  try {
    const [, seederPort] = await seeder.waitFor(/serving peers on port (\d+)/);
    for (let i = 0; i < LEECHERS; i++) {
      const node = await PeerNode.start({
        trackers: [{ host: tracker.host, port: tracker.port }],
        outDir: join(dir.path, `leech${i}`),
        hostname: "127.0.0.1",
        keepaliveMs: 1_000,
        maxConnectionsPerAddress: LOOPBACK_CONNS,
      });
      node.startAnnouncing();
      nodes.push(node);
    }
    const started = performance.now();
    const results = await Promise.all(
      nodes.map((node) =>
        node.download({ name: "crowd.bin" }, {
          workers: 1,
          giveUpAfterMs: 60_000,
        })
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    let fromSeeder = 0;
    let fromPeers = 0;
    for (const result of results) {
      await h.assertFileHash(result.path, expected);
      for (const [key, count] of Object.entries(result.chunksByPeer)) {
        if (key === `127.0.0.1:${seederPort}`) fromSeeder += count;
        else fromPeers += count;
      }
    }
    assert.equal(fromSeeder + fromPeers, LEECHERS * CHUNKS);
    const share = fromPeers / (LEECHERS * CHUNKS);
    assert.ok(
      share >= 0.5,
      `leechers got ${
        (share * 100).toFixed(0)
      } % of their chunks from each other (seeder ${fromSeeder}, peers ${fromPeers}, ${
        seconds.toFixed(1)
      } s)`,
    );
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
    await seeder.stop();
  }
});
