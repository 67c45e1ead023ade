import assert from "node:assert/strict";
import {
  isLoopbackRemote,
  MAX_PEX_PER_INTERVAL,
  PEX_INTERVAL_MS,
  pexAddressProblem,
  pexCandidates,
  PexInbox,
  PexOutbox,
} from "../../../peer/discovery/pex_policy.ts";
import { ConnectedPeers } from "../../../peer/discovery/connected_peers.ts";

Deno.test("pexAddressProblem() refuses addresses that are no host's, port 0 and link-local", () => {
  for (
    const host of [
      "0.0.0.0",
      "0.1.2.3",
      "224.0.0.1",
      "239.255.255.250",
      "240.0.0.1",
      "255.255.255.255",
      "::",
      "ff02::1",
      "::ffff:224.0.0.1",
    ]
  ) {
    assert.equal(
      pexAddressProblem({ host, port: 6881 }, true),
      "not a host address",
      host,
    );
  }
  assert.equal(
    pexAddressProblem({ host: "fe80::1", port: 6881 }, true),
    "link-local",
  );
  assert.equal(
    pexAddressProblem({ host: "10.0.0.1", port: 0 }, true),
    "bad port",
  );
  assert.equal(
    pexAddressProblem({ host: "example.com", port: 80 }, true),
    "not an IP address",
  );
  assert.equal(
    pexAddressProblem({ host: "10.0.0.1", port: 6881 }, false),
    null,
  );
  assert.equal(
    pexAddressProblem({ host: "2001:db8::1", port: 1 }, false),
    null,
  );
});

Deno.test("pexAddressProblem() takes loopback only from a peer on loopback", () => {
  for (const host of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(pexAddressProblem({ host, port: 7000 }, false), "loopback");
    assert.equal(pexAddressProblem({ host, port: 7000 }, true), null);
  }
});

Deno.test("pexCandidates() keeps each good address once, at most 50", () => {
  const flood = Array.from({ length: 120 }, (_, i) => ({
    host: `10.0.${i >> 8}.${i & 0xff}`,
    port: 6881,
  }));
  const picked = pexCandidates(
    [
      { host: "0.0.0.0", port: 1 },
      { host: "127.0.0.1", port: 7000 },
      { host: "10.9.9.9", port: 5 },
      { host: "10.9.9.9", port: 5 },
      ...flood,
    ],
    false,
  );
  assert.equal(picked.length, 50);
  assert.deepStrictEqual(picked[0], { host: "10.9.9.9", port: 5 });
  assert.equal(new Set(picked.map((p) => `${p.host}:${p.port}`)).size, 50);
});

Deno.test("isLoopbackRemote() reads loopback as Deno reports it", () => {
  assert.ok(isLoopbackRemote("127.0.0.1"));
  assert.ok(isLoopbackRemote("::1"));
  assert.ok(isLoopbackRemote("::ffff:127.0.0.1"));
  assert.ok(!isLoopbackRemote("10.0.0.1"));
  assert.ok(!isLoopbackRemote("::ffff:10.0.0.1"));
});

Deno.test("PexInbox drops a connection at its sixth PEX message in a minute", () => {
  const inbox = new PexInbox();
  for (let i = 0; i < MAX_PEX_PER_INTERVAL; i++) {
    assert.ok(inbox.accept(i * 1000));
  }
  assert.ok(!inbox.accept(10_000));
  // A minute after the first ones, there is room again.
  const patient = new PexInbox();
  for (let i = 0; i < 20; i++) {
    assert.ok(patient.accept(i * PEX_INTERVAL_MS));
  }
});

Deno.test("PexOutbox sends each peer once, the dropped ones once, never the receiver, 50 at most", () => {
  const outbox = new PexOutbox("127.0.0.1:7000");
  const a = { host: "127.0.0.1", port: 7001 };
  const b = { host: "127.0.0.1", port: 7002 };
  const self = { host: "127.0.0.1", port: 7000 };
  assert.deepStrictEqual(outbox.next([a, self]), { added: [a], dropped: [] });
  assert.equal(outbox.next([a, self]), null);
  assert.deepStrictEqual(outbox.next([b]), { added: [b], dropped: [a] });
  const many = Array.from({ length: 70 }, (_, i) => ({
    host: "10.0.0.1",
    port: 1000 + i,
  }));
  const first = outbox.next(many)!;
  assert.equal(first.added.length, 50);
  assert.deepStrictEqual(first.dropped, [b]);
  assert.equal(outbox.next(many)!.added.length, 20);
  assert.equal(outbox.next(many), null);
});

Deno.test("ConnectedPeers lists each connected peer once and forgets closed connections", () => {
  const peers = new ConnectedPeers();
  const a = { host: "127.0.0.1", port: 7001 };
  const removeIn = peers.add("f", a);
  const removeOut = peers.add("f", a);
  const removeOther = peers.add("g", { host: "127.0.0.1", port: 7002 });
  assert.deepStrictEqual(peers.list("f"), [a]);
  removeIn();
  assert.deepStrictEqual(peers.list("f"), [a]);
  removeOut();
  removeOut();
  assert.deepStrictEqual(peers.list("f"), []);
  removeOther();
  const learned: unknown[] = [];
  const stop = peers.onLearned("f", (found) => learned.push(...found));
  peers.learned("f", [a]);
  peers.learned("g", [a]);
  stop();
  peers.learned("f", [a]);
  assert.deepStrictEqual(learned, [a]);
});
