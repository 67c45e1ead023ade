import assert from "node:assert/strict";
import { type FileAnnouncement, toHex } from "@shoal/protocol";
import { TrackerClient, TrackerError } from "../../peer/tracker_client.ts";
import {
  openTrackerClient,
  randomAnnouncement,
  startTracker,
} from "../_helpers/tracker.ts";
import { loopbackUdp } from "../../bench/_udp.ts";

function file(name: string, complete = true): FileAnnouncement {
  return randomAnnouncement(name, complete, 1_234);
}

/** A loopback UDP socket that closes at the end of its `using` scope. */
function udpSocket(): {
  socket: Deno.DatagramConn;
  port: number;
  [Symbol.dispose](): void;
} {
  const { socket } = loopbackUdp(0);
  return {
    socket,
    port: (socket.addr as Deno.NetAddr).port,
    [Symbol.dispose]: () => socket.close(),
  };
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("Expected the promise to reject");
}

function peerId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

Deno.test("TrackerClient registers, requests, counts, seeds, lists and leaves over UDP", async () => {
  await using tracker = await startTracker({ peerTtlMs: 30_000 });
  await using seeder = await openTrackerClient(tracker);
  await using leecher = await openTrackerClient(tracker);
  const movie = file("movie.mkv");
  const seederId = peerId();
  const leecherId = peerId();

  assert.deepEqual(await seeder.register(seederId, 7001, [movie]), {
    intervalSeconds: 10,
  });
  assert.equal(await seeder.keepalive(seederId, 7001), "ok");
  assert.equal(await leecher.keepalive(leecherId, 7002), "unknown_peer");
  await leecher.register(leecherId, 7002, [{ ...movie, complete: false }]);

  const byName = await leecher.request({ name: "movie.mkv" });
  assert.equal(byName.kind, "peers");
  if (byName.kind !== "peers") return;
  assert.equal(toHex(byName.fileId), toHex(movie.id));
  assert.deepEqual(byName.peers, [
    { host: "127.0.0.1", port: 7001, complete: true },
  ]);

  assert.deepEqual(await leecher.getCount(movie.id), {
    chunkCount: 1,
    size: 1_234,
  });
  assert.equal(await leecher.getCount(new Uint8Array(32)), null);
  assert.deepEqual(await leecher.request({ name: "nope" }), {
    kind: "unknown",
  });

  assert.equal(await leecher.becomeSeeder(leecherId, 7002, movie), "ok");
  const listed = await seeder.list("MOVIE");
  assert.equal(listed.total, 1);
  assert.equal(listed.files[0]?.seeders, 2);

  await seeder.leave(seederId, 7001);
  const after = await leecher.request({ id: movie.id });
  assert.equal(after.kind === "peers" && after.peers.length, 0);
  assert.equal(await seeder.keepalive(seederId, 7001), "unknown_peer");
});

Deno.test("TrackerClient splits a long file list across several REGISTER datagrams", async () => {
  await using tracker = await startTracker();
  await using client = await openTrackerClient(tracker);
  const files = Array.from(
    { length: 120 },
    (_, i) =>
      file(`${String(i).padStart(3, "0")}-${"long-name-".repeat(5)}.bin`),
  );
  await client.register(peerId(), 7000, files);
  assert.equal(tracker.handler.registry.stats.holdings, 120);
  assert.ok(tracker.handler.stats.replies >= 1 + 120 * 87 / 1_400);
  const first = await client.list("long-name", 0);
  assert.equal(first.total, 120);
  const second = await client.list("long-name", first.files.length);
  assert.equal(second.files[0]?.name, files[first.files.length]!.name);
});

Deno.test("TrackerClient answers candidates when a name matches several files", async () => {
  await using tracker = await startTracker();
  await using client = await openTrackerClient(tracker);
  await client.register(peerId(), 7000, [file("same.txt"), file("same.txt")]);
  const result = await client.request({ name: "same.txt" });
  assert.equal(result.kind, "candidates");
  assert.equal(result.kind === "candidates" && result.files.length, 2);
});

Deno.test("TrackerClient runs concurrent calls on one socket", async () => {
  await using tracker = await startTracker();
  await using client = await openTrackerClient(tracker);
  const ids = Array.from({ length: 20 }, () => peerId());
  await Promise.all(
    ids.map((id, i) => client.register(id, 7000 + i, [file(`f${i}`)])),
  );
  const results = await Promise.all(
    ids.map((id, i) => client.keepalive(id, 7000 + i)),
  );
  assert.deepEqual(results, ids.map(() => "ok"));
  assert.equal(tracker.handler.registry.stats.peers, 20);
});

Deno.test("tracker expires a silent peer after a short TTL", async () => {
  await using tracker = await startTracker({
    peerTtlMs: 300,
    server: { handler: { sweepIntervalMs: 50 } },
  });
  await using client = await openTrackerClient(tracker);
  const shared = file("short-lived");
  const id = peerId();
  await client.register(id, 7000, [shared]);
  assert.equal((await client.request({ id: shared.id })).kind, "peers");
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.deepEqual(await client.request({ id: shared.id }), {
    kind: "unknown",
  });
  assert.equal(await client.keepalive(id, 7000), "unknown_peer");
  assert.equal(tracker.handler.registry.stats.peers, 0);
});

Deno.test("TrackerClient fails with a clear TrackerError when nothing answers", async () => {
  // A bound socket that never answers: datagrams are simply lost.
  using silent = udpSocket();
  const port = silent.port;
  await using client = await TrackerClient.open({
    host: "127.0.0.1",
    port,
    timeoutMs: 20,
    retries: 3,
  });
  const started = performance.now();
  const error = await rejection(client.register(peerId(), 7000, []));
  const elapsedMs = performance.now() - started;
  assert.ok(error instanceof TrackerError);
  assert.equal(error.code, "unreachable");
  assert.equal(
    error.message,
    `Cannot reach tracker 127.0.0.1:${port}: no answer after 4 tries; is it running?`,
  );
  // 20 + 40 + 80 + 160 ms of backoff.
  assert.ok(elapsedMs >= 290, `gave up after ${elapsedMs} ms`);
  assert.ok(elapsedMs < 2_000, `gave up after ${elapsedMs} ms`);
});

Deno.test("TrackerClient ignores replies from another address and with other txids", async () => {
  using fake = udpSocket();
  using stranger = udpSocket();
  const { createMessage, parseMessage } = await import("@shoal/protocol");
  await using client = await TrackerClient.open({
    host: "127.0.0.1",
    port: fake.port,
    timeoutMs: 1_000,
    retries: 0,
  });
  const pending = client.getCount(new Uint8Array(32));
  // The fake tracker answers CONNECT correctly...
  const [connect, from] = await fake.socket.receive();
  const { txid } = parseMessage(connect);
  // ...after a stranger and a wrong txid try first.
  await stranger.socket.send(
    createMessage({ kind: "cookie", txid, cookie: 1n }),
    from,
  );
  await fake.socket.send(
    createMessage({ kind: "cookie", txid: txid ^ 1, cookie: 2n }),
    from,
  );
  await fake.socket.send(
    createMessage({ kind: "cookie", txid, cookie: 3n }),
    from,
  );
  const [request] = await fake.socket.receive();
  const message = parseMessage(request);
  assert.equal(message.kind, "get_count");
  assert.equal(message.kind === "get_count" && message.cookie, 3n);
  await fake.socket.send(
    createMessage({
      kind: "error",
      txid: message.txid,
      code: 2,
      text: "No such file",
    }),
    from,
  );
  assert.equal(await pending, null);
});

Deno.test("TrackerClient renews its cookie when the tracker restarts", async () => {
  const first = await startTracker();
  const port = first.port;
  await using client = await TrackerClient.open({ host: first.host, port });
  const id = peerId();
  await client.register(id, 7000, []);
  await first.stop();
  await using second = await startTracker({ port });
  // The old cookie is refused (new secret); the client reconnects by itself.
  assert.equal(await client.keepalive(id, 7000), "unknown_peer");
  assert.equal(second.handler.stats.badCookie, 1);
});

Deno.test("TrackerClient.close() fails calls in progress and is idempotent", async () => {
  using silent = udpSocket();
  const client = await TrackerClient.open({
    host: "127.0.0.1",
    port: silent.port,
    timeoutMs: 5_000,
  });
  const failed = rejection(client.keepalive(peerId(), 7000));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await client.close();
  await client.close();
  const error = await failed;
  assert.ok(error instanceof TrackerError && error.code === "closed");
  await assert.rejects(client.list(""), TrackerError);
  assert.match(String(error), /client is closed/);
});
