/**
 * Folders on the command line (issue 19, first part): `--make-torrent DIR`
 * through `deno task peer` (the launcher's permissions) writes the folder's
 * multi-file torrent and prints its magnet link; `--get` of a folder's
 * `.torrent` downloads it from libtorrent; its magnet link, whose manifest
 * only libtorrent has (not fetched from BitTorrent peers yet), stops with
 * one line and exit 8, writing nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fileIdOf,
  parseFolderManifest,
  parseMagnet,
  toHex,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { startLtSeeder } from "../_helpers/bittorrent.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** `deno task peer ARGS` from `cwd`, as a user types it there. */
function taskPeer(args: string[], cwd: string) {
  return h.spawnDenoWith(["task", "--quiet", "peer", ...args], {
    cwd: ROOT,
    env: { INIT_CWD: cwd },
  }).done(60_000);
}

/** A nested folder: an empty file, a one-piece file, a multi-piece file. */
async function makeAlbum(root: string): Promise<void> {
  await Deno.mkdir(join(root, "disc 1", "bonus"), { recursive: true });
  await h.makeFile(join(root, "disc 1", "01 – intro.flac"), 1_300_000, 1);
  await h.makeFile(join(root, "disc 1", "bonus", "notes.txt"), 700, 2);
  await Deno.writeFile(join(root, "empty.cue"), new Uint8Array());
  await h.makeFile(join(root, "cover.jpg"), 512 * 1024, 3);
}

Deno.test("--make-torrent DIR writes the folder's multi-file .torrent and prints its magnet link; links are left out with a line", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  await Deno.writeTextFile(join(dir.path, "secret.txt"), "outside");
  await Deno.symlink(join(dir.path, "secret.txt"), join(album, "secret"));
  const made = await taskPeer(
    ["--make-torrent", "album", "--tracker", `127.0.0.1:${tracker.port}`],
    dir.path,
  );
  assert.equal(made.code, 0, made.stderr);
  const bytes = await Deno.readFile(join(dir.path, "album.torrent"));
  const folder = parseFolderManifest(bytes);
  assert.equal(folder.name, "album");
  assert.deepStrictEqual(
    folder.files.map((f) => [f.path.join("/"), f.length]),
    [
      ["cover.jpg", 512 * 1024],
      ["disc 1/01 – intro.flac", 1_300_000],
      ["disc 1/bonus/notes.txt", 700],
      ["empty.cue", 0],
    ],
  );
  const lines = made.stdout.trim().split("\n");
  assert.ok(
    lines.includes(
      "skipped secret: a symbolic link (links are never followed)",
    ),
    made.stdout,
  );
  const id = fileIdOf(bytes);
  assert.match(
    lines.at(-2)!,
    new RegExp(
      `^wrote .*album.torrent \\(folder album, 4 files, id ${toHex(id)}\\)$`,
    ),
  );
  assert.deepEqual(parseMagnet(lines.at(-1)!), {
    id,
    name: "album",
    trackers: [`udp://127.0.0.1:${tracker.port}/announce`],
  });

  // --json: one line, with the file count and what was left out.
  const json = await taskPeer(
    ["--make-torrent", "album", "--torrent-out", "b.torrent", "--json"],
    dir.path,
  );
  assert.equal(json.code, 0, json.stderr);
  const jsonLines = json.stdout.trim().split("\n");
  assert.equal(jsonLines.length, 1, json.stdout);
  const line = JSON.parse(jsonLines[0]!);
  assert.equal(line.type, "torrent");
  assert.equal(line.infohash, toHex(id));
  assert.equal(line.files, 4);
  assert.deepEqual(line.skipped, [
    "secret: a symbolic link (links are never followed)",
  ]);
});

Deno.test("--get of a folder's .torrent downloads it from libtorrent seeding it, every file byte for byte; its magnet link, whose manifest only libtorrent has, exits 8 with one line and writes nothing", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const made = await taskPeer(["--make-torrent", "album"], dir.path);
  assert.equal(made.code, 0, made.stderr);
  const torrentPath = join(dir.path, "album.torrent");
  const bytes = await Deno.readFile(torrentPath);
  const folder = parseFolderManifest(bytes);
  // libtorrent seeds the folder (from the same files).
  const lt = await startLtSeeder(torrentPath, dir.path);
  try {
    h.listOnTracker(tracker, lt.port, {
      id: fileIdOf(bytes),
      name: "album",
      size: folder.size,
      chunkCount: folder.chunkCount,
    });
    const got = join(dir.path, "got");
    const fromTorrent = await h.spawnLeecher(tracker, torrentPath, got, 30)
      .done(60_000);
    assert.equal(fromTorrent.code, 0, fromTorrent.stderr + fromTorrent.stdout);
    for (const file of folder.files) {
      await h.assertSameFile(
        join(got, "album", ...file.path),
        join(album, ...file.path),
      );
    }

    const out = join(dir.path, "out");
    const link = made.stdout.trim().split("\n").at(-1)!;
    const fromMagnet = await h.spawnLeecher(tracker, link, out, 30).done(
      60_000,
    );
    assert.equal(fromMagnet.code, 8, fromMagnet.stderr + fromMagnet.stdout);
    // Its last line (a progress line may come before it).
    assert.match(
      fromMagnet.stderr.split("\n").at(-2)! + "\n",
      /^error: Cannot download [0-9a-f]{64}: the folder "album" of 4 files, not one file; [^\n]*--get its \.torrent\n$/,
    );
    // The peer's state folder aside, nothing was written.
    const written = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
    assert.deepEqual(
      written.map((entry) => entry.name).filter((name) => name !== ".shoal"),
      [],
    );
  } finally {
    await lt.stop();
  }
});
