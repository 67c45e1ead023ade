/**
 * A ban holds beyond the download: a BitTorrent peer that sent a Shoal
 * leecher a bad piece is banned, and while the ban lasts the leecher's own
 * server (it seeds what it has) refuses that address's new connections in
 * either protocol, without reading or sending a byte, while other
 * addresses are served. The liar is tests/_helpers/fake_bt_seeder.ts on
 * 127.0.0.1; the other address is ::1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";
import { BtTestClient } from "../_helpers/bittorrent.ts";

const CHUNK = 512 * 1024;

Deno.test("a BitTorrent peer that sent a bad piece is banned: the leecher's server then refuses new connections from its address, and serves others", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // Slow, so the liar is asked for pieces meanwhile.
  const { source, data, built, seeder: honest } = await seedNewFile(
    tracker,
    dir.path,
    "ban.bin",
    8 * CHUNK + 99,
    51,
    ["--max-upload", "1M"],
  );
  const liar = h.listedBtFake(tracker, data, built, { behaviour: "bad_piece" });
  const torrent = await h.writeTorrent(dir.path, built);
  // Not --no-seed: it serves (on "::", both families) while and after it
  // downloads.
  const leecher = h.spawnPeer(tracker, [
    "--get",
    torrent,
    "--out",
    join(dir.path, "out"),
    "--give-up-after",
    "30",
    "--json",
  ]);
  const clients: BtTestClient[] = [];
  try {
    const serving = await leecher.waitFor(/"type":"serving".*"port":(\d+)/);
    const port = Number(serving[1]);
    const { input: doneLine } = await leecher.waitFor(/"type":"done"/, 60_000);
    await h.assertSameFile(join(out(dir.path), "ban.bin"), source);
    const done = JSON.parse(doneLine!) as {
      chunksByPeer: Record<string, number>;
    };
    assert.ok(!done.chunksByPeer[`127.0.0.1:${liar.port}`], doneLine);
    assert.ok(liar.requests >= 1, "the liar was asked for blocks");

    // From the liar's address: closed at once, no handshake back.
    const banned = await BtTestClient.connect(port, "127.0.0.1");
    clients.push(banned);
    await banned.handshake(built.id.subarray(0, 20)).catch(() => {});
    assert.notEqual(await banned.closedWithin(10_000), null);
    assert.ok(
      !banned.seen.some((frame) => frame.kind === "handshake"),
      "the banned address got a handshake",
    );
    // In Shoal too: nothing is read from it.
    const shoal = await Deno.connect({ hostname: "127.0.0.1", port });
    const got = await shoal.read(new Uint8Array(64)).catch(() => null);
    shoal.close();
    assert.equal(got, null);

    // From another address: served.
    const other = await BtTestClient.connect(port, "::1");
    clients.push(other);
    await other.handshake(built.id.subarray(0, 20));
    const answer = await other.next((frame) => frame.kind === "handshake");
    assert.equal(answer.kind, "handshake");
  } finally {
    for (const client of clients) await client.close();
    await leecher.kill();
    await honest.stop();
    await liar.close();
  }
});

function out(dir: string): string {
  return join(dir, "out");
}
