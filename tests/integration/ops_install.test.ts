/**
 * `deno task install` puts one `shoal` command on the PATH that works from
 * any folder, with the launcher's narrow permissions.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import * as h from "../_helpers/mod.ts";

Deno.test("deno task install gives a shoal command that runs the tracker and the peer from any folder", async () => {
  await using installRoot = await h.tempDir("shoal-install-");
  await using elsewhere = await h.tempDir("shoal-elsewhere-");
  const installed = await h.spawnDenoWith(["task", "install"], {
    env: { DENO_INSTALL_ROOT: installRoot.path },
  }).done(60_000);
  assert.equal(installed.code, 0, installed.stderr);
  const shoal = join(installRoot.path, "bin", "shoal");
  const shim = await Deno.readTextFile(shoal);
  // The same permissions as `deno task peer`'s launcher, and no more.
  assert.match(
    shim,
    /deno run --allow-read --allow-env=INIT_CWD --allow-run=deno --no-prompt /,
  );
  assert.doesNotMatch(shim, /--allow-(all|net|write|ffi|sys)\b|\s-A\s/);

  const env = {
    PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
  };
  const run = (args: string[]) =>
    h.spawnDenoWith(args, { binary: shoal, cwd: elsewhere.path, env }).done(
      60_000,
    );
  const tracker = await run(["tracker", "--help"]);
  assert.equal(tracker.code, 0, tracker.stderr);
  assert.match(tracker.stdout, /^Usage: shoal tracker/);
  const peer = await run(["peer", "--help"]);
  assert.equal(peer.code, 0, peer.stderr);
  assert.match(peer.stdout, /shoal peer --tracker HOST:PORT --get NAME\|ID/);
  const wrong = await run(["seed"]);
  assert.equal(wrong.code, 2);
  assert.match(
    wrong.stderr,
    /unknown command "seed"; use shoal tracker or shoal peer/,
  );

  // A relative --seed path starts from the folder the command runs in.
  await using running = await h.startTracker();
  await h.makeFile(join(elsewhere.path, "here.bin"), 1000, 1);
  const seeder = h.spawnDenoWith([
    "peer",
    "--tracker",
    `udp://${running.host}:${running.port}`,
    "--seed",
    "here.bin",
    "--out",
    "state",
  ], { binary: shoal, cwd: elsewhere.path, env });
  try {
    await seeder.waitFor(/^seeding here\.bin \(1\.0 KB, 1 chunk\) id /);
  } finally {
    try {
      seeder.child.kill("SIGTERM");
    } catch {
      // It ended by itself: its output says why.
    }
    const stopped = await seeder.done(10_000);
    assert.equal(stopped.code, 0, `${stopped.stdout}\n${stopped.stderr}`);
  }
  const state = await Deno.stat(join(elsewhere.path, "state", ".shoal"));
  assert.ok(state.isDirectory);
});
