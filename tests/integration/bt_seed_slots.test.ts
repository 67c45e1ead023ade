/**
 * BitTorrent peers take the same upload slots as Shoal peers: a real
 * PeerServer on loopback with one slot unchokes the first interested
 * BitTorrent peer, keeps the second choked (its requests rejected, BEP 6)
 * until the first leaves, then unchokes it; blocks come back as asked (the
 * last one padded with zeros), and a cancelled request is answered with a
 * reject (BEP 6).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type BtFrame, encodeBtMessage } from "@shoal/protocol";
import { concatBytes } from "../../bench/_bytes.ts";
import { Library } from "../../peer/library/library.ts";
import { PeerServer } from "../../peer/wire/server.ts";
import * as h from "../_helpers/mod.ts";
import { BtTestClient } from "../_helpers/bittorrent.ts";

const SIZE = 2 * 512 * 1024 + 100;

const is = (kind: string) => (frame: BtFrame) => frame.kind === kind;

Deno.test("BitTorrent peers wait in line for the server's one upload slot, and are served in turn", async () => {
  await using dir = await h.tempDir();
  const source = join(dir.path, "shared.bin");
  await h.makeFile(source, SIZE, 8);
  const bytes = await Deno.readFile(source);
  const library = new Library(join(dir.path, ".shoal"));
  const file = await library.seedPath(source);
  const infoHash = file.id.subarray(0, 20);
  const server = PeerServer.listen({
    library,
    hostname: "127.0.0.1",
    uploadSlots: 1,
  });
  const first = await BtTestClient.connect(server.port);
  const second = await BtTestClient.connect(server.port);
  try {
    for (const client of [first, second]) {
      await client.handshake(infoHash);
      await client.next(is("handshake"));
      await client.next(is("have_all"));
    }
    await first.send({ kind: "interested" });
    await first.next(is("unchoke"));
    await second.send({ kind: "interested" });
    // The second is choked: its request is rejected, not served.
    const asked = { index: 0, begin: 0, length: 16384 };
    await second.send({ kind: "request", ...asked });
    const rejected = await second.next(is("reject"));
    assert.deepEqual(rejected, { kind: "reject", ...asked });

    // The first gets the last block in full: the file's bytes, then zeros.
    await first.send({ kind: "request", index: 2, begin: 0, length: 16384 });
    const last = await first.next(is("piece"));
    const block = (last as { block: Uint8Array }).block;
    assert.equal(block.byteLength, 16384);
    assert.deepEqual(block.subarray(0, 100), bytes.subarray(2 * 524288));
    assert.ok(block.subarray(100).every((b) => b === 0));
    // And a block inside a piece, byte for byte.
    await first.send({
      kind: "request",
      index: 1,
      begin: 32768,
      length: 16384,
    });
    const middle = await first.next(is("piece"));
    assert.deepEqual(
      (middle as { block: Uint8Array }).block,
      bytes.subarray(524288 + 32768, 524288 + 49152),
    );
    // The first leaves: the slot is the second's.
    await first.close();
    await second.next(is("unchoke"));
    await second.send({ kind: "request", ...asked });
    const piece = await second.next(is("piece"));
    assert.deepEqual(
      (piece as { block: Uint8Array }).block,
      bytes.subarray(0, 16384),
    );
  } finally {
    await first.close();
    await second.close();
    await server.close();
  }
});

Deno.test("a cancelled BitTorrent request still queued is answered with a reject (BEP 6)", async () => {
  await using dir = await h.tempDir();
  const source = join(dir.path, "shared.bin");
  await h.makeFile(source, 4 * 512 * 1024, 9);
  const library = new Library(join(dir.path, ".shoal"));
  const file = await library.seedPath(source);
  // 64 KiB/s after a 1 MiB burst: the 65th block on waits in the queue.
  const server = PeerServer.listen({
    library,
    hostname: "127.0.0.1",
    maxUploadBytesPerSecond: 64 * 1024,
  });
  const client = await BtTestClient.connect(server.port);
  try {
    await client.handshake(file.id.subarray(0, 20));
    await client.send({ kind: "interested" });
    await client.next(is("unchoke"));
    const requests = [];
    for (let i = 0; i < 70; i++) {
      requests.push(encodeBtMessage({
        kind: "request",
        index: Math.floor(i / 32),
        begin: (i % 32) * 16384,
        length: 16384,
      }));
    }
    const last = { index: 2, begin: 5 * 16384, length: 16384 };
    await client.write(concatBytes(
      ...requests,
      encodeBtMessage({ kind: "cancel", ...last }),
    ));
    assert.deepEqual(await client.next(is("reject")), {
      kind: "reject",
      ...last,
    });
  } finally {
    await client.close();
    await server.close();
  }
});
