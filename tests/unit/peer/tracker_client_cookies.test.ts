/**
 * The tracker client's connection cookie: kept, aged out, and renewed on
 * BAD_COOKIE, on a fake transport and a fake clock.
 */
import assert from "node:assert/strict";
import { ErrorCode } from "@shoal/protocol";
import {
  COOKIE_MAX_AGE_MS,
  TrackerError,
} from "../../../peer/tracker_client.ts";
import {
  openFakeClient,
  settle,
} from "../../_helpers/fake_tracker_transport.ts";
import { ackLast, giveCookie } from "./_tracker_replies.ts";

const PEER_ID = new Uint8Array(16).fill(7);

Deno.test("TrackerClient keeps its cookie for the next call", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const first = client.keepalive(PEER_ID, 7000);
    await giveCookie(transport, 11n);
    assert.equal(ackLast(transport, "keepalive").cookie, 11n);
    assert.equal(await first, "ok");
    const second = client.keepalive(PEER_ID, 7000);
    await settle();
    assert.equal(ackLast(transport, "keepalive").cookie, 11n);
    assert.equal(await second, "ok");
    assert.equal(transport.kinds(), "connect keepalive keepalive");
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient asks for a new cookie once the old one reaches cookieMaxAgeMs", async () => {
  const { client, transport, clock } = await openFakeClient();
  try {
    const first = client.keepalive(PEER_ID, 7000);
    await giveCookie(transport, 11n);
    ackLast(transport, "keepalive");
    await first;
    await clock.advance(COOKIE_MAX_AGE_MS - 1);
    const young = client.keepalive(PEER_ID, 7000);
    await settle();
    assert.equal(
      ackLast(transport, "keepalive").cookie,
      11n,
      "reused while young",
    );
    await young;
    await clock.advance(1);
    const old = client.keepalive(PEER_ID, 7000);
    await giveCookie(transport, 12n);
    assert.equal(
      ackLast(transport, "keepalive").cookie,
      12n,
      "renewed when old",
    );
    await old;
    assert.equal(
      transport.kinds(),
      "connect keepalive keepalive connect keepalive",
    );
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient renews the cookie on BAD_COOKIE and sends the command again", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const call = client.keepalive(PEER_ID, 7000);
    await giveCookie(transport, 11n);
    transport.answer({
      kind: "error",
      txid: transport.last("keepalive").txid,
      code: ErrorCode.BAD_COOKIE,
      text: "bad cookie",
    });
    await giveCookie(transport, 12n);
    assert.equal(ackLast(transport, "keepalive").cookie, 12n);
    assert.equal(await call, "ok");
    assert.equal(transport.kinds(), "connect keepalive connect keepalive");
    // The new cookie is kept for the next call.
    const next = client.keepalive(PEER_ID, 7000);
    await settle();
    assert.equal(ackLast(transport, "keepalive").cookie, 12n);
    await next;
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient gives up with rejected after three BAD_COOKIE answers in a row", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const call = client.keepalive(PEER_ID, 7000);
    const failed = assert.rejects(call, (error) => {
      assert.ok(error instanceof TrackerError, String(error));
      assert.equal(error.code, "rejected");
      assert.equal(error.errorCode, ErrorCode.BAD_COOKIE);
      assert.match(error.message, /cookie refused 3 times/);
      return true;
    });
    for (let round = 0; round < 3; round++) {
      await giveCookie(transport, BigInt(20 + round));
      transport.answer({
        kind: "error",
        txid: transport.last("keepalive").txid,
        code: ErrorCode.BAD_COOKIE,
        text: "bad cookie",
      });
    }
    await failed;
    assert.equal(
      transport.kinds(),
      "connect keepalive connect keepalive connect keepalive",
    );
  } finally {
    await client.close();
  }
});
