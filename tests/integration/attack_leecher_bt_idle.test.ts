/**
 * A real leecher process against BitTorrent peers that do nothing: fakes
 * that shake hands in BitTorrent and then say have none and fall silent,
 * say have all and never unchoke, or unchoke and never send a block, and
 * listeners that never accept. The leecher must give up within its
 * --give-up-after, and with one honest BitTorrent seeder among them it must
 * still finish (the manifest from BEP 9 metadata). The fakes close a Shoal
 * handshake without a word, as BitTorrent clients do, so the leecher asks
 * each again in BitTorrent. Loopback only; each process waited on for a
 * bounded time.
 */
import assert from "node:assert/strict";
import * as h from "../_helpers/mod.ts";
import { type Crowd, leechAmongFakes } from "../_helpers/idle_crowd.ts";

const CHUNK = 512 * 1024;
/** Fakes of each silent kind. */
const EACH = 12;
const KINDS = ["empty", "choking", "no_blocks"] as const;

/**
 * The idle crowd: EACH fakes of every silent kind (`KINDS[i / EACH]` is the
 * kind of fake i), then EACH listening sockets nobody accepts from.
 */
function idleBtPeers(
  tracker: h.RunningTracker,
  data: Uint8Array,
  built: h.BuiltFile,
): Crowd<h.FakeBtSeeder> {
  return {
    subnet: 40,
    fakes: KINDS.flatMap((behaviour) =>
      Array.from(
        { length: EACH },
        () => (hostname: string) =>
          h.listedBtFake(tracker, data, built, { behaviour, hostname }),
      )
    ),
    listeners: EACH,
  };
}

Deno.test("a leecher among BitTorrent peers that have nothing, keep it choked or never send a block gives up within --give-up-after", async () => {
  await leechAmongFakes({
    name: "btidle.bin",
    data: new Uint8Array(4 * CHUNK).fill(5),
    crowd: idleBtPeers,
    // From a .torrent: the manifest is known, so every fake is met by the
    // fetch workers, and the ones with pieces are asked for them.
    query: h.writeTorrent,
    giveUpAfterSeconds: 5,
    timeoutMs: 25_000,
    code: 5,
    stderr: /btidle\.bin/,
    check: (fakes) => {
      for (const [k, kind] of KINDS.entries()) {
        const met = fakes.slice(k * EACH, (k + 1) * EACH).filter((f) =>
          f.btHandshakes > 0
        );
        assert.ok(met.length > 0, `no ${kind} peer was met in BitTorrent`);
      }
    },
  });
});

Deno.test("a leecher among idle BitTorrent peers finishes from the one honest BitTorrent seeder, from a bare id", async () => {
  // Two chunks: two idle peers met first hold both, each asked twice in
  // the endgame, so only the rule frees them.
  const data = new Uint8Array(2 * CHUNK).fill(3);
  data[0] = 1;
  await leechAmongFakes({
    name: "btmixed.bin",
    data,
    crowd: idleBtPeers,
    // It answers late, so the idle ones are met (and asked) first.
    peer: (tracker, data, built) =>
      h.listedBtFake(tracker, data, built, {
        behaviour: "honest",
        handshakeDelayMs: 1_000,
      }),
    // The manifest can only come from the honest one's BEP 9 metadata. The
    // give-up clock counts progress: before the rule, peers that unchoked
    // and never sent a block held their chunks for the 15 s stall timeout,
    // past the endgame, and this download gave up.
    giveUpAfterSeconds: 11,
    timeoutMs: 45_000,
    code: 0,
    check: (_, honest) => assert.ok(honest!.metadataRequests >= 1),
  });
});

Deno.test("a leecher whose only BitTorrent seeder stops sending blocks (and keeps chattering) gives up within --give-up-after", async () => {
  await leechAmongFakes({
    name: "btstops.bin",
    data: new Uint8Array(8 * CHUNK).fill(4),
    peer: (tracker, data, built) =>
      h.listedBtFake(tracker, data, built, {
        behaviour: "stops",
        // Two whole pieces (32 blocks each), then nothing.
        stopAfterBlocks: 64,
      }),
    query: h.writeTorrent,
    // Its keep-alives and HAVEs are bytes, not progress: they must not keep
    // the download (nor the connection) waiting.
    giveUpAfterSeconds: 5,
    timeoutMs: 20_000,
    code: 5,
    check: (_, fake) => assert.equal(fake?.blocksSent, 64),
  });
});
