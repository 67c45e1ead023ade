import assert from "node:assert/strict";
import {
  dhtAddressProblem,
  isLoopbackOnly,
} from "../../../peer/dht/address_policy.ts";
import { parseDhtState } from "../../../peer/dht/routing_file.ts";
import {
  isDhtWorkerCommand,
  isDhtWorkerEvent,
} from "@shoal/protocol/dht_worker_messages";

Deno.test("dhtAddressProblem() refuses what is not a host's address, and loopback unless in loopback mode", () => {
  const ok = (host: string, port = 6881) =>
    dhtAddressProblem({ host, port }, false) === null;
  assert.ok(ok("1.2.3.4"));
  assert.ok(ok("192.168.1.9"));
  for (
    const bad of [
      "0.0.0.0",
      "0.1.2.3",
      "224.0.0.1",
      "239.1.1.1",
      "240.0.0.1",
      "255.255.255.255",
      "127.0.0.1",
      "127.9.9.9",
      "::1",
      "example.com",
      "1.2.3.256",
      "1.2.3",
    ]
  ) {
    assert.ok(!ok(bad), bad);
  }
  assert.ok(!ok("1.2.3.4", 0));
  assert.ok(!ok("1.2.3.4", 65_536));
  assert.ok(!ok("1.2.3.4", 1.5));
  // Loopback mode: loopback only, whatever a node says.
  assert.equal(dhtAddressProblem({ host: "127.0.0.1", port: 7 }, true), null);
  assert.notEqual(dhtAddressProblem({ host: "1.2.3.4", port: 7 }, true), null);
});

Deno.test("isLoopbackOnly() needs every bootstrap node on loopback", () => {
  assert.ok(
    isLoopbackOnly([{ host: "127.0.0.1", port: 1 }, {
      host: "localhost",
      port: 2,
    }]),
  );
  assert.ok(
    !isLoopbackOnly([{ host: "127.0.0.1", port: 1 }, {
      host: "router.bittorrent.com",
      port: 6881,
    }]),
  );
  assert.ok(!isLoopbackOnly([]));
});

Deno.test("parseDhtState() reuses a saved table only with the same bootstrap list, and checks every node", () => {
  const bootstrap = [{ host: "127.0.0.1", port: 9 }];
  const text = JSON.stringify({
    version: 1,
    bootstrap: ["127.0.0.1:9"],
    nodeId: "ab".repeat(20),
    nodes: [
      { host: "127.0.0.1", port: 10 },
      { host: "8.8.8.8", port: 53 },
      { host: "127.0.0.1", port: 0 },
      "junk",
      null,
    ],
  });
  assert.deepEqual(parseDhtState(text, bootstrap, true), {
    nodeId: "ab".repeat(20),
    nodes: [{ host: "127.0.0.1", port: 10 }],
  });
  // Made with other bootstrap nodes (a public run): not used on loopback.
  assert.equal(
    parseDhtState(text, [{ host: "127.0.0.1", port: 8 }], true),
    null,
  );
  for (
    const bad of [
      "",
      "null",
      "[]",
      "{",
      '{"version":2}',
      JSON.stringify({
        version: 1,
        bootstrap: ["127.0.0.1:9"],
        nodeId: "xyz",
        nodes: [],
      }),
    ]
  ) {
    assert.equal(parseDhtState(bad, bootstrap, true), null, bad);
  }
  const many = JSON.stringify({
    version: 1,
    bootstrap: ["127.0.0.1:9"],
    nodeId: "cd".repeat(20),
    nodes: Array.from(
      { length: 5_000 },
      (_, i) => ({ host: "127.0.0.1", port: 1 + i }),
    ),
  });
  assert.equal(parseDhtState(many, bootstrap, true)!.nodes.length, 300);
});

Deno.test("the DHT worker's message guards refuse malformed and oversized messages", () => {
  assert.ok(
    isDhtWorkerCommand({
      type: "lookup",
      requestId: 1,
      infoHash: "a".repeat(40),
    }),
  );
  assert.ok(
    !isDhtWorkerCommand({
      type: "lookup",
      requestId: 1,
      infoHash: "A".repeat(40),
    }),
  );
  assert.ok(
    !isDhtWorkerCommand({
      type: "announce",
      requestId: 1,
      infoHash: "a".repeat(40),
      port: 70_000,
    }),
  );
  assert.ok(
    !isDhtWorkerCommand({
      type: "start",
      port: 0,
      bindHost: "0.0.0.0",
      bootstrap: "x",
      nodeId: null,
      loopbackOnly: true,
    }),
  );
  assert.ok(!isDhtWorkerCommand(null));
  assert.ok(
    isDhtWorkerEvent({
      type: "peers",
      requestId: 1,
      peers: [{ host: "1.2.3.4", port: 1 }],
    }),
  );
  assert.ok(
    !isDhtWorkerEvent({
      type: "peers",
      requestId: 1,
      peers: [{ host: "", port: 1 }],
    }),
  );
  assert.ok(
    !isDhtWorkerEvent({
      type: "peers",
      requestId: 1,
      peers: Array.from(
        { length: 1_001 },
        () => ({ host: "1.2.3.4", port: 1 }),
      ),
    }),
  );
  assert.ok(!isDhtWorkerEvent({ type: "done", requestId: -1, error: null }));
  assert.ok(!isDhtWorkerEvent({ type: "surprise" }));
});
