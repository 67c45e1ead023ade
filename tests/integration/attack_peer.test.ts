/**
 * Attacks on a real seeder process over TCP: a frame whose length prefix is
 * huge, a slow sender (slowloris), a client that never speaks, one that
 * goes quiet after the handshake, more connections than the cap, and a
 * flood of GETs it never reads. After each, the seeder must still serve a
 * correct chunk to a well-behaved client, and its memory must stay bounded.
 * Timeouts are shortened through SHOAL_HANDSHAKE_TIMEOUT_MS and
 * SHOAL_IDLE_TIMEOUT_MS so the test stays quick.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chunkDigest,
  chunkHash,
  createHeader,
  createMessage,
  encodeBtHandshake,
  type Manifest,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { askChunks } from "../_helpers/ask_chunks.ts";
import { startImpatientSeeder } from "../_helpers/impatient_seeder.ts";
import { makeBuiltFile } from "../_helpers/seed_new_file.ts";

const CHUNK = 512 * 1024;
const TIMEOUT_MS = 3_000;

/** Resolves with the time (ms) until the server closed the connection, or null if it stayed open for `waitMs`. */
async function closedWithin(
  conn: Deno.Conn,
  waitMs: number,
): Promise<number | null> {
  const start = performance.now();
  const buffer = new Uint8Array(64 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"open">((resolve) => {
    timer = setTimeout(() => resolve("open"), waitMs);
  });
  const drained = (async () => {
    try {
      while ((await conn.read(buffer)) !== null) {
        // Discard whatever the server sends (ACK, BITFIELD, CHOKE...).
      }
    } catch (error) {
      if (
        !(error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted)
      ) throw error;
    }
    return "closed" as const;
  })();
  const result = await Promise.race([drained, timeout]);
  clearTimeout(timer);
  if (result === "open") {
    conn.close();
    await drained;
    return null;
  }
  return performance.now() - start;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** A well-behaved client: handshake, GET one chunk, check its hash. */
async function fetchChunk(
  port: number,
  fileId: Uint8Array,
  manifest: Manifest,
  index: number,
): Promise<void> {
  const [answer] = await askChunks(port, fileId, [index], 10_000);
  assert.ok(
    answer,
    "no chunk within 10 s, or the seeder closed the connection",
  );
  assert.equal(answer.kind, "chunk_data", JSON.stringify(answer));
  assert.deepEqual(
    chunkDigest(manifest, answer.data),
    chunkHash(manifest, index),
  );
}

async function startAttackedSeeder(
  dir: string,
): Promise<{
  seeder: h.RunningProcess;
  port: number;
  fileId: Uint8Array;
  manifest: Manifest;
  trackerStop: () => Promise<void>;
}> {
  const tracker = await h.startTracker();
  const { source, built } = await makeBuiltFile(
    dir,
    "served.bin",
    6 * CHUNK,
    23,
  );
  const seeder = await startImpatientSeeder(
    tracker,
    source,
    join(dir, "state"),
    TIMEOUT_MS,
  );
  return {
    seeder,
    port: seeder.port,
    fileId: built.id,
    manifest: built.manifest,
    trackerStop: () => tracker.stop(),
  };
}

Deno.test("a seeder process survives huge frames, slowloris, silence, a connection storm and a GET flood", async () => {
  await using dir = await h.tempDir();
  const { seeder, port, fileId, manifest, trackerStop } =
    await startAttackedSeeder(dir.path);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  const hello = createMessage({
    kind: "handshake",
    txid: 1,
    fileId,
    peerId: new Uint8Array(16).fill(2),
    port: 0,
  });
  try {
    await fetchChunk(port, fileId, manifest, 0);
    const rssBefore = await h.rssKiB(seeder.child.pid);

    // 1. Huge length prefixes: a MANIFEST header claiming 8 MB, and a
    // header claiming 4 GiB. Dropped on the header, long before any timeout.
    for (
      const header of [
        createHeader("manifest", { txid: 0, bodyLength: 8_000_000 }),
        (() => {
          const bytes = createHeader("bitfield", { txid: 0, bodyLength: 0 });
          new DataView(bytes.buffer).setUint32(10, 0xffff_ffff);
          return bytes;
        })(),
      ]
    ) {
      const conn = await connect();
      await writeAll(conn, header);
      const ms = await closedWithin(conn, TIMEOUT_MS * 3);
      assert.ok(ms !== null && ms < TIMEOUT_MS / 2, `closed after ${ms} ms`);
    }
    // Same after a valid handshake (the per-connection cap is 32 KiB).
    {
      const conn = await connect();
      await writeAll(conn, hello);
      await writeAll(
        conn,
        createHeader("chunk_data", { txid: 0, bodyLength: 64 * 1024 }),
      );
      const ms = await closedWithin(conn, TIMEOUT_MS * 3);
      assert.ok(ms !== null && ms < TIMEOUT_MS / 2, `closed after ${ms} ms`);
    }

    // 2. Slowloris: the handshake one byte every 150 ms would take 9.6 s;
    // the handshake timeout closes it first.
    {
      const conn = await connect();
      const start = performance.now();
      let closedAt: number | null = null;
      for (let i = 0; i < hello.byteLength; i++) {
        try {
          await writeAll(conn, hello.subarray(i, i + 1));
        } catch {
          closedAt = performance.now() - start;
          break;
        }
        await h.sleep(150);
        if (performance.now() - start > TIMEOUT_MS * 3) break;
      }
      const ms = closedAt ?? (await closedWithin(conn, TIMEOUT_MS * 2));
      assert.ok(ms !== null, "the slow sender was never dropped");
      const total = performance.now() - start;
      assert.ok(total < TIMEOUT_MS * 3, `dropped after ${total} ms`);
    }

    // 3. Silence before and after the handshake: both are timed out. So is
    // a BitTorrent peer that talks (keepalives) past one timeout, then stops:
    // the idle clock runs from its last message, not from its first.
    {
      const silent = await connect();
      const quiet = await connect();
      const btQuiet = await connect();
      await writeAll(quiet, hello);
      await writeAll(
        btQuiet,
        encodeBtHandshake({
          infoHash: fileId.subarray(0, 20),
          peerId: new Uint8Array(20).fill(3),
        }),
      );
      const closed = [
        closedWithin(silent, TIMEOUT_MS * 3),
        closedWithin(quiet, TIMEOUT_MS * 3),
        closedWithin(btQuiet, TIMEOUT_MS * 5),
      ] as const;
      const keepalive = new Uint8Array(4);
      const talkStart = performance.now();
      for (let i = 0; i < 6; i++) {
        await h.sleep(TIMEOUT_MS / 4);
        await writeAll(btQuiet, keepalive).catch(() => {});
      }
      const talkedFor = performance.now() - talkStart;
      const [a, b, c] = await Promise.all(closed);
      assert.ok(a !== null && a >= TIMEOUT_MS * 0.8, `silent: ${a} ms`);
      assert.ok(b !== null && b >= TIMEOUT_MS * 0.8, `quiet: ${b} ms`);
      assert.ok(
        c !== null && c >= talkedFor + TIMEOUT_MS * 0.8,
        `BitTorrent peer quiet after ${
          talkedFor.toFixed(0)
        } ms: closed at ${c} ms`,
      );
    }

    // 4. A connection storm: 150 at once; past the cap (128) they are
    // closed at once, and the rest time out.
    {
      const conns = await Promise.all(
        Array.from({ length: 150 }, () => connect()),
      );
      const times = await Promise.all(
        conns.map((conn) => closedWithin(conn, TIMEOUT_MS * 3)),
      );
      const early = times.filter((ms) => ms !== null && ms < TIMEOUT_MS / 2);
      const timedOut = times.filter((ms) => ms !== null);
      assert.ok(early.length >= 150 - 128, `${early.length} refused at once`);
      assert.equal(timedOut.length, 150, "a storm connection stayed open");
    }

    // 5. A GET flood it never reads: the queue cap (64) drops it.
    {
      const conn = await connect();
      await writeAll(conn, hello);
      const gets = new Uint8Array(
        Array.from({ length: 300 }, (_, i) =>
          Array.from(
            createMessage({ kind: "get", txid: 10 + i, index: i % 6 }),
          )).flat(),
      );
      // Do not wait on the write: the seeder may stop reading.
      const writing = writeAll(conn, gets).catch(() => {});
      await h.sleep(TIMEOUT_MS * 2);
      const ms = await closedWithin(conn, TIMEOUT_MS * 2);
      await writing;
      assert.ok(ms !== null, "the GET flood connection stayed open");
    }

    // 6. A GET for a chunk that does not exist, and a second HANDSHAKE.
    for (
      const bad of [
        createMessage({ kind: "get", txid: 3, index: 6 }),
        hello,
        createMessage({ kind: "get_count", txid: 1, cookie: 1n, fileId }),
      ]
    ) {
      const conn = await connect();
      await writeAll(conn, hello);
      await writeAll(conn, bad);
      const ms = await closedWithin(conn, TIMEOUT_MS * 3);
      assert.ok(ms !== null && ms < TIMEOUT_MS / 2, `closed after ${ms} ms`);
    }

    // Still alive, still correct, memory bounded.
    await fetchChunk(port, fileId, manifest, 5);
    const rssAfter = await h.rssKiB(seeder.child.pid);
    if (rssBefore !== null && rssAfter !== null) {
      assert.ok(
        rssAfter - rssBefore < 96 * 1024,
        `RSS grew from ${rssBefore} KiB to ${rssAfter} KiB`,
      );
    }
  } finally {
    await seeder.stop();
    await trackerStop();
  }
});
