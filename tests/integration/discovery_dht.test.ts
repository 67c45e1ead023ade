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
import { hasLibtorrent, LT_PYTHON, ltFixture } from "../_helpers/libtorrent.ts";
import { seededMagnet } from "../_helpers/bittorrent.ts";

/** Three chunks and a bit. */
const SIZE = 3 * 512 * 1024 + 777;

/** The magnet link a seeder of one file printed after its "seeding NAME" line. */
async function magnetOf(
  seeder: h.RunningProcess,
  name: string,
): Promise<string> {
  await seeder.waitFor(/^magnet:/);
  return seededMagnet(seeder.lines, name);
}

Deno.test("seeders with no tracker announce on a loopback DHT, and a leecher with only a magnet link and the bootstrap address gets the file", async () => {
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const file = join(dir.path, "dht.bin");
  await h.makeFile(file, SIZE, 5);
  const seeders = await Promise.all(
    [0, 1].map((i) =>
      h.startSeeder(null, [file], join(dir.path, `seed${i}`), dht.seederArgs)
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
  const seeder = await h.seedNewFile(null, file, SIZE, 6, {
    out: "seed",
    args: dht.seederArgs,
  });
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

Deno.test("with its DHT unreachable, a peer with a tracker downloads as before and says nothing about the DHT", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // Nothing listens there: every DHT query goes unanswered.
  const dead = ["--dht-bootstrap", "127.0.0.1:9"];
  const file = join(dir.path, "quiet.bin");
  const seeder = await h.seedNewFile(tracker, file, SIZE, 7, {
    out: "seed",
    args: [...dead, "--host", "127.0.0.1"],
  });
  try {
    const out = join(dir.path, "out");
    const got = await h.spawnLeecher(tracker, "quiet.bin", out, 30, dead)
      .done(60_000);
    assert.equal(got.code, 0, `${got.stdout}\n${got.stderr}`);
    await h.assertSameFile(join(out, "quiet.bin"), file);
    // Progress lines only: no warning, no error.
    assert.doesNotMatch(got.stderr, /DHT|WRN|ERR|error/i);
  } finally {
    const stopped = await seeder.done(0).catch(() => null);
    if (stopped === null) await seeder.stop();
  }
  const { stderr } = await seeder.done(10_000);
  assert.doesNotMatch(stderr, /DHT|WRN|ERR|error/i);
});

Deno.test("a restarted peer rejoins the DHT through the nodes it saved, without its bootstrap node", async () => {
  await using dir = await h.tempDir();
  const dht = await h.startDhtBootstrap();
  const file = join(dir.path, "again.bin");
  await h.makeFile(file, SIZE, 8);
  // Two seeders, one after the other: the second's announce reaches the
  // first's DHT node too, which keeps it once the bootstrap node is gone.
  const seeders = [];
  for (const name of ["seed0", "seed1"]) {
    seeders.push(
      await h.startSeeder(null, [file], join(dir.path, name), dht.seederArgs),
    );
  }
  try {
    const magnet = await magnetOf(seeders[0]!, "again.bin");
    const first = join(dir.path, "first");
    const got = await h.spawnLeecher(null, magnet, first, 30, dht.args).done(
      60_000,
    );
    assert.equal(got.code, 0, `${got.stdout}\n${got.stderr}`);
    const saved = join(first, ".shoal", "dht.json");
    // The bootstrap node goes away; the seeders' DHT nodes stay.
    await dht.stop();
    const second = join(dir.path, "second");
    await Deno.mkdir(join(second, ".shoal"), { recursive: true });
    await Deno.copyFile(saved, join(second, ".shoal", "dht.json"));
    const again = await h.spawnLeecher(null, magnet, second, 30, dht.args)
      .done(60_000);
    assert.equal(
      again.code,
      0,
      `${again.stdout}\n${again.stderr}\n${await Deno.readTextFile(saved)}`,
    );
    await h.assertSameFile(join(second, "again.bin"), file);
    const before = JSON.parse(await Deno.readTextFile(saved));
    const after = JSON.parse(
      await Deno.readTextFile(join(second, ".shoal", "dht.json")),
    );
    assert.equal(after.nodeId, before.nodeId);
  } finally {
    for (const seeder of seeders) await seeder.stop();
    await dht.stop();
  }
});

Deno.test("under the least-privilege launcher the DHT runs, and DEBUG in the environment is ignored", async () => {
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const file = join(dir.path, "launched.bin");
  await h.makeFile(file, 4096, 9);
  const seeder = h.spawnDenoWith([
    "task",
    "--quiet",
    "peer",
    "--seed",
    "launched.bin",
    "--out",
    "state",
    "--host",
    "127.0.0.1",
    ...dht.args,
  ], {
    env: { INIT_CWD: dir.path, DEBUG: "*" },
  });
  try {
    await seeder.waitFor(
      /^serving peers on port \d+, no tracker, DHT on UDP port \d+$/,
    );
  } finally {
    await seeder.stop();
  }
  const { code, stderr } = await seeder.done(10_000);
  assert.equal(code, 0);
  // No permission error, and the DHT library's debug output stays off.
  assert.equal(stderr, "");
});

Deno.test("libtorrent on the same loopback DHT finds a Shoal seeder with no tracker and downloads the file from it", async () => {
  if (!await hasLibtorrent("the libtorrent DHT test")) return;
  await using dir = await h.tempDir();
  await using dht = await h.startDhtBootstrap();
  const file = join(dir.path, "lt-dht.bin");
  const seeder = await h.seedNewFile(null, file, SIZE, 11, {
    out: "seed",
    args: dht.seederArgs,
  });
  try {
    const magnet = await magnetOf(seeder, "lt-dht.bin");
    const out = join(dir.path, "lt");
    // No tracker in the link and no peer given: only the DHT can name the
    // seeder. Awaited without blocking: the bootstrap node runs here.
    const leech = await new Deno.Command(LT_PYTHON, {
      args: [
        ltFixture("lt_dht_leech.py"),
        magnet,
        out,
        `127.0.0.1:${dht.port}`,
        "60",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(leech.stdout);
    assert.equal(
      leech.code,
      0,
      `${said}\n${new TextDecoder().decode(leech.stderr)}`,
    );
    assert.match(
      said,
      new RegExp(`^peer 127\\.0\\.0\\.1:${seeder.port}$`, "m"),
    );
    await h.assertSameFile(join(out, "lt-dht.bin"), file);
  } finally {
    await seeder.stop();
  }
  // The seeder counted the upload to libtorrent itself.
  assert.match(seeder.lines.join("\n"), /uploaded [\d.]+ [kMG]?B to 1 peer\b/);
});
