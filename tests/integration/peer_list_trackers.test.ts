/**
 * `--list` with several trackers asks them all at once: a dead tracker named
 * first costs nothing when a live one answers. And a magnet link naming only
 * trackers Shoal cannot use, with the DHT off, is one line and exit 2 (never
 * the default tracker the user did not name).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

/** A UDP port on 127.0.0.1 where nothing listens (a dead tracker). */
function deadUdpPort(): number {
  const socket = Deno.listenDatagram({
    hostname: "127.0.0.1",
    port: 0,
    transport: "udp",
  });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

/** The client's whole retry schedule for a dead tracker: 250+500+1000+2000+4000 ms. */
const DEAD_TRACKER_GIVE_UP_MS = 7_750;

Deno.test("--list answers from the live tracker at once when a dead one is named first", async () => {
  const tracker = h.spawnDeno(h.TRACKER_MAIN, [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], { permissions: ["--allow-net"] });
  try {
    const [, live] = await tracker.waitFor(/udp:\/\/127\.0\.0\.1:(\d+)/);
    const dead = deadUdpPort();
    const started = performance.now();
    const result = await h.runPeer(null, [
      "--no-dht",
      "--tracker",
      `127.0.0.1:${dead}`,
      "--tracker",
      `127.0.0.1:${live}`,
      "--list",
    ]);
    const elapsedMs = performance.now() - started;
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`the tracker 127\\.0\\.0\\.1:${live} knows no file yet`),
    );
    // Generous: the process starts and asks; before the fix it waited out
    // the dead tracker's whole schedule first.
    assert.ok(
      elapsedMs < DEAD_TRACKER_GIVE_UP_MS - 1_500,
      `--list took ${Math.round(elapsedMs)} ms`,
    );
    assert.doesNotMatch(result.stderr, /Cannot reach/);
  } finally {
    await tracker.stop();
  }
});

Deno.test("--list against a dead tracker says it is still asking, then fails with exit 7", async () => {
  const dead = deadUdpPort();
  const result = await h.runPeer(null, [
    "--no-dht",
    "--tracker",
    `127.0.0.1:${dead}`,
    "--list",
  ]);
  assert.equal(result.code, 7, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert.match(
    lines[0] ?? "",
    new RegExp(
      `\\[WRN\\].*No answer yet from tracker "127\\.0\\.0\\.1:${dead}"; still asking`,
    ),
  );
  assert.equal(
    lines.at(-1),
    `error: Cannot reach tracker 127.0.0.1:${dead}: no answer after 5 tries; is it running?`,
  );
  assert.equal(lines.length, 2, result.stderr);
});

Deno.test("a magnet link naming only http:// trackers, with --no-dht and no --tracker, is one line and exit 2", async () => {
  const link = `magnet:?xt=urn:btmh:1220${
    "cd".repeat(32)
  }&dn=x.bin&tr=http%3A%2F%2Fexample.com%2Fannounce`;
  await using dir = await h.tempDir();
  const result = await h.runPeer(null, [
    "--no-dht",
    "--get",
    link,
    "--no-seed",
    "--out",
    dir.path,
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    result.stderr,
    "error: the magnet link names only http:// trackers; Shoal speaks udp:// trackers: give --tracker HOST:PORT, or leave the DHT on (drop --no-dht) to find peers by the file's id\n",
  );
  assert.equal(result.stdout, "");
});

Deno.test("--get by name from a dead tracker, to seed after, fails with exit 7 after one lookup and no upload line", async () => {
  const dead = deadUdpPort();
  await using dir = await h.tempDir();
  const result = await h.runPeer(null, [
    "--no-dht",
    "--tracker",
    `127.0.0.1:${dead}`,
    "--get",
    "notes.txt",
    "--out",
    join(dir.path, "out"),
  ]);
  assert.equal(result.code, 7, result.stderr);
  assert.equal(
    result.stderr.trim().split("\n").at(-1),
    `error: Cannot reach tracker 127.0.0.1:${dead}: no answer after 5 tries; is it running?`,
  );
  // The download did not wait for the announcer's rounds (a second failed
  // round retries in 2000 ms), and says nothing of uploads it never made.
  assert.doesNotMatch(result.stderr, /retrying in 2000 ms/);
  assert.doesNotMatch(result.stdout, /uploaded/);
});
