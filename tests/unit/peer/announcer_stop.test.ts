/**
 * The announcer stops at once, whenever stop() comes: a stop that lands
 * between a tracker's reply and the next wait must not sleep a whole
 * keepalive interval (Ctrl+C then hung for up to 30 s).
 */
import assert from "node:assert/strict";
import { Announcer } from "../../../peer/announcer.ts";
import { openFakeClient } from "../../_helpers/fake_tracker_transport.ts";
import { ackLast, giveCookie } from "./_tracker_replies.ts";

const PEER_ID = new Uint8Array(16).fill(7);

/** Resolves to "stopped", or "hung" after `ms` of real time. */
function within(stopping: Promise<void>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    stopping.then(() => "stopped"),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("hung"), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("Announcer.stop() ends at once at any point after a tracker reply", async () => {
  // The gap between the reply and the next wait is a few promise turns:
  // stop after each possible number of them.
  for (let turns = 0; turns < 24; turns++) {
    const { client, transport } = await openFakeClient();
    transport.onSend = (message) => {
      if (message.kind !== "leave") return;
      queueMicrotask(() =>
        transport.answer({
          kind: "ack",
          txid: message.txid,
          intervalSeconds: 30,
        })
      );
    };
    const announcer = new Announcer(client, {
      peerId: PEER_ID,
      port: 7000,
      files: () => [],
      intervalMs: 60_000,
    });
    try {
      announcer.start();
      await giveCookie(transport, 5n);
      ackLast(transport, "register");
      for (let i = 0; i < turns; i++) await Promise.resolve();
      assert.equal(
        await within(announcer.stop(), 2_000),
        "stopped",
        `stop() after ${turns} promise turns`,
      );
    } finally {
      await client.close();
    }
  }
});
