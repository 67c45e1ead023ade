/**
 * The tracker's statistics: counters by type, registry totals, the bounded
 * top-files list, the Prometheus text and the summary line. No sockets.
 */
import assert from "node:assert/strict";
import { createMessage } from "@shoal/protocol";
import { SwarmRegistry } from "../../../tracker/registry/mod.ts";
import {
  prometheusText,
  STATS_TOP_FILES,
  summaryLine,
  trackerStats,
} from "../../../tracker/stats.ts";
import { statsResponse } from "../../../tracker/stats_server.ts";
import { SHOAL_VERSION } from "../../../version.ts";
import { FakeTracker, file, whoFrom } from "./_fake.ts";

Deno.test("trackerStats() counts requests by type and drops by reason", () => {
  const tracker = new FakeTracker();
  const a = tracker.peer("10.0.0.1");
  const b = tracker.peer("2001:db8::1", 40_001, 7001);
  const shared = file("shared.bin");
  a.register([shared]);
  b.register([{ ...shared, complete: false }]);
  a.keepalive();
  // Malformed, a bad cookie and a kind the tracker does not serve.
  tracker.raw(new Uint8Array([1, 2, 3]), { hostname: "10.0.0.9", port: 1 });
  tracker.send({
    kind: "keepalive",
    cookie: 123n,
    peerId: new Uint8Array(16),
    port: 1,
  }, { hostname: "10.0.0.9", port: 1 });
  tracker.raw(createMessage({ kind: "choke", txid: 1 }), {
    hostname: "10.0.0.9",
    port: 1,
  });

  const stats = trackerStats(tracker.handler, {
    startedMs: tracker.nowMs - 61_500,
    nowMs: tracker.nowMs,
  });
  assert.equal(stats.version, SHOAL_VERSION);
  assert.equal(stats.uptimeSeconds, 61);
  assert.equal(stats.files, 1);
  assert.equal(stats.peers, 2);
  assert.deepEqual(stats.peersByFamily, { ipv4: 1, ipv6: 1 });
  assert.equal(stats.seeders, 1);
  assert.equal(stats.leechers, 1);
  assert.equal(stats.requests.connect, 2);
  assert.equal(stats.requests.register, 2);
  assert.equal(stats.requests.keepalive, 2);
  assert.equal(stats.requests.other, 1);
  assert.deepEqual(stats.drops, {
    malformed: 1,
    rate_limited: 0,
    ignored: 1,
    bad_cookie: 1,
  });
  assert.equal(stats.datagrams, 8);
  assert.deepEqual(stats.topFiles, [{
    id: stats.topFiles[0]!.id,
    name: "shared.bin",
    size: shared.size,
    peers: 2,
    seeders: 1,
    leechers: 1,
  }]);
});

Deno.test("SwarmRegistry.totals follow leaves, expiry and a leecher turning seeder", () => {
  const registry = new SwarmRegistry({ peerTtlMs: 1_000 });
  const f = file("f.bin");
  registry.register(whoFrom("10.0.0.1"), [{ ...f, complete: false }], 0);
  registry.register(whoFrom("::1", 7001), [f], 0);
  assert.deepEqual(registry.totals, {
    seeders: 1,
    leechers: 1,
    ipv4Peers: 1,
    ipv6Peers: 1,
    bittorrentPeers: 0,
  });
  registry.becomeSeeder(whoFrom("10.0.0.1"), f, 10);
  assert.deepEqual(registry.totals, {
    seeders: 2,
    leechers: 0,
    ipv4Peers: 1,
    ipv6Peers: 1,
    bittorrentPeers: 0,
  });
  registry.leave(whoFrom("::1", 7001));
  assert.deepEqual(registry.totals, {
    seeders: 1,
    leechers: 0,
    ipv4Peers: 1,
    ipv6Peers: 0,
    bittorrentPeers: 0,
  });
  registry.sweep(5_000);
  assert.deepEqual(registry.totals, {
    seeders: 0,
    leechers: 0,
    ipv4Peers: 0,
    ipv6Peers: 0,
    bittorrentPeers: 0,
  });
});

Deno.test("SwarmRegistry.topFiles() keeps the files with most peers, most first, bounded", () => {
  const registry = new SwarmRegistry({
    limits: { maxPeersPerIp: 1_000, maxHoldingsPerIp: 10_000 },
  });
  const files = Array.from({ length: 300 }, (_, i) => file(`f${i}`));
  // File i is held by (i % 7) + 1 peers.
  files.forEach((f, i) => {
    for (let p = 0; p <= i % 7; p++) {
      registry.register(whoFrom("10.0.0.1", 1000 + p), [f], 0);
    }
  });
  const top = registry.topFiles(STATS_TOP_FILES);
  assert.equal(top.length, STATS_TOP_FILES);
  for (let i = 1; i < top.length; i++) {
    assert.ok(top[i - 1]!.peers >= top[i]!.peers);
  }
  // 300 files: 42 or 43 with each count from 1 to 7, so the top 100 are
  // the 7-, 6- and part of the 5-peer files.
  assert.equal(top[0]!.peers, 7);
  assert.equal(top.at(-1)!.peers, 5);
  assert.deepEqual(registry.topFiles(0), []);
  assert.equal(registry.topFiles(1_000).length, 300);
});

Deno.test("SwarmRegistry.pickPeers() lists the requester's address family first", () => {
  const registry = new SwarmRegistry({ random: () => 0.5 });
  const f = file("f.bin");
  registry.register(whoFrom("10.0.0.1", 7000), [f], 0);
  registry.register(whoFrom("10.0.0.2", 7000), [f], 0);
  registry.register(whoFrom("2001:db8::1", 7000), [f], 0);
  registry.register(whoFrom("2001:db8::2", 7000), [f], 0);
  const record = registry.fileById(f.id)!;
  const v6 = registry.pickPeers(record, 10, "2001:db8::9|1", 0).map((p) =>
    p.host
  );
  assert.deepEqual(v6.slice(0, 2).sort(), ["2001:db8::1", "2001:db8::2"]);
  assert.deepEqual(v6.slice(2).sort(), ["10.0.0.1", "10.0.0.2"]);
  const v4 = registry.pickPeers(record, 3, "10.0.0.9|1", 0).map((p) => p.host);
  assert.deepEqual(v4.slice(0, 2).sort(), ["10.0.0.1", "10.0.0.2"]);
  assert.equal(v4.length, 3);
  assert.ok(v4[2]!.includes(":"));
});

Deno.test("prometheusText() has gauges and counters with HELP and TYPE lines", () => {
  const tracker = new FakeTracker();
  tracker.peer("10.0.0.1").register([file("a.bin"), file("b.bin")]);
  tracker.raw(new Uint8Array(4), { hostname: "10.0.0.2", port: 1 });
  const text = prometheusText(
    trackerStats(tracker.handler, { startedMs: 0, nowMs: 0 }),
  );
  assert.ok(text.endsWith("\n"));
  for (
    const line of [
      "# TYPE shoal_tracker_files gauge",
      "shoal_tracker_files 2",
      "# TYPE shoal_tracker_peers gauge",
      "shoal_tracker_peers 1",
      'shoal_tracker_peers_by_family{family="ipv4"} 1',
      'shoal_tracker_holdings{state="seeder"} 2',
      "# TYPE shoal_tracker_requests_total counter",
      'shoal_tracker_requests_total{type="register"} 1',
      'shoal_tracker_requests_total{type="connect"} 1',
      "# TYPE shoal_tracker_drops_total counter",
      'shoal_tracker_drops_total{reason="malformed"} 1',
      `shoal_tracker_info{version="${SHOAL_VERSION}"} 1`,
    ]
  ) {
    assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
  }
  // Every sample line is "name{labels} number" and every metric has a TYPE.
  const types = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const typed = line.match(/^# TYPE (\w+) (gauge|counter)$/);
    if (typed) types.add(typed[1]!);
    if (line.startsWith("#")) continue;
    const sample = line.match(/^(\w+)(\{[^}]*\})? (\d+)$/);
    assert.ok(sample, `bad sample line: ${line}`);
    assert.ok(types.has(sample[1]!), `no TYPE for ${sample[1]}`);
  }
});

Deno.test("summaryLine() says files, peers, requests, drops and uptime in one line", () => {
  const tracker = new FakeTracker();
  tracker.peer("10.0.0.1").register([file("a.bin")]);
  const line = summaryLine(
    trackerStats(tracker.handler, { startedMs: 0, nowMs: 5_000 }),
  );
  assert.equal(
    line,
    "1 file, 1 peer (1 IPv4, 0 IPv6; 0 BitTorrent), 1 seeding, 0 leeching; 2 requests (0 BitTorrent), 0 dropped; up 5 s",
  );
});

Deno.test("statsResponse() serves /stats and /metrics, 404 and 405 otherwise", async () => {
  const tracker = new FakeTracker();
  const snapshot = () =>
    trackerStats(tracker.handler, { startedMs: 0, nowMs: 0 });
  const stats = statsResponse(new Request("http://x/stats"), snapshot);
  assert.equal(stats.status, 200);
  assert.match(stats.headers.get("content-type")!, /^application\/json/);
  assert.equal((await stats.json()).files, 0);
  const metrics = statsResponse(new Request("http://x/metrics"), snapshot);
  assert.match(
    metrics.headers.get("content-type")!,
    /^text\/plain; version=0\.0\.4/,
  );
  assert.match(await metrics.text(), /shoal_tracker_files 0/);
  const missing = statsResponse(new Request("http://x/"), snapshot);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = statsResponse(
    new Request("http://x/stats", { method: "POST" }),
    snapshot,
  );
  assert.equal(post.status, 405);
  await post.body?.cancel();
});
