import assert from "node:assert/strict";
import { type FileAnnouncement, toHex } from "@shoal/protocol";
import { Announcer, type AnnouncerOptions } from "../../peer/announcer.ts";
import { TrackerClient } from "../../peer/tracker_client.ts";
import {
  openTrackerClient,
  randomAnnouncement as file,
  startTracker,
} from "../_helpers/tracker.ts";

/**
 * An Announcer on `client` with a random peer id, listening on `port`,
 * announcing `files`, every 30 ms unless `options` say otherwise.
 */
function announcerOn(
  client: TrackerClient,
  port: number,
  files: () => FileAnnouncement[],
  options: Partial<AnnouncerOptions> = {},
): Announcer {
  return new Announcer(client, {
    peerId: crypto.getRandomValues(new Uint8Array(16)),
    port,
    files,
    intervalMs: 30,
    ...options,
  });
}

/** Polls `check` every 10 ms until it is true; fails after `timeoutMs`. */
async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function listedPorts(
  client: TrackerClient,
  id: Uint8Array,
): Promise<number[]> {
  const result = await client.request({ id });
  return result.kind === "peers" ? result.peers.map((peer) => peer.port) : [];
}

Deno.test("Announcer registers and keeps the peer alive", async () => {
  await using tracker = await startTracker({ peerTtlMs: 2_000 });
  await using client = await openTrackerClient(tracker);
  await using asker = await openTrackerClient(tracker);
  const shared = file("kept.bin");
  const announcer = announcerOn(client, 7100, () => [shared]);
  try {
    announcer.start();
    await waitFor("two keepalives", () => announcer.status.keepalives >= 2);
    assert.deepEqual(await listedPorts(asker, shared.id), [7100]);
    assert.equal(announcer.status.registrations, 1);
  } finally {
    await announcer.stop();
  }
  // stop() sent LEAVE.
  assert.equal(tracker.handler.registry.stats.peers, 0);
});

Deno.test("Announcer registers again after a tracker restart on the same port", async () => {
  const first = await startTracker();
  const port = first.port;
  await using client = await TrackerClient.open({ host: first.host, port });
  const shared = file("survivor.bin");
  const announcer = announcerOn(client, 7200, () => [shared], {
    retryMinMs: 10,
    retryMaxMs: 50,
  });
  let second: Awaited<ReturnType<typeof startTracker>> | null = null;
  try {
    announcer.start();
    await waitFor("first registration", () => announcer.status.registered);
    await first.stop();
    second = await startTracker({ port });
    const restarted = second;
    // The new tracker knows nobody: the keepalive gets UNKNOWN_PEER and the
    // announcer registers again by itself.
    // The tracker counts the peer as soon as it takes the REGISTER; the
    // announcer counts the registration once the ACK is back.
    await waitFor(
      "registration at the new tracker",
      () =>
        restarted.handler.registry.stats.peers === 1 &&
        announcer.status.registrations >= 2,
    );
    await using asker = await TrackerClient.open({ host: "127.0.0.1", port });
    assert.deepEqual(await listedPorts(asker, shared.id), [7200]);
  } finally {
    await announcer.stop();
    await first.stop();
    await second?.stop();
  }
});

/**
 * A UDP relay in front of a tracker that drops every datagram until opened:
 * a tracker that is down, then up, at one address, with no port rebinding.
 */
function gate(trackerPort: number) {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const tracker: Deno.NetAddr = {
    transport: "udp",
    hostname: "127.0.0.1",
    port: trackerPort,
  };
  let client: Deno.Addr | null = null;
  let open = false;
  const relay = (async () => {
    while (true) {
      let bytes: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [received, addr] = await socket.receive();
        bytes = received;
        from = addr as Deno.NetAddr;
      } catch (error) {
        // Closing the socket cancels the pending receive.
        if (
          error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ) {
          return;
        }
        throw error;
      }
      if (!open) continue;
      if (from.port === trackerPort) {
        if (client) await socket.send(bytes, client);
      } else {
        client = from;
        await socket.send(bytes, tracker);
      }
    }
  })();
  return {
    port: (socket.addr as Deno.NetAddr).port,
    open: () => {
      open = true;
    },
    async close() {
      socket.close();
      await relay;
    },
  };
}

Deno.test("Announcer keeps retrying while the tracker is unreachable, then recovers", async () => {
  await using tracker = await startTracker();
  const relay = gate(tracker.port);
  const client = await TrackerClient.open({
    host: "127.0.0.1",
    port: relay.port,
    timeoutMs: 10,
    retries: 0,
  });
  const shared = file("patient.bin");
  const announcer = announcerOn(client, 7300, () => [shared], {
    retryMinMs: 10,
    retryMaxMs: 40,
    leaveTimeoutMs: 20,
  });
  try {
    announcer.start();
    await waitFor("three failures", () => announcer.status.failures >= 3);
    assert.match(announcer.status.lastError ?? "", /Cannot reach tracker/);
    assert.equal(announcer.status.registered, false);
    assert.equal(tracker.handler.stats.received, 0);
    // The tracker becomes reachable: the announcer gets through.
    relay.open();
    await waitFor("registration", () => announcer.status.registered);
    assert.equal(announcer.status.failures, 0);
    assert.equal(tracker.handler.registry.stats.peers, 1);
  } finally {
    await announcer.stop();
    await client.close();
    await relay.close();
  }
});

Deno.test("Announcer.announceNow() registers added files and forgets removed ones", async () => {
  await using tracker = await startTracker();
  await using client = await openTrackerClient(tracker);
  await using asker = await openTrackerClient(tracker);
  const a = file("a.bin");
  const b = file("b.bin");
  let files = [a];
  const announcer = announcerOn(client, 7400, () => files, {
    intervalMs: 60_000,
  });
  try {
    await announcer.announceNow();
    assert.deepEqual(await listedPorts(asker, a.id), [7400]);
    files = [a, b];
    await announcer.announceNow();
    assert.deepEqual(await listedPorts(asker, b.id), [7400]);
    files = [b];
    await announcer.announceNow();
    assert.deepEqual(await asker.request({ id: a.id }), { kind: "unknown" });
    assert.deepEqual(await listedPorts(asker, b.id), [7400]);
  } finally {
    await announcer.stop();
  }
});

Deno.test("Announcer.becomeSeeder() marks the file complete at the tracker", async () => {
  await using tracker = await startTracker();
  await using client = await openTrackerClient(tracker);
  const partial = file("growing.bin", false);
  const announcer = announcerOn(client, 7500, () => [partial], {
    intervalMs: 60_000,
  });
  try {
    await announcer.announceNow();
    assert.equal(await announcer.becomeSeeder(partial), true);
    const listed = await client.list("growing");
    assert.equal(listed.files[0]?.seeders, 1);
    assert.equal(toHex(listed.files[0]!.id), toHex(partial.id));
  } finally {
    await announcer.stop();
  }
});
