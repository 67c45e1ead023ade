/**
 * Ways to lose a user's data, tried on the real processes: downloads of
 * different files with the same name through one web page (each must end
 * as its own checked file), a download folder reached through a symbolic
 * link, with the least-privilege launcher's permissions, and a leecher
 * killed between placing its file and removing the part file's name.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import { peerRunArgs } from "../../peer/launch.ts";
import {
  peerApi as api,
  peerState,
  startUiPeer,
  type UiPeer,
} from "../_helpers/web_page.ts";

interface Download {
  key: string;
  state: string;
  fileId: string;
  path: string | null;
  error: { message: string } | null;
}

Deno.test("downloads of different files with the same name through one web page each end as their own checked file", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  // Four different files, all called same.bin, each seeded by its own peer.
  const sources: string[] = [];
  const seeders: h.RunningProcess[] = [];
  let ui: UiPeer | null = null;
  try {
    for (let i = 0; i < 4; i++) {
      const folder = join(dir.path, `src${i}`);
      await Deno.mkdir(folder);
      const source = join(folder, "same.bin");
      await h.makeFile(source, 6 * 512 * 1024 + 1000 * i, 10 + i);
      sources.push(source);
      seeders.push(
        await h.startSeeder(tracker, [source], join(dir.path, `s${i}`)),
      );
    }
    const ids = await Promise.all(
      seeders.map(async (seeder) =>
        (await seeder.waitFor(/^seeding same\.bin .* id ([0-9a-f]{64})$/))[1]!
      ),
    );
    const out = join(dir.path, "out");
    ui = await startUiPeer(tracker, out, { giveUpAfterS: 20 });
    const peer = ui;
    // One, then another a moment later; then two at once.
    const started: string[] = [];
    const start = async (id: string) => {
      const response = await api(peer, "/api/downloads", { id });
      assert.equal(response.status, 202, await response.clone().text());
      started.push(((await response.json()) as Download).key);
    };
    await start(ids[0]!);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await start(ids[1]!);
    await Promise.all([start(ids[2]!), start(ids[3]!)]);
    const done = await h.waitUntil("every download to end", async () => {
      const state = await peerState(peer) as { downloads: Download[] };
      const ours = state.downloads.filter((d) => started.includes(d.key));
      return ours.every((d) => d.state === "done" || d.state === "failed")
        ? ours
        : null;
    }, 60_000);
    for (const record of done) {
      assert.equal(record.state, "done", record.error?.message);
    }
    const paths = new Set(done.map((record) => record.path));
    assert.equal(paths.size, 4, "each download has a path of its own");
    for (let i = 0; i < 4; i++) {
      const record = done.find((d) => d.fileId === ids[i])!;
      const want = await h.sha256File(sources[i]!);
      assert.equal(await h.sha256File(record.path!), want, `file ${i} on disk`);
      const served = await api(peer, `/files/${ids[i]}`);
      assert.equal(served.status, 200);
      const bytes = new Uint8Array(await served.arrayBuffer());
      const got = await crypto.subtle.digest("SHA-256", bytes);
      assert.equal(
        Array.from(new Uint8Array(got), (b) => b.toString(16).padStart(2, "0"))
          .join(""),
        want,
        `file ${i} as the page serves it`,
      );
    }
    assert.deepEqual(await h.partFilesIn(out), []);
  } finally {
    if (ui) {
      ui.child.kill("SIGTERM");
      await ui.done(10_000);
    }
    await Promise.all(seeders.map((seeder) => seeder.stop()));
  }
});

Deno.test("a download folder reached through a symbolic link works with the launcher's permissions", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "linked.bin");
  await h.makeFile(source, 3 * 512 * 1024 + 77, 5);
  const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
  try {
    const real = join(dir.path, "real-out");
    await Deno.mkdir(real);
    await Deno.symlink(real, join(dir.path, "out"));
    // The exact command line `deno task peer` runs, from dir.path.
    const args = [
      "--tracker",
      `${tracker.host}:${tracker.port}`,
      "--get",
      "linked.bin",
      "--out",
      "out",
      "--no-seed",
      "--give-up-after",
      "20",
    ];
    const result = await h.spawnDenoWith(peerRunArgs(args, dir.path), {
      env: { INIT_CWD: dir.path },
    }).done(60_000);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
    await h.assertSameFile(join(real, "linked.bin"), source);
    // And with a linked folder that is seeded from later on.
    const again = await h.getFile(tracker, "linked.bin", join(dir.path, "out"));
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await seeder.stop();
  }
});

Deno.test("the web page never publishes the peer's state folder, nor a name that hides its extension", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const out = join(dir.path, "out");
  const ui = await startUiPeer(tracker, out, { giveUpAfterS: 20 });
  try {
    const upload = (name: string) =>
      fetch(`${ui.origin}/api/seed/upload?name=${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { "x-shoal-token": ui.token },
        body: new Uint8Array(1000).fill(7),
      });
    // Shown as "invoiceexe.pdf": a right-to-left override hides ".exe".
    const hidden = await upload("invoice\u202Efdp.exe");
    assert.equal(hidden.status, 400);
    assert.match(
      (await hidden.json()).error,
      /direction-changing character \(U\+202E\)/,
    );
    const plain = await upload("notes.txt");
    assert.ok(plain.ok, await plain.clone().text());
    await plain.body?.cancel();
    const state = join(out, ".shoal", "seeds.json");
    await h.waitUntil("the seed list", () => Deno.stat(state), 10_000);
    const link = join(dir.path, "innocent.json");
    await Deno.symlink(state, link);
    for (const path of [state, link]) {
      const response = await api(ui, "/api/seed/path", { path });
      assert.equal(response.status, 400, path);
      assert.match(
        (await response.json()).error,
        /in this peer's state folder/,
        path,
      );
    }
  } finally {
    ui.child.kill("SIGTERM");
    await ui.done(10_000);
  }
});

/** strace, to kill a process at one exact system call. */
const HAS_STRACE = await new Deno.Command("strace", { args: ["-V"] }).output()
  .then((out) => out.success, () => false);

/** The `deno run` arguments of `--get NAME --no-seed` into `out`. */
function leecherArgs(
  tracker: { host: string; port: number },
  name: string,
  out: string,
): string[] {
  return [
    "run",
    "--allow-all",
    h.PEER_MAIN,
    "--tracker",
    `${tracker.host}:${tracker.port}`,
    "--no-dht",
    "--get",
    name,
    "--out",
    out,
    "--no-seed",
  ];
}

/** That leecher, under strace, to its exit. */
function leechUnderStrace(
  straceArgs: string[],
  tracker: { host: string; port: number },
  name: string,
  out: string,
) {
  return h.spawnDenoWith([
    "-f",
    "-qq",
    ...straceArgs,
    Deno.execPath(),
    ...leecherArgs(tracker, name, out),
  ], { binary: "strace" }).done(60_000);
}

Deno.test({
  name:
    "a leecher killed between placing its file and removing the part name loses no edit of that file and leaves no copy",
  ignore: !HAS_STRACE,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    const source = join(dir.path, "film.bin");
    await h.makeFile(source, 5 * 512 * 1024 + 123, 41);
    const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
    try {
      const id =
        (await seeder.waitFor(/^seeding film\.bin .* id ([0-9a-f]{64})$/))[1]!;
      const out = join(dir.path, "out");
      const placed = join(out, "film.bin");
      const leech = () =>
        h.spawnDenoWith(leecherArgs(tracker, "film.bin", out)).done(60_000);
      // The file is linked into place, then the part name is removed: the
      // process dies (SIGKILL) at exactly that removal.
      const crash = async () => {
        await Deno.mkdir(out, { recursive: true });
        const part = join(out, ".shoal", "parts", `${id}.part`);
        const killed = await leechUnderStrace(
          [
            "-o",
            "/dev/null",
            "-P",
            part,
            "-e",
            "trace=unlink",
            "-e",
            "inject=unlink:signal=KILL:when=1",
          ],
          tracker,
          "film.bin",
          out,
        );
        assert.notEqual(killed.code, 0, killed.stderr);
        assert.equal(
          (await Deno.stat(placed)).nlink,
          2,
          "placed and still a part",
        );
      };

      // Run again: the file is where it was put, once, and the part is gone.
      await crash();
      const again = await leech();
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /checked .*film\.bin /);
      await h.assertSameFile(placed, source);
      assert.equal((await Deno.stat(placed)).nlink, 1);
      assert.deepEqual(await h.partFilesIn(out), []);
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort(),
        [".shoal", "film.bin"],
      );

      // Edited by its owner before the run again: the edit stays, and the
      // download is placed anew beside it.
      await Deno.remove(out, { recursive: true });
      await crash();
      const edited = await Deno.readFile(placed);
      edited.set(new TextEncoder().encode("MY EDITS"), 1000);
      await Deno.writeFile(placed, edited);
      const afterEdit = await leech();
      assert.equal(afterEdit.code, 0, afterEdit.stderr);
      assert.match(afterEdit.stderr, /has changed since; it stays as it is/);
      assert.deepEqual(await Deno.readFile(placed), edited);
      await h.assertSameFile(join(out, "film (2).bin"), source);
      assert.deepEqual(await h.partFilesIn(out), []);
    } finally {
      await seeder.stop();
    }
  },
});

Deno.test({
  name:
    "a folder of more files than a fetch worker keeps open has every file flushed to disk before it takes its name",
  ignore: !HAS_STRACE,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = await h.startTracker();
    // One piece each, and more than the 32 files a worker keeps open.
    const folder = join(dir.path, "many");
    await Deno.mkdir(folder);
    const names = Array.from(
      { length: 80 },
      (_, i) => `f${String(i).padStart(2, "0")}.bin`,
    );
    for (const [i, name] of names.entries()) {
      await h.makeFile(join(folder, name), 1000 + i, 300 + i);
    }
    const seeder = await h.startSeeder(tracker, [folder], join(dir.path, "s"));
    try {
      await seeder.waitFor(/^seeding many /);
      const out = join(dir.path, "out");
      const log = join(dir.path, "strace.log");
      // -y names each flushed file by its path.
      const result = await leechUnderStrace(
        ["-y", "-o", log, "-e", "trace=fdatasync,fsync"],
        tracker,
        "many",
        out,
      );
      assert.equal(result.code, 0, result.stderr);
      for (const name of names) {
        await h.assertSameFile(join(out, "many", name), join(folder, name));
      }
      // Flushed while still a part file (before the folder took its name);
      // strace may split a call's line (<unfinished ...>): the call counts.
      const flushed = new Set(
        [...(await Deno.readTextFile(log)).matchAll(
          /sync\(\d+<[^>]*\.parts\/([^>]+)>/g,
        )]
          .map((match) => match[1]),
      );
      assert.deepEqual(names.filter((name) => !flushed.has(name)), []);
    } finally {
      await seeder.stop();
    }
  },
});
