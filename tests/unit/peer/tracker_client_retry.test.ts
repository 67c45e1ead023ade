/**
 * The tracker client's timeouts and retries, and the replies it must
 * ignore, on a fake transport and a fake clock.
 */
import assert from "node:assert/strict";
import { createMessage } from "@shoal/protocol";
import { TrackerError } from "../../../peer/tracker_client.ts";
import { tryTimeouts } from "../../../peer/tracker_client/retry.ts";
import {
  openFakeClient,
  settle,
  TRACKER,
} from "../../_helpers/fake_tracker_transport.ts";
import { ackLast, giveCookie } from "./_tracker_replies.ts";

const PEER_ID = new Uint8Array(16).fill(7);

Deno.test("tryTimeouts() doubles the wait for each retry", () => {
  assert.deepEqual(tryTimeouts(250, 4), [250, 500, 1000, 2000, 4000]);
  assert.deepEqual(tryTimeouts(100, 0), [100]);
});

Deno.test("TrackerClient resends after each timeout, doubling it, then fails unreachable", async () => {
  const { client, transport, clock } = await openFakeClient({
    timeoutMs: 100,
    retries: 2,
  });
  try {
    const call = client.keepalive(PEER_ID, 7000);
    const failed = assert.rejects(call, (error) => {
      assert.ok(error instanceof TrackerError, String(error));
      assert.equal(error.code, "unreachable");
      assert.match(error.message, /no answer after 3 tries; is it running\?/);
      return true;
    });
    await settle();
    assert.equal(transport.kinds(), "connect");
    await clock.advance(99);
    assert.equal(transport.sent.length, 1, "no resend before the timeout");
    await clock.advance(1);
    assert.equal(transport.sent.length, 2, "resent at 100 ms");
    await clock.advance(199);
    assert.equal(transport.sent.length, 2, "the second wait is 200 ms");
    await clock.advance(1);
    assert.equal(transport.sent.length, 3, "resent at 100 + 200 ms");
    // Every try is the same datagram: same transaction id.
    assert.deepEqual(transport.sentBytes[1], transport.sentBytes[0]);
    assert.deepEqual(transport.sentBytes[2], transport.sentBytes[0]);
    await clock.advance(400);
    await failed;
    assert.equal(transport.sent.length, 3, "no fourth try");
    assert.equal(clock.pendingTimers, 0);
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient takes the answer to a resend when the first reply was lost", async () => {
  const { client, transport, clock } = await openFakeClient();
  try {
    const call = client.keepalive(PEER_ID, 7000);
    await settle();
    await clock.advance(250); // the reply to the first CONNECT never came
    assert.equal(transport.kinds(), "connect connect");
    await giveCookie(transport, 42n);
    assert.equal(ackLast(transport, "keepalive").cookie, 42n);
    assert.equal(await call, "ok");
    assert.equal(clock.pendingTimers, 0);
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient ignores a reply with another transaction id", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const call = client.keepalive(PEER_ID, 7000);
    await settle();
    const txid = transport.last("connect").txid;
    transport.answer({ kind: "cookie", txid: (txid + 1) >>> 0, cookie: 1n });
    await settle();
    assert.equal(transport.kinds(), "connect", "the stray reply was taken");
    transport.answer({ kind: "cookie", txid, cookie: 2n });
    await settle();
    assert.equal(ackLast(transport, "keepalive").cookie, 2n);
    assert.equal(await call, "ok");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient drops malformed datagrams, requests and datagrams from elsewhere", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const call = client.keepalive(PEER_ID, 7000);
    await settle();
    const txid = transport.last("connect").txid;
    const good = createMessage({ kind: "cookie", txid, cookie: 9n });
    transport.deliver(good.subarray(0, good.byteLength - 1)); // truncated
    transport.deliver(new Uint8Array([0xff, 0xff, 0xff]));
    transport.answer({ kind: "connect", txid }); // a request, not a reply
    transport.deliver(good, {
      transport: "udp",
      hostname: TRACKER.ip,
      port: TRACKER.port + 1,
    });
    transport.deliver(good, {
      transport: "udp",
      hostname: "127.0.0.2",
      port: TRACKER.port,
    });
    await settle();
    assert.equal(transport.kinds(), "connect", "a bad datagram was taken");
    // From a dual-stack socket, the tracker's IPv4 address is ::ffff:a.b.c.d.
    transport.deliver(good, {
      transport: "udp",
      hostname: `::ffff:${TRACKER.ip}`,
      port: TRACKER.port,
    });
    await settle();
    assert.equal(ackLast(transport, "keepalive").cookie, 9n);
    assert.equal(await call, "ok");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient treats a refused send as a lost datagram and retries", async () => {
  const { client, transport, clock } = await openFakeClient();
  try {
    transport.sendError = new Deno.errors.NetworkUnreachable("down");
    const call = client.keepalive(PEER_ID, 7000);
    await settle();
    assert.equal(transport.sent.length, 0);
    transport.sendError = null;
    await clock.advance(250);
    await giveCookie(transport, 5n);
    ackLast(transport, "keepalive");
    assert.equal(await call, "ok");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient ends a call at once when its signal aborts", async () => {
  const { client, transport, clock } = await openFakeClient();
  try {
    const stop = new AbortController();
    const call = client.keepalive(PEER_ID, 7000, { signal: stop.signal });
    await settle();
    assert.equal(transport.kinds(), "connect");
    stop.abort();
    await assert.rejects(call, (error) => {
      assert.ok(error instanceof TrackerError);
      assert.equal(error.code, "aborted");
      return true;
    });
    assert.equal(clock.pendingTimers, 0, "the timeout was cleared");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient ends a call at once when its signal aborts while a datagram is sent", async () => {
  // A peer stopping while it leaves the tracker: the abort comes during the
  // send, before the wait for the reply has begun.
  const { client, transport, clock } = await openFakeClient();
  try {
    const stop = new AbortController();
    transport.onSend = () => stop.abort();
    const call = client.keepalive(PEER_ID, 7000, { signal: stop.signal });
    await assert.rejects(call, (error) => {
      assert.ok(error instanceof TrackerError);
      assert.equal(error.code, "aborted");
      return true;
    });
    assert.equal(transport.sent.length, 1, "no retry after the abort");
    assert.equal(clock.pendingTimers, 0, "no timeout left waiting");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient.close() fails a call waiting for its reply with closed", async () => {
  const { client, transport } = await openFakeClient();
  const call = client.keepalive(PEER_ID, 7000);
  await settle();
  await client.close();
  assert.ok(transport.closed);
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof TrackerError);
    assert.equal(error.code, "closed");
    return true;
  });
  await assert.rejects(client.leave(PEER_ID, 7000), /client is closed/);
});
