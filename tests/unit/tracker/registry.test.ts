import assert from "node:assert/strict";
import { toHex } from "@shoal/protocol";
import { SwarmRegistry } from "../../../tracker/registry/mod.ts";
import { file, whoFrom } from "./_fake.ts";

Deno.test("SwarmRegistry keeps holders consistent through many joins and leaves", () => {
  const registry = new SwarmRegistry({ limits: { maxPeersPerIp: 1_000 } });
  const files = Array.from({ length: 5 }, (_, i) => file(`f${i}`));
  const alive = new Set<number>();
  let seed = 1;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  for (let step = 0; step < 2_000; step++) {
    const port = 1 + Math.floor(random() * 50);
    if (alive.has(port) && random() < 0.5) {
      assert.ok(registry.leave(whoFrom("10.0.0.1", port)));
      alive.delete(port);
    } else {
      const held = files.filter(() => random() < 0.5);
      assert.equal(registry.register(whoFrom("10.0.0.1", port), held, 0), "ok");
      alive.add(port);
    }
  }
  let holdings = 0;
  for (const f of files) {
    const record = registry.fileById(f.id);
    if (!record) continue;
    record.holders.forEach((holding, index) => {
      assert.equal(holding.index, index);
      assert.equal(holding.file, record);
    });
    assert.equal(
      record.seeders,
      record.holders.filter((holding) => holding.complete).length,
    );
    holdings += record.holders.length;
    // pickPeers shuffles in place and must keep the indexes right.
    registry.pickPeers(record, 10, "none", 0);
    record.holders.forEach((holding, index) =>
      assert.equal(holding.index, index)
    );
  }
  assert.equal(registry.stats.holdings, holdings);
  assert.equal(registry.stats.peers, alive.size);
});

Deno.test("SwarmRegistry.pickPeers() skips the requester and expired peers", () => {
  const registry = new SwarmRegistry({ peerTtlMs: 10_000 });
  const shared = file("s");
  registry.register(whoFrom("10.0.0.1"), [shared], 0);
  registry.register(whoFrom("10.0.0.2"), [shared], 5_000);
  const record = registry.fileById(shared.id)!;
  assert.deepEqual(
    registry.pickPeers(record, 50, "10.0.0.1|40000", 6_000).map((p) => p.host),
    ["10.0.0.2"],
  );
  assert.deepEqual(
    registry.pickPeers(record, 50, "nobody", 12_000).map((p) => p.host),
    ["10.0.0.2"],
  );
});

Deno.test("SwarmRegistry.sweep() removes silent peers and empty files", () => {
  const registry = new SwarmRegistry({ peerTtlMs: 10_000 });
  const a = file("a");
  registry.register(whoFrom("10.0.0.1"), [a], 0);
  registry.register(whoFrom("10.0.0.2"), [file("b")], 8_000);
  assert.equal(registry.sweep(10_000), 0);
  assert.equal(registry.sweep(10_001), 1);
  assert.equal(registry.fileById(a.id), undefined);
  assert.deepEqual(registry.stats, { peers: 1, files: 1, holdings: 1 });
  assert.equal(registry.list("", 0).total, 1);
});

Deno.test("SwarmRegistry respects the total holdings cap", () => {
  const registry = new SwarmRegistry({ limits: { maxHoldings: 3 } });
  assert.equal(
    registry.register(whoFrom("10.0.0.1"), [file("a"), file("b")], 0),
    "ok",
  );
  assert.equal(
    registry.register(whoFrom("10.0.0.2"), [file("c"), file("d")], 0),
    "busy",
  );
  assert.equal(registry.stats.peers, 1);
  assert.equal(registry.register(whoFrom("10.0.0.2"), [file("c")], 0), "ok");
});

Deno.test("SwarmRegistry.register() counts a file listed twice in one call once", () => {
  const registry = new SwarmRegistry({ limits: { maxFilesPerPeer: 1 } });
  const a = file("a", { complete: false });
  assert.equal(
    registry.register(whoFrom("10.0.0.1"), [a, { ...a, complete: true }], 0),
    "ok",
  );
  const record = registry.fileById(a.id)!;
  assert.equal(record.seeders, 1);
  assert.equal(toHex(record.id), toHex(a.id));
});

Deno.test("SwarmRegistry.pickPeers() draws distinct live holders from a very large swarm", () => {
  const registry = new SwarmRegistry({
    peerTtlMs: 10_000,
    limits: { maxPeersPerIp: 10_000, maxHoldingsPerIp: 10_000 },
  });
  const big = file("big");
  for (let port = 1; port <= 5_000; port++) {
    // Every other peer is silent by the time of the pick.
    registry.register(
      whoFrom("10.0.0.1", port),
      [big],
      port % 2 === 0 ? 5_000 : 0,
    );
  }
  const record = registry.fileById(big.id)!;
  assert.equal(record.holderCount, 5_000);
  for (let round = 0; round < 3; round++) {
    const peers = registry.pickPeers(record, 100, "nobody", 12_000);
    assert.equal(peers.length, 100);
    assert.equal(new Set(peers.map((peer) => peer.port)).size, 100);
    assert.ok(peers.every((peer) => peer.port % 2 === 0));
  }
});

Deno.test("SwarmRegistry matches a simple model through random joins, leaves, keepalives, expiry and sweeps", () => {
  const ttlMs = 1_000;
  const registry = new SwarmRegistry({
    peerTtlMs: ttlMs,
    limits: { maxPeersPerIp: 1_000, maxFilesPerPeer: 40 },
  });
  // 40 files per peer at most, so some peers get the per-peer file index.
  const files = Array.from({ length: 40 }, (_, i) => file(`f${i}`));
  const hosts = ["10.0.0.1", "10.0.0.2", "2001:db8::1"];
  /** host|port -> last seen and the files held (index -> complete). */
  const model = new Map<string, { seen: number; held: Map<number, boolean> }>();
  let seed = 7;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  let now = 0;
  for (let step = 0; step < 6_000; step++) {
    now += Math.floor(random() * 40);
    const host = hosts[Math.floor(random() * hosts.length)]!;
    const port = 1 + Math.floor(random() * 60);
    const key = `${host}|${port}`;
    const peer = whoFrom(host, port, 40_000 + port);
    const live = model.get(key);
    const alive = live !== undefined && live.seen >= now - ttlMs;
    const roll = random();
    if (roll < 0.45) {
      const count = 1 + Math.floor(random() * (random() < 0.1 ? 30 : 3));
      const chosen = Array.from(
        { length: count },
        () => Math.floor(random() * files.length),
      );
      const announced = chosen.map((i) => ({
        ...files[i]!,
        complete: random() < 0.5,
      }));
      const held = alive ? live.held : new Map<number, boolean>();
      const next = new Map(held);
      chosen.forEach((i, k) => next.set(i, announced[k]!.complete));
      const result = registry.register(peer, announced, now);
      if (next.size > 40) {
        assert.equal(result, "busy");
        if (!alive) model.delete(key);
      } else {
        assert.equal(result, "ok");
        model.set(key, { seen: now, held: next });
      }
    } else if (roll < 0.75) {
      const result = registry.keepalive(peer, now);
      assert.equal(result, alive ? "ok" : "unknown_peer");
      if (alive) live.seen = now;
      else model.delete(key);
    } else if (roll < 0.85) {
      // LEAVE removes a record even when it has expired but is not swept yet.
      assert.equal(registry.leave(peer), live !== undefined);
      model.delete(key);
    } else if (roll < 0.92) {
      registry.sweep(now);
      for (const [k, record] of model) {
        if (record.seen < now - ttlMs) model.delete(k);
      }
    } else {
      const f = files[Math.floor(random() * files.length)]!;
      const record = registry.fileById(f.id);
      if (record) {
        const picked = registry.pickPeers(
          record,
          50,
          `${host}|${40_000 + port}`,
          now,
        );
        for (const listed of picked) {
          const entry = model.get(`${listed.host}|${listed.port}`);
          assert.ok(
            entry && entry.seen >= now - ttlMs,
            "lists only live peers",
          );
          assert.notEqual(`${listed.host}|${listed.port}`, key);
        }
      }
    }
  }
  registry.sweep(now);
  for (const [k, record] of model) {
    if (record.seen < now - ttlMs) model.delete(k);
  }
  assert.equal(registry.stats.peers, model.size);
  let holdings = 0;
  let seeders = 0;
  for (const record of model.values()) {
    holdings += record.held.size;
    for (const complete of record.held.values()) if (complete) seeders++;
  }
  assert.equal(registry.stats.holdings, holdings);
  assert.equal(registry.totals.seeders, seeders);
  for (const [i, f] of files.entries()) {
    const record = registry.fileById(f.id);
    const expected = [...model.values()].filter((r) => r.held.has(i)).length;
    assert.equal(record?.holderCount ?? 0, expected);
    record?.holders.forEach((holding, index) =>
      assert.equal(holding.index, index)
    );
  }
});
