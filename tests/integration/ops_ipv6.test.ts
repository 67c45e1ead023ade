/**
 * IPv6 and IPv4 side by side: a dual-stack tracker on "::", peers that
 * register over ::1 or 127.0.0.1 and keep their family, a peer server that
 * accepts both, and a download over IPv6 from end to end. Skipped with a
 * message in the test name where ::1 is not available.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveTracker } from "../../tracker/server.ts";
import type { TrackerClient } from "../../peer/tracker_client.ts";
import { PeerServer } from "../../peer/wire/server.ts";
import { Library } from "../../peer/library/library.ts";
import * as h from "../_helpers/mod.ts";

function hasIpv6Loopback(): boolean {
  try {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: "::1",
      port: 0,
    });
    socket.close();
    return true;
  } catch {
    return false;
  }
}

const IPV6 = hasIpv6Loopback();
const SKIP = IPV6 ? "" : " (skipped: ::1 is not available on this machine)";

/** A tracker on "::" in this process, with the rate limit off. */
function dualStackTracker() {
  const controller = new AbortController();
  const server = serveTracker({
    hostname: "::",
    port: 0,
    handler: { rateLimit: false },
    signal: controller.signal,
  });
  return {
    server,
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}

Deno.test({
  name:
    `tracker on "::" serves 127.0.0.1 and ::1 and keeps each peer's family${SKIP}`,
  ignore: !IPV6,
  async fn() {
    await using tracker = dualStackTracker();
    // One dual-stack socket here, or two where IPv6 sockets are IPv6-only.
    assert.ok(tracker.server.addrs.length >= 1);
    await using v4 = await h.openTrackerClient(tracker, "127.0.0.1");
    await using v6 = await h.openTrackerClient(tracker, "::1");
    const file = h.randomAnnouncement("both.bin", true, 10);
    await v4.register(crypto.getRandomValues(new Uint8Array(16)), 7004, [file]);
    await v6.register(crypto.getRandomValues(new Uint8Array(16)), 7006, [file]);
    const registry = tracker.server.handler.registry;
    assert.deepEqual(
      { v4: registry.totals.ipv4Peers, v6: registry.totals.ipv6Peers },
      { v4: 1, v6: 1 },
    );
    // IPv4 over the dual-stack socket is stored as plain IPv4, not ::ffff:.
    const hosts = registry.fileById(file.id)!.holders.map((h) => h.peer.host)
      .sort();
    assert.deepEqual(hosts, ["127.0.0.1", "::1"]);

    // Each asker (not a registered peer) gets its own family first.
    await using asker6 = await h.openTrackerClient(tracker, "::1");
    await using asker4 = await h.openTrackerClient(tracker, "127.0.0.1");
    const listed = async (client: TrackerClient) => {
      const answer = await client.request({ id: file.id });
      if (answer.kind !== "peers") throw new Error("expected peers");
      return answer.peers.map((peer) => `${peer.host} ${peer.port}`);
    };
    assert.deepEqual(await listed(asker6), ["::1 7006", "127.0.0.1 7004"]);
    assert.deepEqual(await listed(asker4), ["127.0.0.1 7004", "::1 7006"]);
  },
});

Deno.test({
  name: `PeerServer on "::" accepts IPv4 and IPv6 connections${SKIP}`,
  ignore: !IPV6,
  async fn() {
    await using dir = await h.tempDir();
    const server = PeerServer.listen({
      library: new Library(join(dir.path, ".shoal")),
      hostname: "::",
      port: 0,
    });
    try {
      for (const hostname of ["127.0.0.1", "::1"]) {
        const conn = await Deno.connect({ hostname, port: server.port });
        assert.equal((conn.remoteAddr as Deno.NetAddr).port, server.port);
        conn.close();
      }
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name:
    `a seeder registered over IPv6 is downloadable by an IPv6 leecher${SKIP}`,
  ignore: !IPV6,
  async fn() {
    await using dir = await h.tempDir();
    await using tracker = dualStackTracker();
    const source = join(dir.path, "six.bin");
    await h.makeFile(source, 3 * 512 * 1024 + 777, 6);
    const trackerAddress = `[::1]:${tracker.port}`;
    const seeder = h.spawnDeno(h.PEER_MAIN, [
      "--tracker",
      trackerAddress,
      "--seed",
      source,
      "--out",
      join(dir.path, "seeder"),
    ]);
    try {
      await seeder.waitFor(/serving peers on port (\d+)/);
      const registry = tracker.server.handler.registry;
      assert.equal(registry.totals.ipv6Peers, 1);
      assert.equal(registry.totals.ipv4Peers, 0);
      const leecher = await h.spawnDeno(h.PEER_MAIN, [
        "--tracker",
        trackerAddress,
        "--get",
        "six.bin",
        "--out",
        join(dir.path, "leecher"),
        "--no-seed",
        "--json",
      ]).done(60_000);
      assert.equal(leecher.code, 0, leecher.stderr);
      const done = h.doneEvent(leecher.stdout);
      // Every chunk came over IPv6.
      const peers = Object.keys(done.chunksByPeer);
      assert.ok(peers.length > 0);
      for (const peer of peers) assert.match(peer, /^\[::1\]:\d+$/);
      await h.assertSameFile(join(dir.path, "leecher", "six.bin"), source);
    } finally {
      assert.equal(await seeder.stop(), 0);
    }
  },
});

Deno.test("serveTracker() on 127.0.0.1 binds one socket", async () => {
  const controller = new AbortController();
  const server = serveTracker({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  assert.equal(server.addrs.length, 1);
  assert.equal(server.addr.hostname, "127.0.0.1");
  controller.abort();
  await server.finished;
});
