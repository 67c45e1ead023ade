/**
 * Errors that say what to do, and what a seeder tells its user, from the
 * real command line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

Deno.test("a peer port in use names the port and --port; a web port in use names --ui-port", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  await h.makeFile(join(dir.path, "a.bin"), 10, 1);
  const peerPort = await h.runPeer(tracker, [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--seed",
    join(dir.path, "a.bin"),
    "--out",
    dir.path,
  ]);
  assert.equal(peerPort.code, 2, peerPort.stderr);
  assert.equal(
    peerPort.stderr.trim(),
    `error: Cannot serve peers on port ${port}: the port is in use; pick another --port (0 picks any free port)`,
  );
  const uiPort = await h.runPeer(tracker, [
    "--ui",
    "--ui-port",
    String(port),
    "--out",
    dir.path,
  ]);
  assert.equal(uiPort.code, 2, uiPort.stderr);
  assert.match(
    uiPort.stderr,
    new RegExp(
      `^error: Cannot serve the web page on port ${port}: the port is in use; pick another --ui-port`,
      "m",
    ),
  );
});

Deno.test("--out that is a file, an empty folder given to --seed, and an unknown option each say what to do", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const file = join(dir.path, "a.bin");
  await h.makeFile(file, 10, 1);
  const out = await h.runPeer(tracker, [
    "--get",
    "x",
    "--out",
    file,
  ]);
  assert.equal(out.code, 2);
  assert.equal(
    out.stderr.trim(),
    `error: --out ${file} is a file, not a folder; give --out a folder to download into`,
  );

  await Deno.mkdir(join(dir.path, "album"));
  const folder = await h.runPeer(tracker, [
    "--seed",
    join(dir.path, "album"),
    "--out",
    join(dir.path, "state"),
  ]);
  assert.equal(folder.code, 1);
  // A folder is shared whole (issue 19); an empty one has nothing to share.
  assert.match(folder.stderr, /album: it holds no file to share\n$/);
  // The error is all it says: no "stopped; uploaded 0 B" line after it.
  assert.equal(folder.stdout, "");

  const unknown = await h.runPeer(null, ["--seeed", file]);
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr.trim(),
    "error: Unknown option '--seeed'; see --help",
  );
});

Deno.test("a seeder says what it uploaded and to how many peers, in human units, when it stops", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "film.mkv");
  const seeder = await h.seedNewFile(tracker, source, 1_200_000, 5);
  let code: number;
  try {
    const got = await h.getFile(tracker, "film.mkv", join(dir.path, "d"));
    assert.equal(got.code, 0, got.stderr);
    // Singular where it is one: "1 peer".
    assert.match(got.stderr, /3\/3 chunks, (checking|done), 1 peer\n/);
  } finally {
    code = await seeder.stop();
  }
  assert.equal(code, 0);
  const last = seeder.lines.at(-1)!;
  assert.match(last, /^stopped; uploaded \d+(\.\d)? MB to 1 peer$/);
});

Deno.test("a seeder says what it uploaded while it runs, every --report-every seconds", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "show.mkv");
  const seeder = await h.seedNewFile(tracker, source, 1_200_000, 6, {
    args: ["--report-every", "1"],
  });
  try {
    const got = await h.getFile(tracker, "show.mkv", join(dir.path, "d"));
    assert.equal(got.code, 0, got.stderr);
    // Still seeding: the line comes from the timer, not from the stop.
    const line = await seeder.waitFor(/^uploaded .*$/, 10_000);
    assert.match(line[0], /^uploaded \d+(\.\d)? MB to 1 peer$/);
  } finally {
    assert.equal(await seeder.stop(), 0);
  }
});
