/**
 * `--seed DIR` (issue 19), as Shoal peers and a hand-driven BitTorrent
 * client see it: a Shoal leecher gets a folder a Shoal seeder shares, by
 * id or magnet link; and a file of
 * the seeded folder swapped for a link to a file outside it is never read:
 * the seeder drops the connection instead and stops serving the folder.
 * A Shoal peer asking for a folder's chunk gets it from the file holding it;
 * a restart seeds the folder again under the same id. The web page seeds a
 * folder by path, and refuses to open or delete it as a file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BT_INFOHASH_BYTES,
  createMessage,
  FrameDecoder,
  fromHex,
  type Message,
  parseFolderManifest,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { BtTestClient } from "../_helpers/bittorrent.ts";

const PIECE = 512 * 1024;

async function makeAlbum(root: string): Promise<void> {
  await Deno.mkdir(join(root, "disc"), { recursive: true });
  await h.makeFile(join(root, "disc", "a.bin"), PIECE + 100, 1);
  await h.makeFile(join(root, "disc", "b.bin"), 2 * PIECE, 2);
}

/** The id and magnet link the seeder printed for `name`. */
function seeded(lines: string[], name: string): { id: string; magnet: string } {
  const at = lines.findIndex((line) => line.startsWith(`seeding ${name} `));
  assert.ok(at >= 0, lines.join("\n"));
  return { id: lines[at]!.split(" id ")[1]!, magnet: lines[at + 1]! };
}

Deno.test("a Shoal leecher gets a folder a Shoal seeder shares, by id or magnet link", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"));
  try {
    const { id, magnet } = seeded(seeder.lines, "album");
    for (const [i, query] of [id, magnet].entries()) {
      const out = join(dir.path, `out${i}`);
      const result = await h.spawnLeecher(tracker, query, out, 20).done(
        40_000,
      );
      assert.equal(result.code, 0, result.stderr + result.stdout);
      for (const name of ["a.bin", "b.bin"]) {
        await h.assertSameFile(
          join(out, "album", "disc", name),
          join(album, "disc", name),
        );
      }
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("a file of a seeded folder swapped for a link to a file outside it is never served: the BitTorrent peer asking for it is dropped, and the folder is no longer served", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  // Old enough that the seeder trusts the files' ctimes and reads blocks
  // without hashing them: only the inode check stands between a link and
  // the bytes it points to.
  await new Promise((resolve) => setTimeout(resolve, 2_200));
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"), [
    "--host",
    "127.0.0.1",
  ]);
  try {
    const infoHash = fromHex(seeded(seeder.lines, "album").id)!.subarray(
      0,
      BT_INFOHASH_BYTES,
    );
    // A secret outside the folder, the size of disc/b.bin, takes its place.
    const secret = join(dir.path, "secret.bin");
    await h.makeFile(secret, 2 * PIECE, 99);
    const original = await Deno.stat(join(album, "disc", "b.bin"));
    await Deno.utime(secret, original.atime!, original.mtime!);
    await Deno.remove(join(album, "disc", "b.bin"));
    await Deno.symlink(secret, join(album, "disc", "b.bin"));

    const client = await BtTestClient.connect(seeder.port);
    try {
      await client.handshake(infoHash);
      await client.send({ kind: "interested" });
      await client.next((frame) => frame.kind === "unchoke");
      // Piece 0 is disc/a.bin's, read as seeded.
      await client.send({ kind: "request", index: 0, begin: 0, length: 16384 });
      const first = await client.next((frame) => frame.kind === "piece");
      assert.equal(first.kind === "piece" && first.begin, 0);
      // Piece 2 is the first of disc/b.bin, now the link.
      await client.send({ kind: "request", index: 2, begin: 0, length: 16384 });
      assert.notEqual(await client.closedWithin(10_000), null);
      const leaked = client.seen.some((frame) =>
        frame.kind === "piece" && frame.index === 2
      );
      assert.ok(!leaked, "a block of the file outside the folder was sent");
    } finally {
      await client.close();
    }
    // The folder is no longer served at all.
    const again = await BtTestClient.connect(seeder.port);
    try {
      await again.handshake(infoHash);
      assert.notEqual(await again.closedWithin(10_000), null);
      assert.ok(!again.seen.some((frame) => frame.kind === "handshake"));
    } finally {
      await again.close();
    }
  } finally {
    await seeder.stop();
  }
});

/** A Shoal GET of chunk `index` of `fileId`: the answer (chunk or error). */
async function askShoal(
  port: number,
  fileId: Uint8Array,
  index: number,
): Promise<Message> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      createMessage({
        kind: "handshake",
        txid: 0,
        fileId,
        peerId: new Uint8Array(16),
        port: 0,
      }),
    );
    await conn.write(createMessage({ kind: "get", txid: 7, index }));
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(64 * 1024);
    for (let reads = 0; reads < 100; reads++) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let answer: Message | null = null;
      decoder.push(buffer.subarray(0, n), (message) => {
        if (
          message.txid === 7 &&
          (message.kind === "chunk_data" || message.kind === "error")
        ) answer = message;
      });
      if (answer) return answer;
    }
    throw new Error(`No answer to GET ${index}`);
  } finally {
    conn.close();
  }
}

Deno.test("a Shoal peer asking for a chunk of a seeded folder gets it, read from the file holding it (the BEP 52 piece index), and the folder is still served; a restart seeds it again under the same id, hashed once", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const state = join(dir.path, "s");
  const seeder = await h.startSeeder(tracker, [album], state);
  let id: string;
  try {
    id = seeded(seeder.lines, "album").id;
    const a = await Deno.readFile(join(album, "disc", "a.bin"));
    const b = await Deno.readFile(join(album, "disc", "b.bin"));
    // a.bin is pieces 0 and 1 (the second 100 bytes), b.bin 2 and 3.
    const expected = new Map([
      [1, a.subarray(PIECE)],
      [2, b.subarray(0, PIECE)],
      [3, b.subarray(PIECE)],
    ]);
    for (const [index, bytes] of expected) {
      const answer = await askShoal(seeder.port, fromHex(id)!, index);
      assert.equal(answer.kind, "chunk_data", JSON.stringify(answer));
      assert.equal(answer.kind === "chunk_data" && answer.index, index);
      assert.deepEqual(answer.kind === "chunk_data" && answer.data, bytes);
    }
    const past = await askShoal(seeder.port, fromHex(id)!, 4).catch(() => null);
    assert.notEqual(past?.kind, "chunk_data");
    // Not marked changed by the asking: BitTorrent peers still get it.
    const client = await BtTestClient.connect(seeder.port);
    try {
      await client.handshake(fromHex(id)!.subarray(0, BT_INFOHASH_BYTES));
      await client.next((frame) => frame.kind === "have_all");
    } finally {
      await client.close();
    }
  } finally {
    await seeder.stop();
  }
  // No --seed: what the state folder remembers.
  const again = await h.startSeeder(tracker, [], state);
  try {
    assert.ok(
      again.lines.some((line) =>
        line.startsWith("seeding album again ") && line.endsWith(` id ${id}`)
      ),
      again.lines.join("\n"),
    );
  } finally {
    await again.stop();
  }
  // --seed of the remembered folder: seeded (and hashed) once.
  const given = await h.startSeeder(tracker, [album], state);
  try {
    const lines = given.lines.filter((line) => line.startsWith("seeding "));
    assert.equal(lines.length, 1, given.lines.join("\n"));
    assert.ok(lines[0]!.endsWith(` id ${id}`));
  } finally {
    await given.stop();
  }
});

Deno.test("the web page seeds a folder by path, lists it with its size, and neither opens it as a file nor deletes it", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const out = join(dir.path, "out");
  const album = join(out, "album");
  await makeAlbum(album);
  const ui = h.spawnPeer(tracker, ["--ui", "--ui-port", "0", "--out", out]);
  try {
    const match = await ui.waitFor(
      /^Shoal web page: (http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]{43})$/,
    );
    const [origin, token] = [match[1]!, match[2]!];
    const call = (path: string, body?: unknown) =>
      fetch(`${origin}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "x-shoal-token": token, "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
      });
    const seeded = await call("/api/seed/path", { path: album });
    const view = await seeded.json();
    assert.equal(seeded.status, 201, JSON.stringify(view));
    assert.equal(view.name, "album");
    assert.equal(view.size, 3 * PIECE + 100);
    const opened = await call(`/files/${view.id}`);
    assert.equal(opened.status, 409);
    assert.match((await opened.json()).error, /it is a folder/);
    const removed = await call(`/api/seeds/${view.id}/remove`, {
      deleteFile: true,
    });
    assert.equal(removed.status, 403);
    assert.match((await removed.json()).error, /it is a folder/);
    assert.ok((await Deno.stat(join(album, "disc", "a.bin"))).isFile);
    assert.ok((await Deno.stat(join(album, "disc", "b.bin"))).isFile);
  } finally {
    await ui.stop();
  }
});

Deno.test("a BitTorrent peer gets a seeded folder's blocks at BEP 52 piece indices (zeros after a file's end), each file's hashes by its pieces root; an unknown root is rejected and a piece past the folder drops the peer", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const torrent = join(dir.path, "album.torrent");
  const made = await h.spawnDeno(h.PEER_MAIN, [
    "--make-torrent",
    album,
    "--torrent-out",
    torrent,
  ]).done(60_000);
  assert.equal(made.code, 0, made.stderr);
  const manifest = parseFolderManifest(await Deno.readFile(torrent));
  const b = manifest.files[1]!;
  assert.deepEqual([b.path, b.firstChunk], [["disc", "b.bin"], 2]);
  const aBytes = await Deno.readFile(join(album, "disc", "a.bin"));
  const bBytes = await Deno.readFile(join(album, "disc", "b.bin"));
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"), [
    "--host",
    "127.0.0.1",
  ]);
  try {
    const infoHash = fromHex(seeded(seeder.lines, "album").id)!.subarray(
      0,
      BT_INFOHASH_BYTES,
    );
    const client = await BtTestClient.connect(seeder.port);
    try {
      await client.handshake(infoHash);
      await client.send({ kind: "interested" });
      await client.next((frame) => frame.kind === "unchoke");
      const block = async (index: number, begin: number) => {
        await client.send({ kind: "request", index, begin, length: 16384 });
        const frame = await client.next((f) =>
          f.kind === "piece" && f.index === index && f.begin === begin
        );
        return frame.kind === "piece" ? frame.block.slice() : null;
      };
      // disc/a.bin's second piece: its last 100 bytes, then zeros.
      const tail = new Uint8Array(16384);
      tail.set(aBytes.subarray(PIECE));
      assert.deepEqual(await block(1, 0), tail);
      // disc/b.bin's second piece, second block.
      assert.deepEqual(
        await block(3, 16384),
        bBytes.subarray(PIECE + 16384, PIECE + 32768),
      );
      // disc/b.bin's piece layer, asked for by its pieces root.
      const ask = { baseLayer: 5, index: 0, length: 2, proofLayers: 0 };
      await client.send({
        kind: "hash_request",
        piecesRoot: b.piecesRoot!,
        ...ask,
      });
      const hashes = await client.next((f) =>
        f.kind === "hashes" || f.kind === "hash_reject"
      );
      assert.equal(hashes.kind, "hashes");
      assert.deepEqual(
        hashes.kind === "hashes" && hashes.hashes.slice(),
        b.chunkHashes.slice(),
      );
      await client.send({
        kind: "hash_request",
        piecesRoot: new Uint8Array(32).fill(7),
        ...ask,
      });
      const unknown = await client.next((f) =>
        f.kind === "hashes" || f.kind === "hash_reject"
      );
      assert.equal(unknown.kind, "hash_reject");
      // The folder has 4 pieces.
      await client.send({ kind: "request", index: 4, begin: 0, length: 16384 });
      assert.notEqual(await client.closedWithin(10_000), null);
    } finally {
      await client.close();
    }
  } finally {
    await seeder.stop();
  }
});
