/**
 * Least privilege, end to end: `deno task tracker` has network access only,
 * and `deno task peer` starts the peer with read access to its seeds and
 * download folder, write access to that folder, and nothing else. A peer
 * asked to share (or re-share) a file it was not given fails with a clear
 * message instead of reading it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import { peerRunArgs } from "../../peer/launch.ts";
import { TRACKER_PERMISSIONS } from "../../shoal.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno.json runs the tracker with network only and the peer through the launcher", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const tracker: string = config.tasks.tracker.command;
  // Network, and the list of this machine's addresses (to print what
  // friends can use): no other system information, no files.
  assert.match(
    tracker,
    /^deno run (--no-prompt )?--allow-net(=\S+)?( --allow-sys=networkInterfaces)? tracker\/main\.ts$/,
  );
  // `shoal tracker` starts it the same way.
  assert.deepEqual([...TRACKER_PERMISSIONS], [
    "--allow-net",
    "--allow-sys=networkInterfaces",
  ]);
  assert.match(tracker, new RegExp(TRACKER_PERMISSIONS.join(" ")));
  // The installed `shoal` command has the launcher's permissions.
  const install: string = config.tasks.install.command;
  assert.doesNotMatch(install, /--allow-(all|write|ffi|sys|net)\b|\s-A\s/);
  assert.match(install, /--allow-run=deno/);
  const peer: string = config.tasks.peer.command;
  assert.match(peer, /peer\/launch\.ts$/);
  // The launcher reads (to resolve symbolic links in the paths it grants)
  // and runs deno; it never writes, opens sockets or loads native code.
  assert.doesNotMatch(peer, /--allow-(all|write|ffi|sys|net)\b|\s-A\s/);
  assert.match(peer, /--allow-run=deno/);
});

Deno.test("a peer cannot read a file outside what it was given, even one it seeded before", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const first = join(dir.path, "first.bin");
  const second = join(dir.path, "second.bin");
  await h.makeFile(first, 40_000, 1);
  await h.makeFile(second, 40_000, 2);
  const out = join(dir.path, "state");
  const peerArgs = (seed: string) => [
    "--tracker",
    `${tracker.host}:${tracker.port}`,
    "--seed",
    seed,
    "--out",
    out,
    "--host",
    "127.0.0.1",
  ];
  // The exact command line the launcher runs (deno task peer).
  const run = (seed: string) =>
    h.spawnDenoWith(peerRunArgs(peerArgs(seed), dir.path), {
      env: { INIT_CWD: dir.path },
    });
  const a = run(first);
  await a.waitFor(/serving peers on port/);
  assert.equal(await a.stop(), 0);
  // Same state folder, another file: the peer remembers first.bin but was
  // not given it this time, so it must not read it.
  const b = run(second);
  await b.waitFor(/serving peers on port/);
  assert.equal(await b.stop(), 0);
  const both = b.lines.join("\n");
  assert.match(both, /seeding second\.bin/);
  assert.doesNotMatch(both, /seeding first\.bin/);
  // And a seed outside the grant fails with one clear line, no stack trace.
  const sneaky = h.spawnDeno(h.PEER_MAIN, peerArgs("/etc/passwd"), {
    permissions: peerRunArgs(peerArgs(second), dir.path).slice(
      1,
      peerRunArgs(peerArgs(second), dir.path).indexOf(h.PEER_MAIN),
    ),
  });
  const result = await sneaky.done(30_000);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /error: Cannot seed \/etc\/passwd: this peer was not given read access/,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});

Deno.test("deno task peer runs the launcher, which passes signals and exit codes on", async () => {
  await using dir = await h.tempDir();
  const result = await h.spawnDenoWith(["task", "peer", "--bogus-flag"], {
    cwd: ROOT,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", INIT_CWD: dir.path },
  }).done(30_000);
  assert.equal(result.code, 2, result.stderr);
});
