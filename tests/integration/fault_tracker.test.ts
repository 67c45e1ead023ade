/**
 * The real tracker process killed (SIGKILL) and restarted on the same port
 * in the middle of a swarm: the download in progress goes on, the seeder
 * registers again within about one keepalive interval, and a new leecher
 * finds it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createMessage, type Message, parseMessage } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { seedNewFile } from "../_helpers/seed_new_file.ts";
import { assertDownloads } from "../_helpers/swarm.ts";

const CHUNK = 512 * 1024;
/** --peer-ttl 3 gives a keepalive interval of 1 s. */
const TTL_SECONDS = 3;
const INTERVAL_MS = 1_000;

/** How many peers the tracker lists for `fileId` (null: no answer). */
async function listed(
  port: number,
  fileId: Uint8Array,
): Promise<number | null> {
  await using probe = new h.UdpProbe("127.0.0.1", {
    host: "127.0.0.1",
    port,
  });
  const ask = async (message: Message): Promise<Message | null> => {
    await probe.send(createMessage(message));
    const reply = await probe.next(300);
    return reply ? parseMessage(reply.bytes) : null;
  };
  const cookie = await ask({ kind: "connect", txid: 1 });
  if (cookie?.kind !== "cookie") return null;
  const answer = await ask({
    kind: "request",
    txid: 2,
    cookie: cookie.cookie,
    wanted: 10,
    query: { id: fileId },
  });
  if (answer?.kind === "peer_list") return answer.peers.length;
  if (answer?.kind === "error") return 0;
  return null;
}

Deno.test("a tracker restarted mid-swarm: the download goes on and the seeder re-registers within a keepalive", async () => {
  await using dir = await h.tempDir();
  let tracker = await h.startTrackerProcess(["--peer-ttl", `${TTL_SECONDS}`]);
  const port = tracker.port;
  // Where the tracker is, before and after its restart.
  const at = { host: "127.0.0.1", port };
  const { source, built, seeder } = await seedNewFile(
    at,
    dir.path,
    "swarm.bin",
    12 * CHUNK,
    12,
    ["--max-upload", "2M"],
  );
  const out = join(dir.path, "out");
  let leecher: ReturnType<typeof h.spawnDeno> | null = null;
  try {
    leecher = h.spawnLeecher(at, "swarm.bin", out, 30);
    await h.waitUntil(
      "the download to start",
      async () => (await h.partFilesIn(out)).length > 0 ? true : null,
      20_000,
    );
    await tracker.kill();
    await h.sleep(500);
    tracker = await h.startTrackerProcess([
      "--peer-ttl",
      `${TTL_SECONDS}`,
      "--port",
      `${port}`,
    ]);
    const restartedAt = performance.now();
    // The new tracker knows nobody; the seeder's next keepalive is refused
    // (new cookie secret, unknown peer) and it registers again.
    await h.waitUntil(
      "the seeder to register again",
      async () => ((await listed(port, built.id)) ?? 0) > 0 ? true : null,
      INTERVAL_MS * 6,
      100,
    );
    const tookMs = performance.now() - restartedAt;
    // One interval, plus a CONNECT round and scheduling slack.
    assert.ok(
      tookMs < INTERVAL_MS * 2 + 1_500,
      `re-registered after ${Math.round(tookMs)} ms`,
    );
    const result = await leecher.done(60_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await h.assertSameFile(join(out, "swarm.bin"), source);
    // A newcomer finds the seeder through the restarted tracker.
    await assertDownloads(at, source, join(dir.path, "late"));
  } finally {
    await leecher?.kill();
    await seeder.stop();
    await tracker.stop();
  }
});
