/**
 * Attacks on what the real tracker process keeps and what it costs
 * (`tracker/main.ts`, network permission only): one address trying to fill
 * the tracker, searches that scan every file, and a stranger claiming a real
 * file's id under another name. Honest seeders and leechers on other
 * loopback addresses must be served all along. Loopback only; every loop is
 * bounded in count and time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createMessage,
  ErrorCode,
  type FileAnnouncement,
  type Message,
  parseMessage,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import { assertDownloads } from "../_helpers/swarm.ts";
import {
  askTracker,
  cookieFor,
  withTrackerProcess,
} from "../_helpers/tracker_attack.ts";
import { Rng } from "../../bench/_protocol_inputs.ts";

/** Asks by name until the tracker knows it: a seeder has registered. */
function waitForName(
  tracker: h.TrackerProcess,
  name: string,
): Promise<Message> {
  return h.waitUntil(
    `the tracker to list ${name}`,
    async () => {
      await using probe = new h.UdpProbe("127.0.0.1", tracker);
      const cookie = await cookieFor(probe);
      const reply = await askTracker(probe, {
        kind: "request",
        txid: 2,
        cookie,
        wanted: 10,
        query: { name },
      });
      return reply.kind === "peer_list" ? reply : null;
    },
    10_000,
    200,
  );
}

/** Files with random ids and short names: 26 fit one REGISTER. */
function spamFiles(rng: Rng, count: number): FileAnnouncement[] {
  return Array.from({ length: count }, () => ({
    id: rng.bytes(32),
    name: `s${rng.int(1e6)}`,
    size: 1_000,
    chunkCount: 1,
    complete: true,
  }));
}

Deno.test("one address cannot fill the tracker: an honest seeder still registers and --get works", async () => {
  // A table of 2,000 files: one address may hold 1 % of it, 20 files.
  await withTrackerProcess(["--max-files", "2000"], async (tracker) => {
    await using dir = await h.tempDir();
    await using attacker = new h.UdpProbe("127.0.0.50", tracker);
    const cookie = await cookieFor(attacker);
    const rng = new Rng(50);
    // 64 peers (the per-address peer cap), each registering 26 new files
    // twice and then one more: 3,392 files offered, within the rate limit.
    let offered = 0;
    const sizes = new Map<number, number>();
    let txid = 10;
    for (let port = 1; port <= 64; port++) {
      const peerId = rng.bytes(16);
      for (const count of [26, 26, 1]) {
        const files = spamFiles(rng, count);
        sizes.set(txid, count);
        offered += count;
        await attacker.send(createMessage({
          kind: "register",
          txid: txid++,
          cookie,
          peerId,
          port,
          files,
        }));
      }
      if (port % 8 === 0) await h.sleep(5);
    }
    let accepted = 0;
    let busy = 0;
    for (const reply of await attacker.drain(1_500)) {
      const message = parseMessage(reply.bytes);
      if (message.kind === "ack") accepted += sizes.get(message.txid) ?? 0;
      else if (message.kind === "error" && message.code === ErrorCode.BUSY) {
        busy++;
      }
    }
    assert.ok(offered > 2_000);
    assert.ok(accepted <= 20, `one address registered ${accepted} files`);
    // Most of the 192 datagrams are refused (a loaded machine may drop a
    // few answers, so not all are counted).
    assert.ok(busy >= 100, `only ${busy} BUSY answers`);

    // An honest seeder on another address registers and is downloaded.
    const source = join(dir.path, "honest.bin");
    await h.makeFile(source, 300_000, 5);
    const seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
    try {
      await waitForName(tracker, "honest.bin");
      await assertDownloads(tracker, source, join(dir.path, "o"));
    } finally {
      await seeder.stop();
    }
  });
});

Deno.test("searches that scan every file do not make the tracker drop honest CONNECTs", async () => {
  await withTrackerProcess([], async (tracker) => {
    // 100,000 files from 100 addresses, each within its share (1,000).
    const rng = new Rng(60);
    let registered = 0;
    for (let group = 0; group < 10; group++) {
      const probes = Array.from(
        { length: 10 },
        (_, i) => new h.UdpProbe(`127.0.1.${group * 10 + i + 1}`, tracker),
      );
      try {
        const cookies = await Promise.all(probes.map(cookieFor));
        for (let batch = 0; batch < 40; batch++) {
          // Each address registers 25 files and waits for the answer.
          await Promise.all(probes.map(async (probe, i) => {
            const reply = await askTracker(probe, {
              kind: "register",
              txid: batch,
              cookie: cookies[i]!,
              peerId: rng.bytes(16),
              port: 1_000 + batch,
              files: spamFiles(rng, 25),
            });
            if (reply.kind === "ack") registered += 25;
          }));
        }
      } finally {
        await Promise.all(probes.map((probe) => probe.close()));
      }
    }
    assert.ok(registered >= 95_000, `only ${registered} files registered`);

    // Four addresses search for names nothing matches, each under the
    // datagram rate limit (150 a second), for two seconds; an honest host
    // sends a CONNECT every 20 ms meanwhile.
    const attackers = Array.from(
      { length: 4 },
      (_, i) => new h.UdpProbe(`127.0.2.${i + 1}`, tracker),
    );
    await using honest = new h.UdpProbe("127.0.0.1", tracker);
    let sentConnects = 0;
    let sentLists = 0;
    let listAnswers = 0;
    try {
      const cookies = await Promise.all(attackers.map(cookieFor));
      const connect = createMessage({ kind: "connect", txid: 7 });
      const start = performance.now();
      for (let tick = 0; tick < 100; tick++) {
        for (const [i, attacker] of attackers.entries()) {
          for (let k = 0; k < 3; k++) {
            await attacker.send(createMessage({
              kind: "list",
              txid: tick,
              cookie: cookies[i]!,
              offset: 0,
              query: `nothing-${tick}-${k}`,
            }));
            sentLists++;
          }
        }
        await honest.send(connect);
        sentConnects++;
        await h.sleep(Math.max(0, start + (tick + 1) * 20 - performance.now()));
      }
      await h.sleep(1_000);
      for (const attacker of attackers) {
        for (const reply of attacker.take()) {
          if (parseMessage(reply.bytes).kind === "file_list") listAnswers++;
        }
      }
    } finally {
      await Promise.all(attackers.map((attacker) => attacker.close()));
    }
    const cookies = honest.take().filter((reply) =>
      parseMessage(reply.bytes).kind === "cookie"
    );
    // Before the work was charged, 98 of 100 were lost. A machine busy with
    // other tests (the whole suite runs in parallel on two cores) still drops
    // some datagrams from the socket's buffer, whatever the tracker does, so
    // the bar is one in two.
    assert.ok(
      cookies.length >= sentConnects * 0.5,
      `${
        sentConnects - cookies.length
      } of ${sentConnects} honest CONNECTs lost`,
    );
    // A scan of 100,000 files costs a whole burst: about one scan per
    // address a second or two, not the 150 a second sent.
    assert.ok(
      listAnswers <= 4 * 6,
      `${listAnswers} of ${sentLists} full scans answered`,
    );
    assert.ok(listAnswers >= 4, "no search was answered at all");
  });
});

Deno.test("a stranger claiming a real file's id under another name does not stop --get of its real name", async () => {
  await withTrackerProcess([], async (tracker) => {
    await using dir = await h.tempDir();
    const source = join(dir.path, "real.bin");
    await h.makeFile(source, 300_000, 6);
    // Learn the file's id from a first run of the seeder, which then leaves.
    let seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
    const idHex = (await seeder.waitFor(/id ([0-9a-f]{64})/))[1]!;
    const first = await waitForName(tracker, "real.bin");
    assert.equal(first.kind === "peer_list" && first.size, 300_000);
    assert.equal(await seeder.stop(), 0);
    const id = Uint8Array.from(
      idHex.match(/../g)!.map((byte) => parseInt(byte, 16)),
    );

    // The stranger registers that id first, under a name and size of its own.
    await using stranger = new h.UdpProbe("127.0.0.66", tracker);
    const cookie = await cookieFor(stranger);
    const ack = await askTracker(stranger, {
      kind: "register",
      txid: 2,
      cookie,
      peerId: new Uint8Array(16).fill(66),
      port: 6_666,
      files: [{
        id,
        name: "real.bin.exe",
        size: 2 ** 50,
        chunkCount: 262_144,
        complete: true,
      }],
    });
    assert.equal(ack.kind, "ack");

    // The honest seeder comes back: its name finds the file, with its size.
    seeder = await h.startSeeder(tracker, [source], join(dir.path, "s"));
    try {
      const list = await waitForName(tracker, "real.bin");
      assert.equal(list.kind, "peer_list");
      if (list.kind === "peer_list") {
        assert.equal(list.name, "real.bin");
        assert.equal(list.size, 300_000);
      }
      await assertDownloads(tracker, source, join(dir.path, "o"));
    } finally {
      await seeder.stop();
    }
  });
});
