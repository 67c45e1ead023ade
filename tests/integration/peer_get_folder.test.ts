/**
 * `--get` of a folder (issue 19) from a Shoal seeder, as a user runs it: a
 * nested folder with empty files and non-ASCII names arrives byte for byte
 * as `OUT/NAME/...` (beside, never into, a folder of that name already
 * there); `--only` fetches and writes just the chosen files, and a glob
 * that matches nothing stops with one line, writing nothing; a download
 * killed and started again fetches no checked piece again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

const PIECE = 512 * 1024;

/** Every file and folder below `root`, `/`-separated, sorted. */
async function tree(root: string, below = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(root, below))) {
    const path = below ? `${below}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      found.push(`${path}/`, ...await tree(root, path));
    } else found.push(path);
  }
  return found.sort();
}

/** Asserts two folders hold the same entries with the same bytes. */
async function assertSameTree(got: string, want: string): Promise<void> {
  const entries = await tree(want);
  assert.deepEqual(await tree(got), entries);
  for (const path of entries.filter((entry) => !entry.endsWith("/"))) {
    await h.assertSameFile(join(got, path), join(want, path));
  }
}

/** Nested folders, empty files, non-ASCII names, files of 1 to 3 pieces. */
async function makeAlbum(root: string): Promise<void> {
  await Deno.mkdir(join(root, "disc 1", "bonus"), { recursive: true });
  await Deno.mkdir(join(root, "Ünïcode ✓", "deep", "deeper"), {
    recursive: true,
  });
  await h.makeFile(join(root, "disc 1", "01 – intro.flac"), PIECE + 100, 1);
  await h.makeFile(join(root, "disc 1", "bonus", "notes.txt"), 700, 2);
  await Deno.writeFile(
    join(root, "disc 1", "bonus", "empty"),
    new Uint8Array(),
  );
  await h.makeFile(
    join(root, "Ünïcode ✓", "deep", "deeper", "日本.bin"),
    3 * PIECE - 1,
    3,
  );
  await Deno.writeFile(join(root, "empty.cue"), new Uint8Array());
  await h.makeFile(join(root, "cover.jpg"), 2 * PIECE, 4);
}

/** The JSON lines a `--json` peer printed. */
function events(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

Deno.test("--get of a folder from a Shoal seeder writes OUT/NAME/... byte for byte: nested folders, empty files, non-ASCII names; a folder already called NAME is left as it is", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"));
  try {
    const out = join(dir.path, "out");
    // The user's own folder of that name: never written into.
    await Deno.mkdir(join(out, "album"), { recursive: true });
    await Deno.writeTextFile(join(out, "album", "mine.txt"), "mine");
    // --verify reads every file back from its part before it takes its place.
    const result = await h.spawnLeecher(tracker, "album", out, 20, [
      "--verify",
    ]).done(60_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /checked .*album \(2\) \(6 files, /);
    await assertSameTree(join(out, "album (2)"), album);
    assert.deepEqual(await tree(join(out, "album")), ["mine.txt"]);
    assert.equal(
      await Deno.readTextFile(join(out, "album", "mine.txt")),
      "mine",
    );
    // No part left behind.
    assert.deepEqual(await h.partFilesIn(out), []);
  } finally {
    await seeder.stop();
  }
});

Deno.test("--only fetches and writes just the chosen files of a folder; a glob that matches nothing stops with one line and writes nothing", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"));
  try {
    const out = join(dir.path, "out");
    const only = ["--only", "disc 1/01*", "--only", "**/日本.bin"];
    // --verify reads the chosen files back: the others have no part.
    const result = await h.spawnLeecher(tracker, "album", out, 20, [
      "--json",
      "--verify",
      ...only,
    ]).done(60_000);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const chosen = [
      "disc 1/01 – intro.flac",
      "Ünïcode ✓/deep/deeper/日本.bin",
    ];
    assert.deepEqual(
      await tree(join(out, "album")),
      [
        "disc 1/",
        "Ünïcode ✓/",
        "Ünïcode ✓/deep/",
        "Ünïcode ✓/deep/deeper/",
        ...chosen,
      ].sort(),
    );
    for (const path of chosen) {
      await h.assertSameFile(join(out, "album", path), join(album, path));
    }
    const lines = events(result.stdout);
    const done = lines.find((line) => line.type === "done")!;
    // Nothing of the other files was fetched.
    assert.equal(done.bytesFetched, PIECE + 100 + 3 * PIECE - 1);
    assert.deepEqual(done.files, chosen);
    // Each file's progress is in the progress events: every file in the
    // first that lists them, then those that changed, by index.
    type Listed = {
      index: number;
      path: string;
      chosen: boolean;
      chunksDone: number;
      chunkCount: number;
    };
    const byIndex = new Map<number, Listed>();
    const listed = lines.filter((line) =>
      line.type === "progress" && line.files
    ) as unknown as { files: Listed[] }[];
    assert.equal(listed[0]!.files.length, 6);
    for (const line of listed) {
      for (const file of line.files) byIndex.set(file.index, file);
    }
    const files = [...byIndex.values()];
    assert.equal(files.length, 6);
    assert.deepEqual(
      files.filter((file) => file.chosen).map((file) => file.path).sort(),
      [...chosen].sort(),
    );
    // The last word on each chosen file: all of it.
    for (const file of files.filter((file) => file.chosen)) {
      assert.equal(file.chunksDone, file.chunkCount, file.path);
    }
    // A line lists only the files that changed since the one before.
    assert.ok(listed.slice(1).every((line) => line.files.length < 6));

    // Without --no-seed: part of a folder is not seeded, said on a line.
    const part = await h.spawnPeer(tracker, [
      "--get",
      "album",
      "--out",
      join(dir.path, "part"),
      "--only",
      "cover.jpg",
    ]).done(60_000);
    assert.equal(part.code, 0, part.stderr + part.stdout);
    assert.match(part.stdout, /^not seeding album: only some of its files/m);

    const none = join(dir.path, "none");
    const refused = await h.spawnLeecher(tracker, "album", none, 20, [
      "--only",
      "*.mp3",
    ]).done(60_000);
    assert.equal(refused.code, 2, refused.stderr + refused.stdout);
    // One line (after the progress line).
    assert.match(
      refused.stderr.split("\n").at(-2)! + "\n",
      /^error: --only \*\.mp3 matches no file of album; [^\n]*\n$/,
    );
    const written = await Array.fromAsync(Deno.readDir(none)).catch(() => []);
    assert.deepEqual(
      written.map((entry) => entry.name).filter((name) => name !== ".shoal"),
      [],
    );
    assert.deepEqual(await h.partFilesIn(none), []);
  } finally {
    await seeder.stop();
  }
});

/** The album's files below it (path, size), sorted by path. */
async function albumFiles(album: string): Promise<[string, number][]> {
  const files: [string, number][] = [];
  for (const entry of await tree(album)) {
    if (entry.endsWith("/")) continue;
    files.push([entry, (await Deno.stat(join(album, entry))).size]);
  }
  return files.sort();
}

Deno.test("--files lists a folder's files without fetching or writing any: from a .torrent with no peer at all, and by name from a seeder, with --only", async () => {
  await using dir = await h.tempDir();
  const album = join(dir.path, "album");
  await makeAlbum(album);
  const torrent = join(dir.path, "album.torrent");
  const made = await h.runPeer(null, [
    "--make-torrent",
    album,
    "--torrent-out",
    torrent,
  ]);
  assert.equal(made.code, 0, made.stderr + made.stdout);
  const want = await albumFiles(album);
  const listed = (event: Record<string, unknown>) =>
    (event.files as { path: string; size: number }[])
      .map((f) => [f.path, f.size] as [string, number]).sort();

  // No tracker and no DHT: the .torrent alone says it all.
  const out = join(dir.path, "out");
  const offline = await h.runPeer(null, [
    "--get",
    torrent,
    "--files",
    "--out",
    out,
    "--json",
  ]);
  assert.equal(offline.code, 0, offline.stderr + offline.stdout);
  const [files] = events(offline.stdout).filter((e) => e.type === "files");
  assert.equal(files?.name, "album");
  assert.equal(files?.total, 6);
  assert.deepEqual(listed(files!), want);
  await assert.rejects(Deno.lstat(out), Deno.errors.NotFound);

  await using tracker = await h.startTracker();
  const seeder = await h.startSeeder(tracker, [album], join(dir.path, "s"));
  try {
    // By name: the manifest comes from the seeder; --only narrows the list.
    const picked = await h.runPeer(tracker, [
      "--get",
      "album",
      "--files",
      "--only",
      "disc 1",
      "--out",
      out,
    ]);
    assert.equal(picked.code, 0, picked.stderr + picked.stdout);
    const lines = picked.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^album: 3 of its 6 files picked by --only, /);
    assert.deepEqual(
      lines.slice(1).map((line) => line.trim().split("  ").at(-1)).sort(),
      want.map(([path]) => path).filter((path) => path.startsWith("disc 1/")),
    );
    const written = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
    assert.deepEqual(written.map((entry) => entry.name), []);
    assert.deepEqual(await h.partFilesIn(out).catch(() => []), []);
  } finally {
    await seeder.stop();
  }
});

/** The first `--json` progress event with at least `chunks` chunks done. */
async function progressReached(
  peer: h.RunningProcess,
  chunks: number,
): Promise<void> {
  for (let i = 0; i < 300; i++) {
    for (const line of events(peer.lines.join("\n"))) {
      if (line.type === "progress" && Number(line.chunksDone) >= chunks) {
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`No progress to ${chunks} chunks:\n${peer.lines.join("\n")}`);
}

Deno.test("a folder download killed (SIGKILL) and started again fetches no checked piece again", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const big = join(dir.path, "big");
  await Deno.mkdir(join(big, "in"), { recursive: true });
  for (let i = 0; i < 4; i++) {
    await h.makeFile(join(big, "in", `${i}.bin`), 4 * PIECE, 10 + i);
  }
  await Deno.writeFile(join(big, "empty"), new Uint8Array());
  const seeder = await h.startSeeder(tracker, [big], join(dir.path, "s"));
  try {
    const out = join(dir.path, "out");
    // Slow (8 s in all), so it is killed halfway, once its resume state
    // (saved every second) holds some pieces.
    const first = h.spawnLeecher(tracker, "big", out, 20, [
      "--json",
      "--max-download",
      "1M",
    ]);
    await progressReached(first, 3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await first.kill();
    await assert.rejects(Deno.stat(join(out, "big")), Deno.errors.NotFound);

    const second = await h.spawnLeecher(tracker, "big", out, 20, ["--json"])
      .done(60_000);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const done = events(second.stdout).find((line) => line.type === "done")!;
    const resumed = Number(done.resumedChunks);
    assert.ok(resumed >= 3 && resumed < 16, JSON.stringify(done));
    const fetched = Object.values(done.chunksByPeer as Record<string, number>)
      .reduce((sum, n) => sum + n, 0);
    // Each of the 16 pieces checked once: kept from the first run, or fetched now.
    assert.equal(fetched + resumed, 16, JSON.stringify(done));
    await assertSameTree(join(out, "big"), big);
  } finally {
    await seeder.stop();
  }
});
