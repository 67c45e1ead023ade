/**
 * `.torrent` files (protocol/torrent.ts): what parseTorrent keeps (the
 * manifest, its id, the trackers), what it skips, and what it refuses.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BDict,
  bkey,
  type BValue,
  decodeBencode,
  dictGet,
  encodeBencode,
  encodeFolderManifest,
  encodeTorrent,
  fileIdOf,
  ManifestBuilder,
  MAX_TORRENT_BYTES,
  MAX_TORRENT_TRACKERS,
  MAX_TRACKER_URL_BYTES,
  parseManifest,
  parseTorrent,
  ProtocolError,
  type ProtocolErrorCode,
  readAnyManifest,
  sha256,
  type Torrent,
} from "@shoal/protocol";
import {
  manifestBytesArb,
  mutatedArb,
  outcomeOf,
  Rng,
  torrentBytesArb,
  trackerUrlsArb,
} from "../../../bench/_protocol_inputs.ts";
import { folderOf, hashedFile } from "../../_helpers/folder_fixtures.ts";

const UTF8 = new TextEncoder();
const k = (name: string) => bkey(UTF8.encode(name));

function built(size: number, name = "file.bin") {
  const builder = new ManifestBuilder(16 * 1024);
  builder.update(new Rng(size).bytes(size));
  return builder.finish(name);
}

const FILE = built(50_000);

/** A .torrent of FILE with `extra` top-level keys (text keys). */
function torrentWith(extra: Record<string, BValue>): Uint8Array {
  const top = decodeBencode(FILE.bytes) as BDict;
  for (const [key, value] of Object.entries(extra)) top.set(k(key), value);
  return encodeBencode(top);
}

function assertRefused(
  bytes: Uint8Array,
  code?: ProtocolErrorCode,
  message?: RegExp,
): void {
  assert.throws(() => parseTorrent(bytes), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, String(error));
    if (code) assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const url = (text: string) => UTF8.encode(text);

Deno.test("encodeTorrent() and parseTorrent() round-trip the manifest, its id and the trackers", () => {
  fc.assert(
    fc.property(manifestBytesArb, trackerUrlsArb, (manifestBytes, trackers) => {
      const bytes = encodeTorrent(manifestBytes, trackers);
      const torrent: Torrent = parseTorrent(bytes);
      assert.deepStrictEqual(torrent.manifestBytes, manifestBytes);
      assert.deepStrictEqual(torrent.manifest, parseManifest(manifestBytes));
      assert.deepStrictEqual(torrent.id, fileIdOf(manifestBytes));
      assert.deepStrictEqual(fileIdOf(bytes), torrent.id);
      assert.deepStrictEqual(torrent.trackers, [...new Set(trackers)]);
    }),
    { seed: 0x5348_0301, numRuns: 200 },
  );
});

Deno.test("encodeTorrent() keeps the id and writes announce, announce-list and created by", () => {
  const none = decodeBencode(encodeTorrent(FILE.bytes, [])) as BDict;
  assert.equal(dictGet(none, "announce"), undefined);
  assert.equal(dictGet(none, "announce-list"), undefined);
  assert.deepStrictEqual(dictGet(none, "created by"), url("Shoal"));
  const one = decodeBencode(encodeTorrent(FILE.bytes, ["udp://a:1/announce"]));
  assert.ok(one instanceof Map);
  assert.deepStrictEqual(dictGet(one, "announce"), url("udp://a:1/announce"));
  assert.equal(dictGet(one, "announce-list"), undefined);
  const two = encodeTorrent(FILE.bytes, ["udp://a:1/x", "udp://b:2/x"]);
  const top = decodeBencode(two) as BDict;
  assert.deepStrictEqual(dictGet(top, "announce"), url("udp://a:1/x"));
  assert.deepStrictEqual(dictGet(top, "announce-list"), [
    [url("udp://a:1/x")],
    [url("udp://b:2/x")],
  ]);
  for (const bytes of [encodeTorrent(FILE.bytes, []), two]) {
    assert.deepStrictEqual(fileIdOf(bytes), FILE.id);
    assert.deepStrictEqual(parseTorrent(bytes).id, FILE.id);
  }
});

Deno.test("encodeTorrent() refuses manifest bytes that are not a manifest", () => {
  for (
    const bad of [
      new Uint8Array(),
      url("de"),
      url("d4:infodee"),
      FILE.bytes.subarray(0, -1),
    ]
  ) {
    assert.throws(() => encodeTorrent(bad, []), ProtocolError);
  }
});

Deno.test("parseTorrent() reads announce-list tiers first, then announce, without repeats", () => {
  const torrent = parseTorrent(torrentWith({
    "announce": url("udp://a:1/announce"),
    "announce-list": [
      [url("udp://b:2/announce"), url("udp://a:1/announce")],
      [url("udp://c:3/announce"), url("udp://b:2/announce")],
    ],
  }));
  assert.deepStrictEqual(torrent.trackers, [
    "udp://b:2/announce",
    "udp://a:1/announce",
    "udp://c:3/announce",
  ]);
  assert.deepStrictEqual(
    parseTorrent(torrentWith({ announce: url("udp://a:1/announce") }))
      .trackers,
    ["udp://a:1/announce"],
  );
  assert.deepStrictEqual(parseTorrent(FILE.bytes).trackers, []);
});

Deno.test("parseTorrent() skips tracker entries that are not text, too long or empty", () => {
  const torrent = parseTorrent(torrentWith({
    "announce": 7n,
    "announce-list": [
      url("udp://not-in-a-tier:1/announce"),
      [
        1n,
        [url("udp://nested:1/announce")],
        new Map([[k("a"), url("udp://dict:1/announce")]]),
        new Uint8Array([0xff, 0xfe, 0x3a]),
        url(""),
        url(`udp://${"x".repeat(MAX_TRACKER_URL_BYTES)}/announce`),
        url("udp://good:1/announce"),
      ],
      7n,
    ],
  }));
  assert.deepStrictEqual(torrent.trackers, ["udp://good:1/announce"]);
  // announce-list of the wrong type is skipped; the file still reads.
  for (const list of [5n, url("udp://a:1/announce"), new Map()]) {
    const read = parseTorrent(torrentWith({
      "announce": url("udp://a:1/announce"),
      "announce-list": list,
    }));
    assert.deepStrictEqual(read.trackers, ["udp://a:1/announce"]);
    assert.deepStrictEqual(read.id, FILE.id);
  }
  // The longest URL kept is MAX_TRACKER_URL_BYTES bytes.
  const longest = `udp://${"x".repeat(MAX_TRACKER_URL_BYTES - 17)}:1/announce`;
  assert.equal(UTF8.encode(longest).byteLength, MAX_TRACKER_URL_BYTES);
  assert.deepStrictEqual(
    parseTorrent(torrentWith({ announce: url(longest) })).trackers,
    [longest],
  );
});

Deno.test("parseTorrent() keeps at most MAX_TORRENT_TRACKERS trackers", () => {
  const many = Array.from(
    { length: MAX_TORRENT_TRACKERS + 10 },
    (_, i) => `udp://t${i}:1/announce`,
  );
  const torrent = parseTorrent(encodeTorrent(FILE.bytes, many));
  assert.deepStrictEqual(torrent.trackers, many.slice(0, MAX_TORRENT_TRACKERS));
});

Deno.test("parseTorrent() ignores other top-level keys and reads a hybrid (v1 + v2) torrent by its v2 infohash", () => {
  const withComment = torrentWith({
    "comment": url("hello"),
    "creation date": 1_700_000_000n,
    "url-list": [url("http://example/x")],
  });
  assert.deepStrictEqual(parseTorrent(withComment).id, FILE.id);
  // A hybrid torrent: the v1 keys sit in the same info dictionary, and the
  // v2 infohash covers them too.
  const top = decodeBencode(FILE.bytes) as BDict;
  const info = top.get(k("info")) as BDict;
  info.set(k("length"), 50_000n);
  info.set(k("pieces"), new Uint8Array(20 * 4));
  const hybrid = encodeBencode(top);
  const torrent = parseTorrent(hybrid);
  assert.deepStrictEqual(torrent.id, sha256(encodeBencode(info)));
  assert.notDeepStrictEqual(torrent.id, FILE.id);
  assert.deepStrictEqual(torrent.manifest, FILE.manifest);
});

Deno.test("parseTorrent() refuses what is not a usable v2 torrent, with a ProtocolError", () => {
  assertRefused(url("i1e"), "bad_type", /not a bencoded dictionary/);
  assertRefused(url("l4:infoe"), "bad_type");
  assertRefused(url("de"), "bad_manifest");
  assertRefused(url("d8:announce3:abce"), "bad_manifest");
  for (let cut = 0; cut < FILE.bytes.byteLength; cut += 7) {
    assertRefused(FILE.bytes.subarray(0, cut));
  }
  // A v1-only torrent: the message says what to do.
  const v1 = encodeBencode(
    new Map<string, BValue>([
      [k("announce"), url("udp://a:1/announce")],
      [
        k("info"),
        new Map<string, BValue>([
          [k("length"), 40_000n],
          [k("name"), url("old.bin")],
          [k("piece length"), 16_384n],
          [k("pieces"), new Uint8Array(60)],
        ]),
      ],
    ]),
  );
  assertRefused(v1, "bad_version", /v1.*needs v2/);
  // Oversize: refused before it is decoded.
  const big = new Uint8Array(MAX_TORRENT_BYTES + 1);
  big.set(FILE.bytes);
  assertRefused(big, "too_long", /at most/);
});

Deno.test("parseTorrent() gives a Torrent or a ProtocolError for random and mutated torrents", () => {
  const outcomes = new Set<string>();
  fc.assert(
    fc.property(
      fc.oneof(
        mutatedArb(torrentBytesArb),
        fc.uint8Array({ maxLength: 400 }),
      ),
      (bytes) => {
        outcomes.add(outcomeOf(() => parseTorrent(bytes), (torrent) => {
          // What it accepts re-encodes to a torrent with the same id.
          const again = encodeTorrent(torrent.manifestBytes, torrent.trackers);
          assert.deepStrictEqual(parseTorrent(again).id, torrent.id);
          return "torrent";
        }));
      },
    ),
    { seed: 0x5348_0302, numRuns: 2000 },
  );
  assert.ok(outcomes.has("torrent"), [...outcomes].join(" "));
  assert.ok(outcomes.size > 3, [...outcomes].join(" "));
});

Deno.test("readAnyManifest() hashes a file's or a folder's piece layers up to their roots unless these bytes were checked already", () => {
  const builder = new ManifestBuilder(16 * 1024);
  builder.update(new Uint8Array(40 * 1024).fill(3));
  const file = builder.finish("layer.bin").bytes;
  const folder = encodeFolderManifest(folderOf([
    hashedFile("a/three.bin", 3 * 16 * 1024 + 1, 14),
    hashedFile("b.txt", 100, 5),
  ]));
  for (const bytes of [file, folder]) {
    // One bit of the last piece hash flipped: the layer no longer hashes to its root.
    const top = decodeBencode(bytes) as BDict;
    const layers = top.get("piece layers") as BDict;
    const [key, layer] = [...layers][0]!;
    const forged = (layer as Uint8Array).slice();
    forged[forged.byteLength - 1]! ^= 1;
    layers.set(key, forged);
    const tampered = encodeBencode(top);
    assert.throws(
      () => readAnyManifest(tampered),
      (error: unknown) =>
        error instanceof ProtocolError && /pieces root/.test(error.message),
    );
    // The download's shared copy of bytes fetchManifest just checked: not hashed again.
    const read = readAnyManifest(tampered, { layerChecked: true });
    assert.equal(
      read.manifest.chunkCount,
      readAnyManifest(bytes).manifest.chunkCount,
    );
    assert.equal(read.folder === null, bytes === file);
  }
});
