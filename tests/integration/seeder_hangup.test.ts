/**
 * A peer that asks for chunks and hangs up before they arrive costs its
 * connection, never the seeder process (a broken pipe mid-chunk once
 * crashed it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createMessage, fromHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";

Deno.test("a seeder survives peers that hang up in the middle of chunks", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "big.bin");
  await h.makeFile(source, 32 * 512 * 1024, 4);
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "seed"));
  try {
    const id = fromHex(
      seeder.lines.join("\n").match(/id ([0-9a-f]{64})/)![1]!,
    )!;
    for (let round = 0; round < 5; round++) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: seeder.port,
      });
      const frames = [
        createMessage({
          kind: "handshake",
          txid: 0,
          fileId: id,
          peerId: new Uint8Array(16),
          port: 0,
        }),
      ];
      for (let i = 0; i < 16; i++) {
        frames.push(createMessage({ kind: "get", txid: i + 1, index: i }));
      }
      for (const frame of frames) await conn.write(frame);
      // Read a little, so the seeder is mid-chunk, then reset the connection.
      await conn.read(new Uint8Array(4096));
      conn.close();
    }
    const out = join(dir.path, "leech");
    const result = await h.spawnLeecher(tracker, "big.bin", out, null).done(
      60_000,
    );
    assert.equal(result.code, 0, result.stderr);
    await h.assertSameFile(join(out, "big.bin"), source);
  } finally {
    assert.equal(
      await seeder.stop(),
      0,
      "the seeder must still be running and stop cleanly",
    );
  }
});
