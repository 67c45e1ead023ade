import assert from "node:assert/strict";
import { isFetchWorkerEvent } from "@shoal/protocol/worker_messages";

Deno.test("isFetchWorkerEvent() takes a peer's client name and protocol only in their shapes", () => {
  const connected = {
    type: "connected",
    connId: 1,
    bitfield: new Uint8Array(1),
    client: "libtorrent 2.0.8",
    dialect: "bittorrent",
  };
  assert.ok(isFetchWorkerEvent(connected));
  assert.ok(isFetchWorkerEvent({ ...connected, dialect: "shoal" }));
  const { client: _c, dialect: _d, ...shoal } = connected;
  assert.ok(isFetchWorkerEvent(shoal), "a Shoal link says neither");
  assert.ok(!isFetchWorkerEvent({ ...connected, dialect: "gopher" }));
  assert.ok(!isFetchWorkerEvent({ ...connected, client: 7 }));
  assert.ok(!isFetchWorkerEvent({ ...connected, client: "x".repeat(257) }));
  assert.ok(
    isFetchWorkerEvent({ type: "peer_client", connId: 1, client: "qB" }),
  );
  assert.ok(
    !isFetchWorkerEvent({ type: "peer_client", connId: -1, client: "" }),
  );
});
