import assert from "node:assert/strict";
import {
  chooseTrackers,
  DEFAULT_DHT_BOOTSTRAP,
  parsePeerFlags,
  trackerUrl,
  udpTrackers,
  unusableLinkTrackers,
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

Deno.test("parsePeerFlags() takes --tracker several times, each once, in order", () => {
  const without = parsePeerFlags(["--get", MAGNET], "/w");
  assert.equal(without.trackerGiven, false);
  assert.deepEqual(without.trackers, []);
  const given = parsePeerFlags([
    "--get",
    MAGNET,
    "--tracker",
    "h:1",
    "--tracker",
    "udp://[::1]:2/announce",
    "--tracker",
    "H:1",
  ], "/w");
  assert.equal(given.trackerGiven, true);
  assert.deepEqual(given.trackers, [{ host: "H", port: 1 }, {
    host: "::1",
    port: 2,
  }]);
});

Deno.test("chooseTrackers() uses --tracker, else the link's, else the default unless the DHT can do without", () => {
  const flags = (args: string[]) => parsePeerFlags(args, "/w");
  const link = ["udp://a.example:1", "https://b.example/announce"];
  assert.deepEqual(
    chooseTrackers(flags(["--get", MAGNET, "--tracker", "t:9"]), link),
    [{ host: "t", port: 9 }],
  );
  assert.deepEqual(chooseTrackers(flags(["--get", MAGNET]), link), [{
    host: "a.example",
    port: 1,
  }]);
  // The DHT finds peers by id: no tracker for a magnet link or a seed.
  assert.deepEqual(chooseTrackers(flags(["--get", MAGNET]), []), []);
  assert.deepEqual(chooseTrackers(flags(["--seed", "x"]), []), []);
  // Names need a tracker's index; so does a run without the DHT.
  const local = [{ host: "127.0.0.1", port: 6969 }];
  assert.deepEqual(chooseTrackers(flags(["--get", "a.iso"]), []), local);
  assert.deepEqual(chooseTrackers(flags(["--list"]), []), local);
  assert.deepEqual(chooseTrackers(flags(["--ui"]), []), local);
  assert.deepEqual(
    chooseTrackers(flags(["--get", MAGNET, "--no-dht"]), []),
    local,
  );
});

Deno.test("chooseTrackers() never falls back on the default tracker for a link naming only trackers Shoal cannot use", () => {
  const flags = (args: string[]) => parsePeerFlags(args, "/w");
  const http = ["http://example.com/announce", "wss://t.example"];
  // With the DHT on the link still works through the DHT, as before.
  assert.deepEqual(chooseTrackers(flags(["--get", MAGNET]), http), []);
  // DHT off: none (a .torrent's trackers are known only after --get is
  // read; cli.ts can say why with unusableLinkTrackers()).
  assert.deepEqual(
    chooseTrackers(flags(["--get", "a.torrent", "--no-dht"]), http),
    [],
  );
  assert.deepEqual(
    chooseTrackers(
      flags(["--get", "a.torrent", "--no-dht", "--tracker", "t:9"]),
      http,
    ),
    [{ host: "t", port: 9 }],
  );
});

Deno.test("unusableLinkTrackers() names the schemes only when the DHT is off, no --tracker is given and no tracker is udp://", () => {
  const off = { trackers: [], dht: false };
  const http = ["http://example.com/announce"];
  const problem = unusableLinkTrackers(off, http, "the magnet link");
  assert.match(
    problem ?? "",
    /^the magnet link names only http:\/\/ trackers; Shoal speaks udp:\/\/ trackers: give --tracker HOST:PORT, or leave the DHT on \(drop --no-dht\)/,
  );
  assert.doesNotMatch(problem ?? "", /example\.com|6969/);
  assert.match(
    unusableLinkTrackers(off, [...http, "WSS://x", "https://y"], "a.torrent") ??
      "",
    /^a\.torrent names only http:\/\/ and wss:\/\/ and https:\/\/ trackers;/,
  );
  // An unreadable udp:// entry, or no scheme at all: nothing is shown of it.
  assert.match(
    unusableLinkTrackers(off, ["udp://no-port", "\u001b[2Jx"], "it") ?? "",
    /^it names no tracker Shoal can read;/,
  );
  assert.equal(unusableLinkTrackers(off, [], "it"), null);
  assert.equal(unusableLinkTrackers(off, [...http, "udp://t:1"], "it"), null);
  assert.equal(unusableLinkTrackers({ ...off, dht: true }, http, "it"), null);
  assert.equal(
    unusableLinkTrackers(
      { trackers: [{ host: "t", port: 1 }], dht: false },
      http,
      "it",
    ),
    null,
  );
});

Deno.test("parsePeerFlags() refuses --no-dht with a magnet link naming only http:// trackers and no --tracker", () => {
  const link = `${MAGNET}&tr=http%3A%2F%2Fexample.com%2Fannounce`;
  assert.throws(
    () => parsePeerFlags(["--get", link, "--no-dht"], "/w"),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /only http:\/\/ trackers.*--tracker.*--no-dht/,
      );
      return true;
    },
  );
  // The DHT, a --tracker, or a udp:// tracker in the link is enough.
  assert.equal(parsePeerFlags(["--get", link], "/w").dht, true);
  parsePeerFlags(["--get", link, "--no-dht", "--tracker", "t:1"], "/w");
  parsePeerFlags(
    ["--get", `${link}&tr=udp%3A%2F%2Ft%3A1`, "--no-dht"],
    "/w",
  );
  // No tracker named at all: the documented default, as before.
  parsePeerFlags(["--get", MAGNET, "--no-dht"], "/w");
  // A link that cannot be read is said later, as a bad link (exit 8).
  parsePeerFlags([
    "--get",
    "magnet:?xt=urn:btmh:12zz&tr=http%3A%2F%2Fa",
    "--no-dht",
  ], "/w");
});

Deno.test("parsePeerFlags() reads the DHT flags and defaults to the public routers", () => {
  const plain = parsePeerFlags(["--seed", "x"], "/w");
  assert.equal(plain.dht, true);
  assert.equal(plain.dhtPort, 0);
  assert.deepEqual(
    plain.dhtBootstrap.map((n) => `${n.host}:${n.port}`),
    DEFAULT_DHT_BOOTSTRAP,
  );
  const local = parsePeerFlags([
    "--seed",
    "x",
    "--dht-port",
    "6881",
    "--dht-bootstrap",
    "127.0.0.1:7000, udp://127.0.0.1:7001",
  ], "/w");
  assert.equal(local.dhtPort, 6881);
  assert.deepEqual(local.dhtBootstrap, [
    { host: "127.0.0.1", port: 7000 },
    { host: "127.0.0.1", port: 7001 },
  ]);
  assert.equal(parsePeerFlags(["--seed", "x", "--no-dht"], "/w").dht, false);
  for (
    const args of [
      ["--no-dht", "--dht-port", "1"],
      ["--no-dht", "--dht-bootstrap", "127.0.0.1:1"],
      ["--dht-port", "65536"],
      ["--dht-bootstrap", "127.0.0.1"],
      ["--dht-bootstrap", "http://127.0.0.1:1"],
      ["--dht-bootstrap", ""],
    ]
  ) {
    assert.throws(
      () => parsePeerFlags(["--seed", "x", ...args], "/w"),
      UsageError,
      args.join(" "),
    );
  }
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

Deno.test("udpTrackers() takes every udp:// tracker once and skips the rest", () => {
  assert.deepEqual(
    udpTrackers([
      "https://t.example/announce",
      "udp://no-port.example/announce",
      "udp://[::1]:6969/announce",
      "udp://second.example:1",
      "udp://[::1]:6969",
    ]),
    [{ host: "::1", port: 6969 }, { host: "second.example", port: 1 }],
  );
  assert.deepEqual(udpTrackers(["wss://t.example", "x".repeat(600)]), []);
  assert.deepEqual(udpTrackers([]), []);
  const many = Array.from({ length: 40 }, (_, i) => `udp://t${i}.example:1`);
  assert.equal(udpTrackers(many).length, 16);
});

Deno.test("parsePeerFlags() refuses a value option given twice, an empty --out, and shares a file given twice once", () => {
  assert.throws(
    () => parsePeerFlags(["--get", "a.bin", "--get", "b.bin"], "/w"),
    (error: unknown) =>
      error instanceof UsageError &&
      /^--get takes one file, given twice here: run one peer per download/
        .test(error.message),
  );
  assert.throws(
    () => parsePeerFlags(["--get", "a", "--out", "x", "--out=y"], "/w"),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === "--out is given twice; give it once",
  );
  assert.throws(
    () => parsePeerFlags(["--get", "a.bin", "--out", ""], "/w"),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === "--out needs a folder to download into",
  );
  // Repeatable options and repeated switches are fine.
  const flags = parsePeerFlags([
    "--seed",
    "a.bin",
    "--seed",
    "/w/a.bin",
    "--seed",
    "b.bin",
    "--json",
    "--json",
  ], "/w");
  assert.deepEqual(flags.seeds, ["/w/a.bin", "/w/b.bin"]);
  assert.equal(flags.json, true);
});
