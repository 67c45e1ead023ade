/**
 * Folders on the command line (issue 19, first part): `--make-torrent DIR`
 * through `deno task peer` (the launcher's permissions) writes the folder's
 * multi-file torrent and prints its magnet link; Shoal downloads a folder
 * libtorrent made and seeds, from its `.torrent` or its magnet link alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fileIdOf,
  fromHex,
  parseFolderManifest,
  parseMagnet,
  parseTorrent,
  toHex,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { startLtSeeder } from "../_helpers/bittorrent.ts";
import { hasLibtorrent, LT_PYTHON, ltFixture } from "../_helpers/libtorrent.ts";

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

Deno.test("Shoal downloads a folder libtorrent made (v2 only) and seeds, from its .torrent and from its magnet link alone (metadata and each file's piece layer from libtorrent), every file byte for byte", async (t) => {
  if (!(await hasLibtorrent(t.name))) return;
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const torrentPath = join(dir.path, "lt-album.torrent");
  const made = await h.runToExit(LT_PYTHON, [
    ltFixture("lt_make_torrent.py"),
    "524288",
    album,
    torrentPath,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const id = fromHex(made.stdout.trim())!;
  const bytes = await Deno.readFile(torrentPath);
  const folder = parseFolderManifest(parseTorrent(bytes).manifestBytes);
  assert.equal(toHex(fileIdOf(bytes)), toHex(id));
  const lt = await startLtSeeder(torrentPath, dir.path);
  try {
    h.listOnTracker(tracker, lt.port, {
      id,
      name: "album",
      size: folder.size,
      chunkCount: folder.chunkCount,
    });
    const magnet = `magnet:?xt=urn:btmh:1220${toHex(id)}&dn=album`;
    for (const [i, query] of [torrentPath, magnet].entries()) {
      const out = join(dir.path, `got${i}`);
      const result = await h.spawnLeecher(tracker, query, out, 30).done(
        60_000,
      );
      assert.equal(result.code, 0, result.stderr + result.stdout);
      for (const file of folder.files) {
        await h.assertSameFile(
          join(out, "album", ...file.path),
          join(album, ...file.path),
        );
      }
    }
    // --only from libtorrent: nothing of the other files is asked for.
    const some = join(dir.path, "some");
    const only = await h.spawnLeecher(tracker, torrentPath, some, 30, [
      "--json",
      "--only",
      "disc 1/bonus",
    ]).done(60_000);
    assert.equal(only.code, 0, only.stderr + only.stdout);
    const done = only.stdout.trim().split("\n").map((line) => JSON.parse(line))
      .find((line) => line.type === "done");
    assert.deepEqual(done.files, ["disc 1/bonus/notes.txt"]);
    assert.equal(done.bytesFetched, 700);
    await h.assertSameFile(
      join(some, "album", "disc 1", "bonus", "notes.txt"),
      join(album, "disc 1", "bonus", "notes.txt"),
    );
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(some, "album")))).map((e) =>
        e.name
      ),
      ["disc 1"],
    );
  } finally {
    await lt.stop();
  }
});
