/**
 * A seeder skips hashing chunks on read only while the file's change time
 * is the one its bytes were checked at. A file touched after that, even with
 * its size and modification time put back, is hashed again on every read,
 * so a changed chunk is never served, until a background re-check of the
 * whole file finds it unchanged and its new ctime vouches for it. The same
 * holds on a connection opened while the peer was still downloading the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bytesEqual,
  chunkDigest,
  chunkHash,
  createMessage,
  ErrorCode,
  FrameDecoder,
  fromHex,
  type Message,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { askChunks } from "../_helpers/ask_chunks.ts";
import { makeBuiltFile, seedNewFile } from "../_helpers/seed_new_file.ts";

const CHUNK = 512 * 1024;

/** The seeder's answer to a GET of chunk `index` (CHUNK_DATA or ERROR). */
async function ask(
  port: number,
  fileId: Uint8Array,
  index: number,
): Promise<Message> {
  const [answer] = await askChunks(port, fileId, [index], 10_000);
  if (!answer) throw new Error(`No answer to GET ${index}`);
  return answer;
}

Deno.test("a seeder never serves a chunk of a file changed after its ctime was trusted", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built } = await makeBuiltFile(
    dir.path,
    "old.bin",
    4 * CHUNK,
    31,
  );
  // Old enough (file times may be whole seconds) for the seeder to trust its ctime.
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
  try {
    const first = await ask(seeder.port, built.id, 1);
    assert.equal(first.kind, "chunk_data");
    const before = await Deno.stat(source);
    {
      using file = await Deno.open(source, { write: true });
      await file.seek(2 * CHUNK + 5, Deno.SeekMode.Start);
      await file.write(new Uint8Array(100).fill(0x55));
    }
    await Deno.utime(source, before.atime!, before.mtime!);
    const answer = await ask(seeder.port, built.id, 2);
    if (answer.kind === "chunk_data") {
      assert.deepEqual(
        chunkDigest(built.manifest, answer.data),
        chunkHash(built.manifest, 2),
        "chunk 2 sent with changed bytes",
      );
    } else {
      assert.equal(answer.kind, "error");
      assert.equal(answer.code, ErrorCode.NOT_AVAILABLE);
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("a seeder re-checks a file whose ctime moved once it serves from it, and trusts it again", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { source, built, seeder, state } = await seedNewFile(
    tracker,
    dir.path,
    "moved.bin",
    4 * CHUNK,
    33,
  );
  try {
    // A hard link moves the ctime, as the bench's links for other clients do.
    await Deno.link(source, join(dir.path, "link.bin"));
    const ctimeMs = (await Deno.stat(source)).ctime!.getTime();
    const answer = await ask(seeder.port, built.id, 1);
    assert.equal(answer.kind, "chunk_data");
    // Served (hashed on read), and re-checked in the background once the
    // ctime is 2 s old: the saved state then vouches for the new ctime.
    const seeds = join(state, ".shoal", "seeds.json");
    const deadline = Date.now() + 15_000;
    let saved: number | undefined;
    while (Date.now() < deadline) {
      const text = await Deno.readTextFile(seeds);
      saved = JSON.parse(text).files[0]?.ctimeMs;
      if (saved === ctimeMs) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(saved, ctimeMs);
    // And it still serves the right bytes.
    const again = await ask(seeder.port, built.id, 3);
    assert.equal(again.kind, "chunk_data");
    if (again.kind === "chunk_data") {
      assert.deepEqual(
        chunkDigest(built.manifest, again.data),
        chunkHash(built.manifest, 3),
      );
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("a connection opened while a peer was still downloading stops getting chunks of the file once its owner changes it", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "grow.bin");
  await h.makeFile(source, 16 * CHUNK, 61);
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"), [
    "--max-upload",
    "4M",
  ]);
  const id = fromHex(
    (await seeder.waitFor(/^seeding grow\.bin .* id ([0-9a-f]{64})$/))[1]!,
  )!;
  // A peer that downloads, then seeds, on a port known beforehand.
  const port = h.freePort();
  const out = join(dir.path, "b");
  const peer = h.spawnPeer(tracker, [
    "--get",
    "grow.bin",
    "--out",
    out,
    "--port",
    String(port),
    "--json",
  ]);
  let conn: Deno.Conn | null = null;
  try {
    await peer.waitFor(/"state":"downloading"/);
    // Handshaken while the file is a part file, kept open throughout.
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = rawShoalClient(conn);
    assert.equal((await client.handshake(id)).kind, "ack");
    await peer.waitFor(/^\{"type":"done"/, 30_000);
    const whole = await Deno.readFile(source);
    const before = await client.get(0);
    assert.equal(before.kind, "chunk_data");
    assert.ok(
      before.kind === "chunk_data" &&
        bytesEqual(before.data, whole.subarray(0, CHUNK)),
    );
    // Its owner rewrites the downloaded file in place.
    await Deno.writeFile(join(out, "grow.bin"), new Uint8Array(16 * CHUNK));
    const after = await client.get(1);
    assert.equal(after.kind, "error", "a chunk of the changed file was served");
    assert.ok(
      after.kind === "error" && after.code === ErrorCode.NOT_AVAILABLE,
    );
  } finally {
    conn?.close();
    await peer.stop();
    await seeder.stop();
  }
});

/** A Shoal client on one connection: a handshake, then one GET at a time. */
function rawShoalClient(conn: Deno.Conn) {
  const decoder = new FrameDecoder();
  const waiting: Message[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let txid = 1;
  const send = async (frame: Uint8Array) => {
    for (let at = 0; at < frame.byteLength;) {
      at += await conn.write(frame.subarray(at));
    }
  };
  const answer = async (want: number): Promise<Message> => {
    for (let reads = 0; reads < 10_000; reads++) {
      const found = waiting.findIndex((message) => message.txid === want);
      if (found >= 0) return waiting.splice(found, 1)[0]!;
      const n = await conn.read(buffer);
      if (n === null) throw new Error("The peer closed the connection");
      decoder.push(buffer.subarray(0, n), (message) => {
        waiting.push(
          message.kind === "chunk_data"
            ? { ...message, data: message.data.slice() }
            : message,
        );
      });
    }
    throw new Error(`No answer to ${want}`);
  };
  return {
    async handshake(fileId: Uint8Array): Promise<Message> {
      const t = txid++;
      await send(createMessage({
        kind: "handshake",
        txid: t,
        fileId,
        peerId: new Uint8Array(16).fill(9),
        port: 0,
      }));
      return await answer(t);
    },
    async get(index: number): Promise<Message> {
      const t = txid++;
      await send(createMessage({ kind: "get", txid: t, index }));
      return await answer(t);
    },
  };
}
