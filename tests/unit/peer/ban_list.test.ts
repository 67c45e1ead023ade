import assert from "node:assert/strict";
import { BAN_MS, BanList } from "../../../peer/swarm/ban_list.ts";
import { PeerBook } from "../../../peer/download/peer_book.ts";

function clock() {
  const time = { now: 1_000 };
  return { time, now: () => time.now };
}

Deno.test("BanList refuses a banned address's incoming connections and its server's outgoing ones until the ban ends", () => {
  const { time, now } = clock();
  const bans = new BanList({ now });
  bans.ban("10.0.0.9", 6881);
  assert.ok(bans.refusesIncoming("10.0.0.9"));
  assert.ok(
    bans.refusesIncoming("::ffff:10.0.0.9"),
    "IPv4-mapped: one address",
  );
  assert.ok(bans.refusesOutgoing("10.0.0.9", 6881));
  // Another server at that address (a NAT, a loopback) is someone else.
  assert.ok(!bans.refusesOutgoing("10.0.0.9", 6882));
  assert.ok(!bans.refusesIncoming("10.0.0.10"));
  time.now += BAN_MS - 1;
  assert.ok(bans.refusesIncoming("10.0.0.9"));
  time.now += 1;
  assert.ok(!bans.refusesIncoming("10.0.0.9"));
  assert.ok(!bans.refusesOutgoing("10.0.0.9", 6881));
});

Deno.test("BanList bans an IPv6 peer's whole /64, and keeps at most maxBans, dropping the oldest", () => {
  const bans = new BanList({ maxBans: 2 });
  bans.ban("2001:db8:0:1::5", 7000);
  assert.ok(bans.refusesIncoming("2001:db8:0:1::abcd"));
  assert.ok(!bans.refusesIncoming("2001:db8:0:2::5"));
  bans.ban("10.0.0.1", 1);
  bans.ban("10.0.0.2", 2);
  assert.equal(bans.size, 2);
  assert.ok(!bans.refusesIncoming("2001:db8:0:1::5"));
  assert.ok(
    bans.refusesIncoming("10.0.0.1") && bans.refusesIncoming("10.0.0.2"),
  );
});

Deno.test("a peer one download bans goes on the process's list, and the next download's book starts with it banned", () => {
  const bans = new BanList();
  const first = new PeerBook(100, bans);
  first.add([{ host: "127.0.0.1", port: 7001 }, {
    host: "127.0.0.1",
    port: 7002,
  }]);
  first.ban("127.0.0.1:7001");
  assert.ok(bans.refusesIncoming("127.0.0.1"));
  const next = new PeerBook(100, bans);
  next.add([{ host: "127.0.0.1", port: 7001 }, {
    host: "127.0.0.1",
    port: 7002,
  }]);
  assert.equal(next.get("127.0.0.1:7001")?.banned, true);
  assert.equal(next.get("127.0.0.1:7002")?.banned, false);
  assert.deepEqual(next.order(0), ["127.0.0.1:7002"]);
});
