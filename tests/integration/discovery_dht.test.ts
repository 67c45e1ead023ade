/**
 * Peers that find each other through a Mainline DHT on loopback, with no
 * tracker: a bootstrap node started here (npm:bittorrent-dht), seeders that
 * announce, a leecher given only a magnet link and the bootstrap address.
 * Every peer is in loopback mode (its only bootstrap node is on loopback),
 * so no datagram leaves 127.0.0.1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

/** Three chunks and a bit. */
const SIZE = 3 * 512 * 1024 + 777;

/** The magnet link a seeder printed after its "seeding NAME" line. */
async function magnetOf(
  seeder: h.RunningProcess,
  name: string,
): Promise<string> {
  const line = await seeder.waitFor(new RegExp(`^seeding ${name} `));
  const at = seeder.lines.indexOf(line.input!);
  await seeder.waitFor(/^magnet:/);
  return seeder.lines[at + 1]!;
}

Deno.test("seeders with no tracker announce on a loopback DHT, and a leecher with only a magnet link and the bootstrap address gets the file", async () => {
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const file = join(dir.path, "dht.bin");
  await h.makeFile(file, SIZE, 5);
  const seeders = await Promise.all(
    [0, 1].map((i) =>
      h.startSeeder(null, [file], join(dir.path, `seed${i}`), [
        ...dht.args,
        "--host",
        "127.0.0.1",
      ])
    ),
  );
  try {
    for (const seeder of seeders) {
      // No tracker named: the DHT is how it is found.
      assert.match(
        seeder.lines.find((l) => l.startsWith("serving"))!,
        /no tracker, DHT on UDP port \d+/,
      );
    }
    const magnet = await magnetOf(seeders[0]!, "dht.bin");
    assert.doesNotMatch(magnet, /[?&]tr=/);
    const out = join(dir.path, "out");
    const got = await h.spawnLeecher(null, magnet, out, 30, dht.args).done(
      90_000,
    );
    assert.equal(got.code, 0, `${got.stdout}\n${got.stderr}`);
    await h.assertSameFile(join(out, "dht.bin"), file);
    // The routing table is kept for the next start.
    const saved = JSON.parse(
      await Deno.readTextFile(join(out, ".shoal", "dht.json")),
    );
    assert.deepEqual(saved.bootstrap, [`127.0.0.1:${dht.port}`]);
    assert.ok(saved.nodes.length >= 1, JSON.stringify(saved));
  } finally {
    for (const seeder of seeders) await seeder.stop();
  }
});

Deno.test("a flood of made-up DHT peers for the file does not stop a leecher from finishing from the real seeder", async () => {
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const file = join(dir.path, "flood.bin");
  await h.makeFile(file, SIZE, 6);
  const seeder = await h.startSeeder(null, [file], join(dir.path, "seed"), [
    ...dht.args,
    "--host",
    "127.0.0.1",
  ]);
  // Fakes that accept a connection and never say a word (each is tried and
  // times out), and fakes whose port is closed (each fails at once).
  const silent = Array.from(
    { length: 40 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const held: Deno.Conn[] = [];
  const accepting = silent.map(async (listener) => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // Closed at the end of the test.
    }
  });
  const closed = Array.from({ length: 260 }, () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    return port;
  });
  let flood: h.LoopbackDhtNode | null = null;
  try {
    const magnet = await magnetOf(seeder, "flood.bin");
    const id = magnet.match(/btmh:1220([0-9a-f]{64})/)![1]!;
    const fileId = Uint8Array.from(
      id.match(/../g)!.map((byte) => parseInt(byte, 16)),
    );
    flood = await h.floodDht(dht, fileId, [
      ...silent.map((l) => (l.addr as Deno.NetAddr).port),
      ...closed,
    ]);
    const out = join(dir.path, "out");
    const got = await h.spawnLeecher(null, magnet, out, 60, dht.args).done(
      120_000,
    );
    assert.equal(got.code, 0, `${got.stdout}\n${got.stderr}`);
    await h.assertSameFile(join(out, "flood.bin"), file);
    // The fakes were tried: some silent ones were connected to.
    assert.ok(held.length > 0, "no made-up peer was tried");
  } finally {
    await flood?.stop();
    for (const listener of silent) listener.close();
    await Promise.all(accepting);
    for (const conn of held) conn.close();
    await seeder.stop();
  }
});
