/**
 * v2 magnet links (protocol/magnet.ts): what parseMagnet reads, what it
 * refuses, and that magnetLink writes what it reads.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  isMagnetLink,
  magnetLink,
  MAX_MAGNET_CHARS,
  MAX_TORRENT_TRACKERS,
  MAX_TRACKER_URL_BYTES,
  parseMagnet,
  ProtocolError,
  toHex,
} from "@shoal/protocol";
import {
  fileIdArb,
  magnetArb,
  magnetNoise,
  mutateText,
  outcomeOf,
  Rng,
  safeNameArb,
  trackerUrlsArb,
} from "../../../bench/_protocol_inputs.ts";

const ID = Uint8Array.from({ length: 32 }, (_, i) => i * 8);
const HEX = toHex(ID);
const XT = `xt=urn:btmh:1220${HEX}`;

function assertRefused(text: string, message?: RegExp): void {
  assert.throws(() => parseMagnet(text), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `${text}: ${String(error)}`);
    if (message) assert.match(error.message, message, text);
    return true;
  }, text.slice(0, 200));
}

Deno.test("magnetLink() and parseMagnet() round-trip the id, the name and the trackers", () => {
  fc.assert(
    fc.property(
      fileIdArb,
      safeNameArb,
      trackerUrlsArb,
      (id, name, trackers) => {
        const link = magnetLink(id, name, trackers);
        assert.ok(isMagnetLink(link));
        assert.deepStrictEqual(parseMagnet(link), {
          id,
          name,
          trackers: [...new Set(trackers)],
        });
      },
    ),
    { seed: 0x5348_0401, numRuns: 500 },
  );
});

Deno.test("magnetLink() writes a BEP 9 v2 link", () => {
  assert.equal(
    magnetLink(ID, "a b&c.bin", ["udp://127.0.0.1:6969/announce"]),
    `magnet:?xt=urn:btmh:1220${HEX}&dn=a%20b%26c.bin&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce`,
  );
});

Deno.test("parseMagnet() reads btmh, dn and tr in any order and case", () => {
  const link = parseMagnet(
    `MAGNET:?tr=udp%3A%2F%2Fa%3A1%2Fannounce&dn=caf%C3%A9+menu.txt&XT=URN:BTMH:1220${HEX.toUpperCase()}`,
  );
  assert.deepStrictEqual(link, {
    id: ID,
    name: "café menu.txt",
    trackers: ["udp://a:1/announce"],
  });
  // Without "?" and with empty parts.
  assert.deepStrictEqual(parseMagnet(`magnet:&&${XT}&`).id, ID);
  // No name, no trackers.
  assert.deepStrictEqual(parseMagnet(`magnet:?${XT}`), {
    id: ID,
    name: null,
    trackers: [],
  });
  assert.equal(parseMagnet(`magnet:?${XT}&dn=`).name, null);
  // The first dn wins; unknown keys are ignored.
  const two = parseMagnet(
    `magnet:?dn=first.bin&${XT}&dn=second.bin&x.pe=1.2.3.4:5&so=0`,
  );
  assert.equal(two.name, "first.bin");
});

Deno.test("parseMagnet() reads numbered keys (xt.1, tr.2) and a hybrid link's v2 hash", () => {
  const link = parseMagnet(
    `magnet:?xt.1=urn:btih:${"ab".repeat(20)}&xt.2=urn:btmh:1220${HEX}` +
      `&tr.1=udp%3A%2F%2Fa%3A1%2Fannounce&tr.2=udp%3A%2F%2Fb%3A2%2Fannounce&tr.3=udp%3A%2F%2Fa%3A1%2Fannounce`,
  );
  assert.deepStrictEqual(link.id, ID);
  assert.deepStrictEqual(link.trackers, [
    "udp://a:1/announce",
    "udp://b:2/announce",
  ]);
});

Deno.test("parseMagnet() keeps at most MAX_TORRENT_TRACKERS trackers and skips overlong ones", () => {
  const many = Array.from(
    { length: MAX_TORRENT_TRACKERS + 5 },
    (_, i) => `udp://t${i}:1/announce`,
  );
  const long = `udp://${"x".repeat(MAX_TRACKER_URL_BYTES)}/announce`;
  const link = parseMagnet(magnetLink(ID, "a.bin", [long, ...many]));
  assert.deepStrictEqual(link.trackers, many.slice(0, MAX_TORRENT_TRACKERS));
});

Deno.test("parseMagnet() refuses a v1-only link, saying a v2 one is needed", () => {
  assertRefused(
    `magnet:?xt=urn:btih:${"ab".repeat(20)}&dn=a.bin`,
    /only a BitTorrent v1 infohash.*needs a v2 one/,
  );
  assertRefused(`magnet:?dn=a.bin`, /no v2 infohash/);
  assertRefused(`magnet:`, /no v2 infohash/);
});

Deno.test("parseMagnet() refuses bad hex, a wrong multihash prefix or length", () => {
  const bad = [
    `urn:btmh:1220${"zz".repeat(32)}`,
    `urn:btmh:1220${HEX.slice(0, -1)}g`,
    `urn:btmh:1220${HEX.slice(2)}`,
    `urn:btmh:1220${HEX}00`,
    `urn:btmh:1114${HEX}`, // SHA-1 code
    `urn:btmh:1320${HEX}`, // SHA-512 code, 32 bytes
    `urn:btmh:${HEX}`,
    `urn:btmh:`,
    `urn:btmh:1220${HEX.slice(0, 60)}    `,
  ];
  for (const xt of bad) assertRefused(`magnet:?xt=${xt}`);
  assertRefused(`magnet:?xt=urn:btmh:1114${HEX}`, /1220 \+ 64 hex digits/);
  assertRefused(
    `magnet:?xt=urn:btmh:1220${"zz".repeat(32)}`,
    /not hexadecimal/,
  );
});

Deno.test("parseMagnet() refuses what is not a magnet link, bad %-encoding and oversize links", () => {
  for (const text of ["", "http://x/a.torrent", "magnet", " magnet:?"]) {
    assertRefused(text);
  }
  assertRefused("file.bin", /does not start with "magnet:"/);
  assertRefused(`magnet:?${XT}&dn=%E0%A4%A`, /%-encoded/);
  assertRefused(`magnet:?${XT}&tr=%`, /%-encoded/);
  // A lone surrogate, %-encoded, is not UTF-8.
  assertRefused(`magnet:?${XT}&dn=%ED%A0%80`, /%-encoded/);
  const longest = `magnet:?${XT}&dn=`;
  const name = "a".repeat(MAX_MAGNET_CHARS - longest.length);
  // The limit itself is fine (and the name is refused for its length, not
  // the link); one more character is oversize.
  assertRefused(`${longest}${name}`, /name \(dn\)/);
  assertRefused(`${longest}${name}b`, /at most/);
});

Deno.test("parseMagnet() refuses a name (dn) that is not one safe file name", () => {
  for (
    const name of ["../x", "a/b", "..", "a%00b", "CON", ".hidden", "a%5Cb"]
  ) {
    assertRefused(`magnet:?${XT}&dn=${name}`, /name \(dn\)/);
  }
  assert.equal(parseMagnet(`magnet:?${XT}&dn=ok.bin`).name, "ok.bin");
});

Deno.test("isMagnetLink() tells a magnet link from a file name", () => {
  assert.ok(isMagnetLink("magnet:?xt=urn:btmh:1220"));
  assert.ok(isMagnetLink("Magnet:?"));
  assert.ok(!isMagnetLink("magnet.bin"));
  assert.ok(!isMagnetLink(" magnet:?"));
});

Deno.test("parseMagnet() gives a MagnetLink or a ProtocolError for random and mutated links", () => {
  const rng = new Rng(0x5348_0402);
  const links = fc.sample(magnetArb, { seed: 0x5348_0403, numRuns: 200 });
  const outcomes = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const text = rng.chance(0.3)
      ? magnetNoise(rng)
      : mutateText(rng, rng.pick(links));
    outcomes.add(outcomeOf(() => parseMagnet(text), (link) => {
      // What it accepts, it writes back to a link that reads the same.
      const again = parseMagnet(
        magnetLink(link.id, link.name ?? "x", link.trackers),
      );
      assert.deepStrictEqual(again.id, link.id);
      assert.deepStrictEqual(again.trackers, link.trackers);
      return "link";
    }));
  }
  assert.ok(outcomes.has("link"), [...outcomes].join(" "));
  assert.ok(outcomes.has("error:bad_value"), [...outcomes].join(" "));
});
