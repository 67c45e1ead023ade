import assert from "node:assert/strict";
import {
  firstUdpTracker,
  parsePeerFlags,
  trackerUrl,
  UsageError,
} from "../../../peer/cli_flags.ts";

const ID = "ab".repeat(32);
const MAGNET = `magnet:?xt=urn:btmh:1220${ID}&dn=a.bin`;

Deno.test("parsePeerFlags() tells a magnet link, a .torrent path, an id and a name apart in --get", () => {
  const get = (value: string) =>
    parsePeerFlags(["--get", value], "/home/me").get;
  assert.deepEqual(get(MAGNET), { kind: "magnet", link: MAGNET });
  assert.deepEqual(get(` ${MAGNET}\n`), { kind: "magnet", link: MAGNET });
  assert.deepEqual(get("dl/a.iso.torrent"), {
    kind: "torrent",
    path: "/home/me/dl/a.iso.torrent",
  });
  assert.deepEqual(get("/t/A.TORRENT"), {
    kind: "torrent",
    path: "/t/A.TORRENT",
  });
  const byId = get(ID);
  assert.equal(byId?.kind, "query");
  assert.ok(byId?.kind === "query" && "id" in byId.query);
  assert.deepEqual(get("a.iso"), { kind: "query", query: { name: "a.iso" } });
});

Deno.test("parsePeerFlags() knows whether --tracker was given, so a link's tracker can be used", () => {
  const without = parsePeerFlags(["--get", MAGNET], "/w");
  assert.equal(without.trackerGiven, false);
  assert.equal(
    `${without.trackerHost}:${without.trackerPort}`,
    "127.0.0.1:6969",
  );
  const given = parsePeerFlags(["--get", MAGNET, "--tracker", "h:1"], "/w");
  assert.equal(given.trackerGiven, true);
  assert.equal(given.trackerHost, "h");
});

Deno.test("parsePeerFlags() writes --make-torrent's .torrent beside the user, unless --torrent-out says where", () => {
  const made = parsePeerFlags(["--make-torrent", "data/a.iso"], "/home/me");
  assert.equal(made.makeTorrent, "/home/me/data/a.iso");
  assert.equal(made.torrentOut, "/home/me/a.iso.torrent");
  assert.equal(made.seedsOnlySaved, false);
  const out = parsePeerFlags(
    ["--make-torrent", "a.iso", "--torrent-out", "t/x.torrent"],
    "/home/me",
  );
  assert.equal(out.torrentOut, "/home/me/t/x.torrent");
});

Deno.test("parsePeerFlags() refuses --make-torrent with other work, and --torrent-out without it", () => {
  for (
    const args of [
      ["--make-torrent", "a", "--seed", "b"],
      ["--make-torrent", "a", "--get", "b"],
      ["--make-torrent", "a", "--ui"],
      ["--make-torrent", "a", "--list"],
      ["--make-torrent", ""],
      ["--torrent-out", "x.torrent"],
      ["--get", ""],
    ]
  ) {
    assert.throws(() => parsePeerFlags(args, "/w"), UsageError, args.join(" "));
  }
});

Deno.test("trackerUrl() writes udp://HOST:PORT/announce, brackets around IPv6", () => {
  assert.equal(trackerUrl("10.0.0.2", 6969), "udp://10.0.0.2:6969/announce");
  assert.equal(trackerUrl("::1", 7), "udp://[::1]:7/announce");
});

Deno.test("firstUdpTracker() takes the first udp:// tracker and skips the rest", () => {
  assert.deepEqual(
    firstUdpTracker([
      "https://t.example/announce",
      "udp://no-port.example/announce",
      "udp://[::1]:6969/announce",
      "udp://second.example:1",
    ]),
    { host: "::1", port: 6969 },
  );
  assert.equal(firstUdpTracker(["wss://t.example", "x".repeat(600)]), null);
  assert.equal(firstUdpTracker([]), null);
});
