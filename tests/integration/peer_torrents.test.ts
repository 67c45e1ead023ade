/**
 * `.torrent` files and magnet links on the command line, run as a user runs
 * them: `--make-torrent` (through `deno task peer`, so with the launcher's
 * permissions), the magnet link a seeder prints, `--get FILE.torrent` and
 * `--get MAGNET` with no `--tracker`, and bad links refused with exit 8.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeTorrent,
  magnetLink,
  parseMagnet,
  parseTorrent,
  toHex,
} from "@shoal/protocol";
import { peerRunArgs } from "../../peer/launch.ts";
import * as h from "../_helpers/mod.ts";
import * as libtorrent from "../_helpers/libtorrent.ts";
import { makeBuiltFile } from "../_helpers/seed_new_file.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Three chunks and a bit: a piece layer, a short last piece. */
const SIZE = 3 * 512 * 1024 + 1234;

/** `deno task peer ARGS` from `cwd`, as a user types it there. */
function taskPeer(args: string[], cwd: string) {
  return h.spawnDenoWith(["task", "--quiet", "peer", ...args], {
    cwd: ROOT,
    env: { INIT_CWD: cwd },
  }).done(60_000);
}

/** The seeding line's id and the magnet link on the line after it. */
function seedingOf(lines: string[], name: string) {
  const at = lines.findIndex((line) => line.startsWith(`seeding ${name} `));
  assert.ok(at >= 0, lines.join("\n"));
  return {
    id: lines[at]!.match(/ id ([0-9a-f]{64})$/)![1]!,
    magnet: lines[at + 1]!,
  };
}

Deno.test("--make-torrent writes a .torrent whose infohash is the seeder's file id, and prints the seeder's magnet link", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "film.bin");
  await h.makeFile(file, SIZE, 3);
  const made = await taskPeer(
    ["--make-torrent", "film.bin", "--tracker", `127.0.0.1:${tracker.port}`],
    dir.path,
  );
  assert.equal(made.code, 0, made.stderr);
  const announce = `udp://127.0.0.1:${tracker.port}/announce`;
  const torrent = parseTorrent(
    await Deno.readFile(join(dir.path, "film.bin.torrent")),
  );
  assert.equal(torrent.manifest.name, "film.bin");
  assert.equal(torrent.manifest.size, SIZE);
  assert.deepEqual(torrent.trackers, [announce]);
  const printed = made.stdout.trim().split("\n").at(-1)!;
  assert.deepEqual(parseMagnet(printed), {
    id: torrent.id,
    name: "film.bin",
    trackers: [announce],
  });

  const seeder = await h.startSeeder(tracker, [file], join(dir.path, "s"));
  try {
    const seeding = seedingOf(seeder.lines, "film.bin");
    assert.equal(seeding.id, toHex(torrent.id));
    assert.equal(seeding.magnet, printed);
  } finally {
    await seeder.stop();
  }
});

Deno.test("--make-torrent --json prints one line, and never overwrites a .torrent", async () => {
  await using dir = await h.tempDir();
  const file = join(dir.path, "notes.txt");
  await h.makeFile(file, 1000, 4);
  const made = await taskPeer(
    ["--make-torrent", file, "--torrent-out", "out.torrent", "--json"],
    dir.path,
  );
  assert.equal(made.code, 0, made.stderr);
  const lines = made.stdout.trim().split("\n");
  assert.equal(lines.length, 1, made.stdout);
  const line = JSON.parse(lines[0]!);
  const path = join(dir.path, "out.torrent");
  const written = await Deno.readFile(path);
  const id = toHex(parseTorrent(written).id);
  assert.deepEqual(line, {
    type: "torrent",
    id,
    infohash: id,
    // No --tracker: the link names none.
    magnet: `magnet:?xt=urn:btmh:1220${id}&dn=notes.txt`,
    torrent: path,
  });

  // Again, in text and in JSON: refused in one line, the file left alone.
  for (const json of [[], ["--json"]]) {
    const again = await taskPeer(
      ["--make-torrent", file, "--torrent-out", "out.torrent", ...json],
      dir.path,
    );
    assert.equal(again.code, 6, again.stderr);
    const said = json.length > 0
      ? JSON.parse(again.stdout).message
      : again.stderr.trim();
    assert.equal(said.split("\n").length, 1);
    assert.match(said, /exists already; pass --torrent-out with another path/);
  }
  assert.deepEqual(await Deno.readFile(path), written);
});

Deno.test("--get FILE.torrent with no --tracker downloads from the tracker the torrent names", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "film.bin");
  const seeder = await h.seedNewFile(tracker, file, SIZE, 5);
  try {
    const made = await taskPeer(
      ["--make-torrent", file, "--tracker", `127.0.0.1:${tracker.port}`],
      dir.path,
    );
    assert.equal(made.code, 0, made.stderr);
    // The exact command line `deno task peer` runs, from dir.path: the
    // launcher lets the peer read the .torrent.
    const args = ["--get", "film.bin.torrent", "--out", "out", "--no-seed"];
    const got = await h.spawnDenoWith(peerRunArgs(args, dir.path), {
      env: { INIT_CWD: dir.path },
    }).done(60_000);
    assert.equal(got.code, 0, got.stderr);
    await h.assertSameFile(join(dir.path, "out", "film.bin"), file);
  } finally {
    await seeder.stop();
  }
});

Deno.test("--get FILE.torrent asks no peer for the manifest: the torrent holds it", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const { data, built } = await makeBuiltFile(dir.path, "quiet.bin", SIZE, 9);
  const fake = h.listedFake(tracker, data, built, { behaviour: "honest" });
  try {
    const path = join(dir.path, "quiet.torrent");
    await Deno.writeFile(
      path,
      encodeTorrent(built.bytes, [`udp://127.0.0.1:${tracker.port}/announce`]),
    );
    // No --tracker: the one the .torrent names.
    const got = await h.spawnLeecher(null, path, join(dir.path, "out"), 20)
      .done(60_000);
    assert.equal(got.code, 0, got.stderr);
    await h.assertFileHash(join(dir.path, "out", "quiet.bin"), built.sha256);
    assert.equal(fake.manifestRequests, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("--get MAGNET downloads with the link's tracker; --tracker wins over it; --json seeders report the link", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "song.bin");
  await h.makeFile(file, SIZE, 6);
  const seeder = h.spawnPeer(tracker, [
    "--seed",
    file,
    "--out",
    join(dir.path, "s"),
    "--json",
  ]);
  try {
    await seeder.waitFor(/"type":"serving"/);
    const seeding = h.jsonEvents(seeder.lines.join("\n")).find((event) =>
      event.type === "seeding"
    ) as { magnet: string; fileId: string };
    const link = parseMagnet(seeding.magnet);
    assert.equal(toHex(link.id), seeding.fileId);
    assert.equal(link.name, "song.bin");
    assert.deepEqual(link.trackers, [
      `udp://127.0.0.1:${tracker.port}/announce`,
    ]);

    const get = (magnet: string, out: string, extra: string[] = []) =>
      h.spawnDeno(h.PEER_MAIN, [
        "--get",
        magnet,
        "--out",
        join(dir.path, out),
        "--no-seed",
        "--give-up-after",
        "20",
        ...extra,
      ]).done(60_000);
    const got = await get(seeding.magnet, "a");
    assert.equal(got.code, 0, got.stderr);
    await h.assertSameFile(join(dir.path, "a", "song.bin"), file);

    // A link naming a tracker that is not there, and the right --tracker.
    const stale = magnetLink(link.id, "song.bin", [
      "udp://127.0.0.1:9/announce",
    ]);
    const wins = await get(stale, "b", [
      "--tracker",
      `127.0.0.1:${tracker.port}`,
    ]);
    assert.equal(wins.code, 0, wins.stderr);
    await h.assertSameFile(join(dir.path, "b", "song.bin"), file);
  } finally {
    await seeder.stop();
  }
});

Deno.test("bad .torrent files and magnet links exit 8 with one line, and nothing is written", async () => {
  await using dir = await h.tempDir();
  const data = new Uint8Array(SIZE).fill(7);
  const built = h.manifestOf(data, "good.bin");
  const good = encodeTorrent(built.bytes, []);
  const targets: [string, string][] = [
    ...Object.entries(h.badMagnets(built.id)).map(([name, link]) =>
      [`magnet: ${name}`, link] as [string, string]
    ),
    ["missing .torrent", join(dir.path, "missing.torrent")],
  ];
  for (const [name, bytes] of Object.entries(h.badTorrents(good))) {
    const path = join(dir.path, `${name}.torrent`);
    await Deno.writeFile(path, bytes);
    targets.push([`torrent: ${name}`, path]);
  }
  const out = join(dir.path, "out");
  const check = async ([name, target]: [string, string], json: boolean) => {
    const result = await h.spawnDeno(h.PEER_MAIN, [
      "--get",
      target,
      "--out",
      out,
      ...(json ? ["--json"] : []),
    ]).done(30_000);
    assert.equal(result.code, 8, `${name}: ${result.stderr}`);
    if (json) {
      const lines = result.stdout.trim().split("\n");
      assert.equal(lines.length, 1, `${name}: ${result.stdout}`);
      const line = JSON.parse(lines[0]!);
      assert.equal(line.type, "error");
      assert.equal(line.exitCode, 8);
    } else {
      assert.equal(result.stdout, "", name);
      assert.match(result.stderr, /^error: Cannot use [^\n]+\n$/, name);
    }
  };
  // Two at a time (the machine has few cores), each once in text; the
  // first magnet and the first torrent also with --json.
  for (let i = 0; i < targets.length; i += 2) {
    await Promise.all(
      targets.slice(i, i + 2).map((target) => check(target, false)),
    );
  }
  await Promise.all([check(targets[0]!, true), check(targets.at(-1)!, true)]);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

// --- Cross-check with libtorrent ---------------------------------------------

const PYTHON = libtorrent.LT_PYTHON;
const LT_READ = libtorrent.ltFixture("lt_read_torrent.py");
const HAS_LIBTORRENT = await libtorrent.hasLibtorrent(
  "the libtorrent .torrent cross-check",
);

Deno.test({
  name:
    "libtorrent reads the .torrent and magnet link --make-torrent writes, with the same v2 infohash, and Shoal reads libtorrent's",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    const file = join(dir.path, "film.bin");
    await h.makeFile(file, SIZE, 8);
    const made = await taskPeer(
      ["--make-torrent", file, "--tracker", "[::1]:6969", "--json"],
      dir.path,
    );
    assert.equal(made.code, 0, made.stderr);
    const line = JSON.parse(made.stdout);
    const lt = await h.runToExit(PYTHON, [LT_READ, line.torrent, line.magnet]);
    assert.equal(lt.code, 0, lt.stderr);
    assert.deepEqual(JSON.parse(lt.stdout), {
      torrent: {
        v2: line.infohash,
        hasV1: false,
        name: "film.bin",
        files: [["film.bin", SIZE]],
        trackers: ["udp://[::1]:6969/announce"],
      },
      magnet: {
        v2: line.infohash,
        name: "film.bin",
        trackers: ["udp://[::1]:6969/announce"],
      },
    });
    // And the other way: libtorrent's torrent of the file, read by --get.
    const ltTorrent = join(dir.path, "lt.torrent");
    assert.equal(
      await libtorrent.ltMakeTorrent(file, ltTorrent),
      line.infohash,
    );
    assert.equal(
      toHex(parseTorrent(await Deno.readFile(ltTorrent)).id),
      line.infohash,
    );
  },
});
