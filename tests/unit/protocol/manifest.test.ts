/**
 * The BEP 52 manifest (protocol/manifest.ts): round trips, stable ids, the
 * awkward sizes (empty, one chunk, exact multiples, a 1-byte last chunk),
 * the streaming builder, chunk checks, and hostile manifests, each of which
 * must fail with a ProtocolError and nothing else. The cross-check against
 * libtorrent itself is in libtorrent_v2.test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BDict,
  bkey,
  bkeyBytes,
  BLOCK_BYTES,
  blockHash,
  type BValue,
  chunkCountFor,
  chunkDigest,
  chunkHash,
  chunkLength,
  chunkMatches,
  chunkSizeFor,
  decodeBencode,
  dictGet,
  encodeBencode,
  encodeManifest,
  fileIdOf,
  fileMerkle,
  HASH_BYTES,
  infoDictionary,
  type Manifest,
  ManifestBuilder,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
  MAX_FILE_BYTES,
  MAX_MANIFEST_BYTES,
  merkleRoot,
  MIN_CHUNK_BYTES,
  parseManifest,
  ProtocolError,
  type ProtocolErrorCode,
  sha256,
  toHex,
} from "@shoal/protocol";
import {
  manifestArb,
  manifestBytesArb,
  mutatedArb,
  outcomeOf,
  Rng,
} from "../../../bench/_protocol_inputs.ts";
import { reference } from "../../_helpers/bep52_reference.ts";

const KIB = 1024;
const CHUNK = MIN_CHUNK_BYTES;
const UTF8 = new TextEncoder();

function build(
  data: Uint8Array,
  options: { chunkSize?: number; slices?: number[]; name?: string } = {},
) {
  const builder = new ManifestBuilder(options.chunkSize ?? CHUNK);
  let at = 0;
  for (const size of options.slices ?? []) {
    builder.update(data.subarray(at, at + size));
    at += size;
  }
  builder.update(data.subarray(at));
  return builder.finish(options.name ?? "file.bin");
}

/** The block hashes (leaves) of some bytes, no padding. */
function leavesOf(data: Uint8Array): Uint8Array[] {
  const leaves: Uint8Array[] = [];
  for (let at = 0; at < data.byteLength; at += BLOCK_BYTES) {
    leaves.push(blockHash(data.subarray(at, at + BLOCK_BYTES)));
  }
  return leaves;
}

/** `fn` throws a ProtocolError (the only error type allowed) of `code`. */
function assertProtocolError(
  fn: () => unknown,
  code?: ProtocolErrorCode,
  message?: RegExp,
  what = "",
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(
      error instanceof ProtocolError,
      `${what}: expected a ProtocolError, got ${String(error)}`,
    );
    if (code) assert.equal(error.code, code, `${what}: ${error.message}`);
    if (message) assert.match(error.message, message, what);
    return true;
  }, what);
}

function assertRejects(
  bytes: Uint8Array,
  code?: ProtocolErrorCode,
  message?: RegExp,
  what = "",
): void {
  assertProtocolError(() => parseManifest(bytes), code, message, what);
}

const k = (name: string) => bkey(UTF8.encode(name));

function decodeDict(bytes: Uint8Array): BDict {
  const value = decodeBencode(bytes);
  assert.ok(value instanceof Map);
  return value;
}

/**
 * Manifest bytes with the info dictionary (and the top level) changed by
 * `edit`; the decoded maps are edited in place, then re-encoded.
 */
function edited(
  bytes: Uint8Array,
  edit: (info: BDict, top: BDict) => void,
): Uint8Array {
  const top = decodeDict(bytes);
  edit(top.get(k("info")) as BDict, top);
  return encodeBencode(top);
}

/** The only file entry (`{length, pieces root}`) of an info dictionary. */
function fileEntry(info: BDict): BDict {
  const tree = info.get(k("file tree")) as BDict;
  const [node] = tree.values();
  return (node as BDict).get("") as BDict;
}

/** The piece layer of a manifest's only file. */
function layerOf(top: BDict): [string, Uint8Array] {
  const layers = top.get(k("piece layers")) as BDict;
  const [entry] = layers;
  return entry as [string, Uint8Array];
}

// A 3-chunk file (2 whole chunks and 1 partial one) that most hostile cases
// start from.
const THREE = build(new Rng(3).bytes(2 * CHUNK + 5000), { name: "three.bin" });

// --- Round trips and ids ------------------------------------------------------

Deno.test("parseManifest() round-trips encodeManifest()", () => {
  fc.assert(
    fc.property(manifestArb, (manifest: Manifest) => {
      const bytes = encodeManifest(manifest);
      assert.deepStrictEqual(parseManifest(bytes), manifest);
      assert.deepStrictEqual(encodeManifest(parseManifest(bytes)), bytes);
    }),
    { seed: 0x5348_0202, numRuns: 300 },
  );
});

Deno.test("parseManifest() gives back what ManifestBuilder built, and encodes to the same bytes", () => {
  const rng = new Rng(1);
  for (
    const [size, chunkSize] of [
      [0, CHUNK],
      [1, CHUNK],
      [CHUNK + 1, CHUNK],
      [100 * KIB, 32 * KIB],
      [600 * KIB, 512 * KIB],
    ] as const
  ) {
    const built = build(rng.bytes(size), { chunkSize });
    const parsed = parseManifest(built.bytes);
    assert.deepStrictEqual(parsed, built.manifest, `${size} bytes`);
    assert.deepStrictEqual(encodeManifest(parsed), built.bytes);
    assert.deepStrictEqual(fileIdOf(built.bytes), built.id);
  }
});

Deno.test("the file id is the SHA-256 of the bencoded info dictionary, stable however it is built", () => {
  const data = UTF8.encode("stable file id");
  const first = build(data, { slices: [3, 4] });
  const second = build(data);
  assert.deepStrictEqual(first.id, second.id);
  assert.deepStrictEqual(first.bytes, second.bytes);
  assert.deepStrictEqual(fileIdOf(first.bytes), first.id);
  assert.deepStrictEqual(
    first.id,
    sha256(encodeBencode(infoDictionary(first.manifest))),
  );
  // The info dictionary is the one BEP 52 describes, keys in order.
  const info = decodeDict(first.bytes).get(k("info")) as BDict;
  assert.deepStrictEqual(
    [...info.keys()],
    ["file tree", "meta version", "name", "piece length"],
  );
  assert.equal(dictGet(info, "meta version"), 2n);
  assert.equal(dictGet(info, "piece length"), BigInt(CHUNK));
  // Anything the id covers changes it: name, chunk size, one byte.
  const changed = data.slice();
  changed[0]! ^= 1;
  for (
    const other of [
      build(data, { name: "other.bin" }),
      build(data, { chunkSize: 2 * CHUNK }),
      build(changed),
    ]
  ) assert.notDeepStrictEqual(other.id, first.id);
});

Deno.test("ids equal the v2 infohashes libtorrent 2.0.8 computed for the same files", () => {
  // Computed once with tests/fixtures/lt_make_torrent.py, so this check runs
  // even where python3-libtorrent is not installed.
  const hello = build(UTF8.encode("hello"), { name: "hello.txt" });
  assert.equal(
    toHex(hello.id),
    "08c0d0c2f2df56a68b9eed45b3ef00fb165ee245ea95e1aa71e802311680f4bc",
  );
  const pattern = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff);
  assert.equal(
    toHex(build(pattern, { name: "pattern.bin" }).id),
    "25d7da4eeabc75698abfb72a7036d688e0c0a4ad757db5f9294b17521f971057",
  );
});

// --- Sizes --------------------------------------------------------------------

Deno.test("an empty file has no chunks, no pieces root and no piece layer", () => {
  const { manifest, bytes } = build(new Uint8Array(), { name: "empty" });
  assert.equal(manifest.size, 0);
  assert.equal(manifest.chunkCount, 0);
  assert.equal(manifest.piecesRoot, null);
  assert.equal(manifest.chunkHashes.byteLength, 0);
  const top = decodeDict(bytes);
  const entry = fileEntry(top.get(k("info")) as BDict);
  assert.deepStrictEqual([...entry.keys()], ["length"]);
  assert.equal((top.get(k("piece layers")) as BDict).size, 0);
  assert.deepStrictEqual(parseManifest(bytes), manifest);
  assert.equal(chunkMatches(manifest, 0, new Uint8Array()), false);
});

Deno.test("a one-chunk file's hash is its pieces root, padded only to its own blocks' power of two", () => {
  const rng = new Rng(2);
  for (
    const [size, chunkSize] of [
      [1, CHUNK],
      [CHUNK - 1, CHUNK],
      [CHUNK, CHUNK],
      [CHUNK + 1, 32 * KIB], // 2 blocks
      [40 * KIB, 128 * KIB], // 3 blocks: 4 leaves, not 8
      [100 * KIB, 512 * KIB], // 7 blocks: 8 leaves, not 32
      [512 * KIB - 1, 512 * KIB],
      [512 * KIB, 512 * KIB],
    ] as const
  ) {
    const what = `${size} bytes, chunks of ${chunkSize}`;
    const data = rng.bytes(size);
    const { manifest, bytes } = build(data, { chunkSize });
    assert.equal(manifest.chunkCount, 1, what);
    assert.deepStrictEqual(manifest.chunkHashes, manifest.piecesRoot, what);
    const leaves = leavesOf(data);
    let width = 1;
    while (width < leaves.length) width *= 2;
    assert.deepStrictEqual(
      manifest.piecesRoot,
      merkleRoot(leaves, width),
      what,
    );
    if (width < chunkSize / BLOCK_BYTES) {
      // Padding to the whole chunk would give another hash.
      assert.notDeepStrictEqual(
        manifest.piecesRoot,
        merkleRoot(leaves, chunkSize / BLOCK_BYTES),
        what,
      );
    }
    assert.deepStrictEqual(
      manifest.piecesRoot,
      fileMerkle(data, chunkSize)!.piecesRoot,
    );
    // BEP 52: no piece layer for a file of one piece.
    assert.equal((decodeDict(bytes).get(k("piece layers")) as BDict).size, 0);
    assert.ok(chunkMatches(manifest, 0, data), what);
    assert.deepStrictEqual(parseManifest(bytes), manifest, what);
  }
});

Deno.test("exact multiples of the chunk size have full chunks only", () => {
  const rng = new Rng(4);
  for (const chunkSize of [CHUNK, 32 * KIB, 64 * KIB]) {
    for (const chunks of [2, 3, 4, 5]) {
      const data = rng.bytes(chunks * chunkSize);
      const { manifest, bytes } = build(data, { chunkSize });
      const what = `${chunks} chunks of ${chunkSize}`;
      assert.equal(manifest.chunkCount, chunks, what);
      const reference = fileMerkle(data, chunkSize)!;
      assert.deepStrictEqual(manifest.piecesRoot, reference.piecesRoot, what);
      for (let i = 0; i < chunks; i++) {
        assert.equal(chunkLength(manifest, i), chunkSize, what);
        const piece = data.subarray(i * chunkSize, (i + 1) * chunkSize);
        assert.deepStrictEqual(
          chunkHash(manifest, i),
          merkleRoot(leavesOf(piece), chunkSize / BLOCK_BYTES),
          what,
        );
        assert.deepStrictEqual(
          chunkHash(manifest, i),
          reference.pieceHashes[i],
        );
      }
      assert.deepStrictEqual(parseManifest(bytes), manifest, what);
    }
  }
});

Deno.test("a last chunk of 1 byte is hashed as one short block padded with zero leaves", () => {
  const rng = new Rng(5);
  for (const chunkSize of [CHUNK, 32 * KIB, 128 * KIB]) {
    const data = rng.bytes(3 * chunkSize + 1);
    const { manifest, bytes } = build(data, { chunkSize });
    assert.equal(manifest.chunkCount, 4);
    assert.equal(chunkLength(manifest, 3), 1);
    assert.deepStrictEqual(
      chunkHash(manifest, 3),
      merkleRoot([sha256(data.subarray(-1))], chunkSize / BLOCK_BYTES),
    );
    assert.ok(chunkMatches(manifest, 3, data.subarray(-1)));
    assert.deepStrictEqual(
      manifest.piecesRoot,
      fileMerkle(data, chunkSize)!.piecesRoot,
    );
    assert.deepStrictEqual(parseManifest(bytes), manifest);
  }
});

Deno.test("ManifestBuilder's piece layer and pieces root equal the BEP 52 reference over random sizes", async () => {
  const rng = new Rng(52);
  for (let run = 0; run < 30; run++) {
    const chunkSize = MIN_CHUNK_BYTES * 2 ** rng.int(4); // 16 to 128 KiB
    const chunks = 1 + rng.int(5);
    // Chunk edges, a byte either side, whole and partial blocks, or any size.
    const size = Math.max(
      1,
      [
        chunks * chunkSize,
        chunks * chunkSize + 1,
        chunks * chunkSize - 1,
        (chunks - 1) * chunkSize + 16_384 * (1 + rng.int(4)),
        1 + rng.int(chunks * chunkSize),
      ][rng.int(5)]!,
    );
    const data = rng.bytes(size);
    const builder = new ManifestBuilder(chunkSize, { expectedBytes: size });
    for (let at = 0; at < size;) {
      const take = 1 + rng.int(2 * chunkSize);
      builder.update(data.subarray(at, at + take));
      at += take;
    }
    const { manifest } = builder.finish("file.bin");
    const ref = await reference(data, chunkSize);
    const what = `${size} bytes, chunks of ${chunkSize}`;
    assert.deepStrictEqual(manifest.piecesRoot, ref.root, what);
    const layer = new Uint8Array(ref.layer.length * HASH_BYTES);
    ref.layer.forEach((hash, i) => layer.set(hash, i * HASH_BYTES));
    assert.deepStrictEqual(manifest.chunkHashes, layer, what);
    for (let i = 0; i < manifest.chunkCount; i++) {
      const start = i * chunkSize;
      const bytes = data.subarray(start, start + chunkLength(manifest, i));
      assert.deepStrictEqual(
        chunkDigest(manifest, bytes),
        ref.layer[i],
        `${what}, chunk ${i}`,
      );
    }
  }
});

Deno.test("ManifestBuilder counts chunks at the chunk-size edges", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 1],
    [CHUNK - 1, 1],
    [CHUNK, 1],
    [CHUNK + 1, 2],
    [2 * CHUNK, 2],
    [2 * CHUNK + 1, 3],
  ];
  for (const [size, count] of cases) {
    const { manifest, bytes } = build(new Uint8Array(size));
    assert.equal(manifest.chunkCount, count, `size ${size}`);
    assert.equal(chunkCountFor(size, CHUNK), count);
    assert.equal(manifest.chunkHashes.byteLength, count * HASH_BYTES);
    if (count > 0) {
      assert.equal(
        chunkLength(manifest, count - 1),
        size - (count - 1) * CHUNK,
      );
    }
    assert.deepStrictEqual(parseManifest(bytes), manifest);
  }
});

// --- The streaming builder ----------------------------------------------------

Deno.test("ManifestBuilder fed in odd slice sizes gives the same result as one update", () => {
  const chunkSize = 32 * KIB;
  const odd = fc.oneof(
    fc.constantFrom(0, 1, 7, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1),
    fc.constantFrom(chunkSize - 1, chunkSize, chunkSize + 1),
    fc.integer({ min: 0, max: 3 * chunkSize }),
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 0, max: 5 * chunkSize + 17 }),
        fc.constantFrom(1, chunkSize - 1, chunkSize, chunkSize + 1),
      ),
      fc.integer(),
      fc.array(odd, { maxLength: 12 }),
      (size, seed, slices) => {
        const data = new Rng(seed).bytes(size);
        const whole = build(data, { chunkSize });
        assert.deepStrictEqual(build(data, { chunkSize, slices }), whole);
        assert.equal(whole.manifest.size, size);
        assert.equal(
          whole.manifest.chunkCount,
          chunkCountFor(size, chunkSize),
        );
        if (size > 0) {
          const reference = fileMerkle(data, chunkSize)!;
          assert.deepStrictEqual(
            whole.manifest.piecesRoot,
            reference.piecesRoot,
          );
        }
      },
    ),
    { seed: 0x5348_0201, numRuns: 60 },
  );
});

Deno.test("ManifestBuilder gives the same manifest whatever size it was told to expect", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 70 * CHUNK + 17 }),
      fc.integer(),
      fc.integer({ min: -1, max: 80 * CHUNK }),
      (size, seed, expectedBytes) => {
        const data = new Rng(seed).bytes(size);
        const hinted = new ManifestBuilder(CHUNK, { expectedBytes });
        hinted.update(data);
        const built = hinted.finish("file.bin");
        assert.deepStrictEqual(built, build(data));
        // Exactly the chunk hashes, never the rest of a larger buffer.
        assert.equal(
          built.manifest.chunkHashes.buffer.byteLength,
          built.manifest.chunkCount * 32,
        );
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("ManifestBuilder refuses chunk sizes that are not powers of two in range", () => {
  for (
    const size of [
      0,
      1,
      MIN_CHUNK_BYTES / 2,
      MIN_CHUNK_BYTES + 1,
      3 * 8192,
      MAX_CHUNK_BYTES * 2,
    ]
  ) {
    assert.throws(() => new ManifestBuilder(size), RangeError);
  }
  new ManifestBuilder(MIN_CHUNK_BYTES);
  new ManifestBuilder(MAX_CHUNK_BYTES);
});

Deno.test("ManifestBuilder.finish() refuses an unsafe name", () => {
  for (const name of ["../x", "a/b", "", "a\u0000b"]) {
    const builder = new ManifestBuilder(CHUNK);
    builder.update(new Uint8Array(3));
    assert.throws(() => builder.finish(name), TypeError, name);
  }
});

Deno.test({
  name: "ManifestBuilder refuses a file one byte past the chunk-count limit",
  // Hashes 4 GiB (seconds of one CPU), which starves the timing-sensitive
  // swarm tests that run beside it; run with SHOAL_SLOW_TESTS=1.
  ignore: !Deno.env.get("SHOAL_SLOW_TESTS"),
  fn() {
    const block = new Uint8Array(64 * 1024 * 1024);
    const blocks = (MAX_CHUNK_COUNT * CHUNK) / block.byteLength;
    const builder = new ManifestBuilder(CHUNK);
    for (let i = 0; i < blocks; i++) builder.update(block);
    assert.throws(() => builder.update(new Uint8Array(1)), RangeError);
  },
});

// --- Chunk checks -------------------------------------------------------------

Deno.test("chunkDigest() and chunkMatches() accept the right bytes and refuse changed, short or long ones", () => {
  const rng = new Rng(6);
  for (
    const [size, chunkSize] of [
      [5000, CHUNK], // one short chunk
      [40 * KIB, 128 * KIB], // one chunk of 3 blocks
      [3 * 32 * KIB + 1, 32 * KIB], // a 1-byte last chunk
      [2 * 64 * KIB, 64 * KIB], // exact multiple
      [5 * 32 * KIB - 100, 32 * KIB],
    ] as const
  ) {
    const data = rng.bytes(size);
    const { manifest } = build(data, { chunkSize });
    for (let i = 0; i < manifest.chunkCount; i++) {
      const what = `chunk ${i} of ${size} bytes in chunks of ${chunkSize}`;
      const start = i * chunkSize;
      const chunk = data.slice(start, start + chunkLength(manifest, i));
      assert.deepStrictEqual(
        chunkDigest(manifest, chunk),
        chunkHash(manifest, i),
        what,
      );
      assert.ok(chunkMatches(manifest, i, chunk), what);
      const flipped = chunk.slice();
      flipped[rng.int(flipped.byteLength)]! ^= 1 << rng.int(8);
      assert.notDeepStrictEqual(
        chunkDigest(manifest, flipped),
        chunkHash(manifest, i),
        what,
      );
      assert.ok(!chunkMatches(manifest, i, flipped), what);
      assert.ok(
        !chunkMatches(manifest, i, chunk.subarray(1)),
        `${what}, short`,
      );
      assert.ok(
        !chunkMatches(manifest, i, chunk.subarray(0, -1)),
        `${what}, short`,
      );
      const long = new Uint8Array(chunk.byteLength + 1);
      long.set(chunk);
      assert.ok(!chunkMatches(manifest, i, long), `${what}, long`);
      // The right bytes at the wrong index.
      if (manifest.chunkCount > 1) {
        assert.ok(
          !chunkMatches(manifest, (i + 1) % manifest.chunkCount, chunk),
          what,
        );
      }
    }
    const first = data.subarray(0, chunkLength(manifest, 0));
    assert.ok(!chunkMatches(manifest, -1, first));
    assert.ok(!chunkMatches(manifest, manifest.chunkCount, first));
    assert.ok(!chunkMatches(manifest, 0, new Uint8Array()));
  }
});

Deno.test("chunkSizeFor() keeps 512 KiB chunks up to 128 GiB, then doubles them, up to 1 TiB", () => {
  const GiB = 2 ** 30;
  assert.equal(chunkSizeFor(0), 512 * 1024);
  assert.equal(chunkSizeFor(128 * GiB), 512 * 1024);
  assert.equal(chunkSizeFor(128 * GiB + 1), 1024 * 1024);
  assert.equal(chunkSizeFor(256 * GiB), 1024 * 1024);
  assert.equal(chunkSizeFor(600 * GiB), 4 * 1024 * 1024);
  assert.equal(chunkSizeFor(1024 * GiB), MAX_CHUNK_BYTES);
  assert.equal(chunkSizeFor(1024 * GiB + 1), null);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1024 * GiB }), (size) => {
      const chunkSize = chunkSizeFor(size)!;
      assert.ok(chunkCountFor(size, chunkSize) <= MAX_CHUNK_COUNT);
      assert.ok(
        chunkSize === 512 * 1024 ||
          chunkCountFor(size, chunkSize / 2) > MAX_CHUNK_COUNT,
      );
    }),
  );
});

Deno.test("chunkLength() refuses an index outside the file", () => {
  const { manifest } = build(new Uint8Array(CHUNK + 1));
  assert.throws(() => chunkLength(manifest, 2), RangeError);
  assert.throws(() => chunkLength(manifest, -1), RangeError);
});

Deno.test("parseManifest() copies the chunk hashes unless asked for views of shared bytes", () => {
  const { bytes } = build(new Uint8Array(40_000).fill(5));
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  const copied = parseManifest(shared);
  const viewed = parseManifest(shared, { viewHashes: true });
  assert.deepEqual(viewed, copied);
  assert.equal(viewed.chunkHashes.buffer, shared.buffer);
  assert.notEqual(copied.chunkHashes.buffer, shared.buffer);
  assert.deepEqual(chunkHash(viewed, 2), chunkHash(copied, 2));
});

// --- Hostile manifests: a ProtocolError, never anything else -------------------

Deno.test("parseManifest() and fileIdOf() refuse every truncation", () => {
  const { bytes } = build(new Rng(7).bytes(CHUNK + 10), { name: "t.bin" });
  for (let cut = 0; cut < bytes.byteLength; cut++) {
    assertRejects(bytes.subarray(0, cut), undefined, undefined, `cut ${cut}`);
    assertProtocolError(
      () => fileIdOf(bytes.subarray(0, cut)),
      undefined,
      undefined,
      `cut ${cut}`,
    );
  }
  const longer = new Uint8Array(bytes.byteLength + 1);
  longer.set(bytes);
  assertRejects(longer, "trailing_bytes");
});

Deno.test("parseManifest() refuses values of the wrong type", () => {
  type Kind = "int" | "string" | "list" | "dict";
  const values: Record<Kind, BValue[]> = {
    int: [5n],
    string: [UTF8.encode("text")],
    list: [[], [1n]],
    dict: [new Map(), new Map([[k("a"), 1n]])],
  };
  type Set = (info: BDict, top: BDict, value: BValue) => void;
  const firstFile = (info: BDict) => {
    const tree = info.get(k("file tree")) as BDict;
    return [tree, [...tree.keys()][0]!] as const;
  };
  const paths: [string, Kind, Set][] = [
    ["info", "dict", (_info, top, v) => top.set(k("info"), v)],
    ["piece layers", "dict", (_info, top, v) => top.set(k("piece layers"), v)],
    ["the layer", "string", (_info, top, v) => {
      top.set(k("piece layers"), new Map([[layerOf(top)[0], v]]));
    }],
    ["file tree", "dict", (info, _top, v) => info.set(k("file tree"), v)],
    ["meta version", "int", (info, _top, v) => info.set(k("meta version"), v)],
    ["name", "string", (info, _top, v) => info.set(k("name"), v)],
    ["piece length", "int", (info, _top, v) => info.set(k("piece length"), v)],
    ["file tree entry", "dict", (info, _top, v) => {
      const [tree, name] = firstFile(info);
      tree.set(name, v);
    }],
    ["file entry", "dict", (info, _top, v) => {
      const [tree, name] = firstFile(info);
      tree.set(name, new Map([["", v]]));
    }],
    ["length", "int", (info, _top, v) => fileEntry(info).set(k("length"), v)],
    ["pieces root", "string", (info, _top, v) => {
      fileEntry(info).set(k("pieces root"), v);
    }],
  ];
  for (const [path, kind, set] of paths) {
    for (const [other, wrong] of Object.entries(values)) {
      if (other === kind) continue;
      for (const value of wrong) {
        assertRejects(
          edited(THREE.bytes, (info, top) => set(info, top, value)),
          "bad_manifest",
          undefined,
          `${path} = ${Deno.inspect(value)}`,
        );
      }
    }
  }
  // The top value itself.
  for (const top of ["i1e", "4:spam", "le", "de"]) {
    assertRejects(UTF8.encode(top), "bad_manifest", undefined, top);
  }
  // Missing keys.
  for (const key of ["file tree", "meta version", "name", "piece length"]) {
    assertRejects(
      edited(THREE.bytes, (info) => info.delete(k(key))),
      undefined,
      undefined,
      key,
    );
  }
  assertRejects(
    edited(THREE.bytes, (info) => fileEntry(info).delete(k("pieces root"))),
    "bad_manifest",
  );
  assertRejects(
    edited(THREE.bytes, (_info, top) => top.delete(k("piece layers"))),
    "bad_manifest",
  );
  // Not canonical bencode (keys out of order): the id would be ambiguous.
  const swapped = bkey(THREE.bytes).replace("4:info", "4:xxxx");
  assertRejects(bkeyBytes(swapped), "not_canonical");
});

Deno.test("parseManifest() refuses a v1-only torrent with bad_version, saying v2 is needed", () => {
  const v1Info: BDict = new Map<string, BValue>([
    [k("length"), 40_000n],
    [k("name"), UTF8.encode("old.bin")],
    [k("piece length"), 16_384n],
    [k("pieces"), new Uint8Array(60)],
  ]);
  const bytes = encodeBencode(new Map([[k("info"), v1Info]]));
  assertRejects(bytes, "bad_version", /v1.*v2 \(BEP 52\)/);
  // Other meta versions are refused too.
  for (const version of [0n, 1n, 3n, -2n]) {
    assertRejects(
      edited(THREE.bytes, (info) => info.set(k("meta version"), version)),
      "bad_version",
      /meta version/,
      String(version),
    );
  }
});

Deno.test("parseManifest() refuses several files and folders", () => {
  const tree = (info: BDict) => info.get(k("file tree")) as BDict;
  const twoFiles = edited(THREE.bytes, (info) => {
    const node = tree(info).get(k("three.bin"))!;
    tree(info).set(k("second.bin"), node);
  });
  assertRejects(twoFiles, "folder", /of 2 files, not one file/);
  const folder = edited(THREE.bytes, (info) => {
    const node = tree(info).get(k("three.bin"))!;
    info.set(
      k("file tree"),
      new Map([[k("dir"), new Map([[k("three.bin"), node]])]]),
    );
  });
  assertRejects(folder, "folder", /the folder "three.bin" of 1 file,/);
  const fileAndFolder = edited(THREE.bytes, (info) => {
    const node = tree(info).get(k("three.bin")) as BDict;
    node.set(k("inner.bin"), new Map(node));
  });
  assertRejects(fileAndFolder, "bad_manifest", /folder/);
  assertRejects(
    edited(THREE.bytes, (info) => info.set(k("file tree"), new Map())),
    "bad_manifest",
    /file tree is empty/,
  );
});

Deno.test("parseManifest() refuses names that are not one safe file name", () => {
  const names: Uint8Array[] = [
    UTF8.encode("../x"),
    UTF8.encode("a/b"),
    UTF8.encode("a\\b"),
    new Uint8Array(0),
    UTF8.encode("a\u0000b"),
    UTF8.encode("."),
    UTF8.encode(".."),
    UTF8.encode(".hidden"),
    UTF8.encode("CON"),
    UTF8.encode("x".repeat(256)),
    UTF8.encode("invoice\u202efdp.exe"),
    new Uint8Array([0xff, 0xfe]),
  ];
  for (const name of names) {
    const bytes = edited(THREE.bytes, (info) => {
      const tree = info.get(k("file tree")) as BDict;
      const [node] = tree.values();
      info.set(k("file tree"), new Map([[bkey(name), node!]]));
    });
    assertRejects(bytes, "bad_string", /file name/, JSON.stringify(name));
  }
  // The same edit with a good name still parses, so the test is sound.
  const good = edited(THREE.bytes, (info) => {
    const tree = info.get(k("file tree")) as BDict;
    const [node] = tree.values();
    info.set(k("file tree"), new Map([[k("good.bin"), node!]]));
  });
  assert.equal(parseManifest(good).name, "good.bin");
});

Deno.test("parseManifest() refuses a piece length that is not a power of two in range", () => {
  // A one-chunk file, so no piece layer has to change with the piece length.
  const { bytes } = build(new Uint8Array(5000));
  for (
    const length of [
      0n,
      1n,
      3n,
      -16_384n,
      BigInt(MIN_CHUNK_BYTES - 1),
      BigInt(MIN_CHUNK_BYTES / 2),
      BigInt(MIN_CHUNK_BYTES + 1),
      24_576n,
      BigInt(MAX_CHUNK_BYTES * 2),
      2n ** 32n,
      2n ** 62n,
    ]
  ) {
    assertRejects(
      edited(bytes, (info) => info.set(k("piece length"), length)),
      "bad_manifest",
      /piece length/,
      String(length),
    );
  }
  for (const ok of [MIN_CHUNK_BYTES, 64 * KIB, MAX_CHUNK_BYTES]) {
    const good = edited(
      bytes,
      (info) => info.set(k("piece length"), BigInt(ok)),
    );
    assert.equal(parseManifest(good).chunkSize, ok);
  }
});

Deno.test("parseManifest() refuses sizes out of range", () => {
  const { bytes } = build(new Uint8Array(5000));
  for (
    const length of [-1n, BigInt(MAX_FILE_BYTES) + 1n, 2n ** 62n]
  ) {
    assertRejects(
      edited(bytes, (info) => fileEntry(info).set(k("length"), length)),
      "bad_manifest",
      /length/,
      String(length),
    );
  }
  // Within MAX_FILE_BYTES, but more than MAX_CHUNK_COUNT chunks.
  assertRejects(
    edited(
      bytes,
      (info) =>
        fileEntry(info).set(k("length"), BigInt(MAX_CHUNK_COUNT * CHUNK + 1)),
    ),
    "bad_manifest",
    /chunks/,
  );
});

Deno.test("parseManifest() refuses a piece layer of the wrong length", () => {
  const [root, layer] = layerOf(decodeDict(THREE.bytes));
  const badLayers = [
    layer.subarray(0, -HASH_BYTES),
    layer.subarray(0, -1),
    new Uint8Array([...layer, ...layer.subarray(0, HASH_BYTES)]),
    new Uint8Array([...layer, 0]),
    new Uint8Array(),
  ];
  for (const bad of badLayers) {
    assertRejects(
      edited(THREE.bytes, (_info, top) => {
        top.set(k("piece layers"), new Map([[root, bad]]));
      }),
      "bad_manifest",
      /piece layer has/,
      `${bad.byteLength} bytes`,
    );
  }
});

Deno.test("parseManifest() refuses a piece layer that does not hash to the pieces root", () => {
  const [root, layer] = layerOf(decodeDict(THREE.bytes));
  for (let i = 0; i < layer.byteLength; i += 37) {
    const bad = layer.slice();
    bad[i]! ^= 0x80;
    assertRejects(
      edited(THREE.bytes, (_info, top) => {
        top.set(k("piece layers"), new Map([[root, bad]]));
      }),
      "bad_manifest",
      /does not hash to the pieces root/,
      `byte ${i}`,
    );
  }
  // A self-consistent layer under another root does not match the file.
  const otherRoot = sha256(UTF8.encode("another root"));
  assertRejects(
    edited(THREE.bytes, (info) => {
      fileEntry(info).set(k("pieces root"), otherRoot);
    }),
    "bad_manifest",
    /no piece layer/,
  );
  assertRejects(
    edited(THREE.bytes, (info, top) => {
      fileEntry(info).set(k("pieces root"), otherRoot);
      top.set(k("piece layers"), new Map([[bkey(otherRoot), layer]]));
    }),
    "bad_manifest",
    /does not hash to the pieces root/,
  );
  // A pieces root that is not 32 bytes.
  assertRejects(
    edited(THREE.bytes, (info) => {
      fileEntry(info).set(k("pieces root"), new Uint8Array(31));
    }),
    "bad_manifest",
    /pieces root/,
  );
});

Deno.test("parseManifest() and fileIdOf() refuse oversize input before reading it", () => {
  const big = new Uint8Array(MAX_MANIFEST_BYTES + 1);
  big.set(THREE.bytes);
  assertRejects(big, "too_long", /at most/);
  assertProtocolError(() => fileIdOf(big), "too_long");
});

Deno.test("fileIdOf() refuses bytes that are not a dictionary with an info dictionary", () => {
  for (
    const text of [
      "",
      "garbage",
      "i1e",
      "de",
      "d4:infoi1ee",
      "d4:info4:spame",
      "d4:infole4:infodee",
      "d4:infodee4:tail",
    ]
  ) {
    assertProtocolError(
      () => fileIdOf(UTF8.encode(text)),
      undefined,
      undefined,
      text,
    );
  }
  // Any info dictionary is hashed as it is, whether or not it is valid.
  assert.deepStrictEqual(
    fileIdOf(UTF8.encode("d4:infodee")),
    sha256(UTF8.encode("de")),
  );
});

Deno.test("parseManifest() gives a Manifest or a ProtocolError for mutated manifests", () => {
  fc.assert(
    fc.property(mutatedArb(manifestBytesArb), (bytes) => {
      outcomeOf(() => parseManifest(bytes), (manifest: Manifest) => {
        assert.deepStrictEqual(
          parseManifest(encodeManifest(manifest)),
          manifest,
        );
        return "manifest";
      });
    }),
    { seed: 0x5348_0203, numRuns: 2000 },
  );
});

Deno.test("parseManifest() hashes the piece layer unless the caller checked these bytes already", () => {
  const builder = new ManifestBuilder(16 * 1024);
  builder.update(new Uint8Array(40 * 1024).fill(9));
  const { bytes, manifest } = builder.finish("layer.bin");
  // Change one byte of the last chunk hash: the layer no longer hashes to the root.
  const tampered = bytes.slice();
  const at = bytes.byteLength - 3;
  tampered[at] = tampered[at]! ^ 1;
  assert.throws(
    () => parseManifest(tampered),
    (error: unknown) =>
      error instanceof ProtocolError && /pieces root/.test(error.message),
  );
  // A worker handed the download's own checked copy skips that work.
  assert.equal(
    parseManifest(bytes, { layerChecked: true }).chunkCount,
    manifest.chunkCount,
  );
});

Deno.test("ManifestBuilder.reset() hashes file after file as fresh builders do, and leaves earlier results intact", () => {
  const chunk = 16 * 1024;
  const sizes = [0, 1, chunk, 3 * chunk, chunk + 1, 40_000, 2 * chunk];
  // Sized for one hash: a one-chunk result is that very buffer.
  const reused = new ManifestBuilder(chunk, { expectedBytes: 1 });
  const results = sizes.map((size, i) => {
    const bytes = new Uint8Array(size).fill(i + 1);
    reused.reset(size);
    reused.update(bytes);
    const got = reused.finishFile();
    const fresh = new ManifestBuilder(chunk);
    fresh.update(bytes);
    assert.deepStrictEqual(
      { name: "x", ...got },
      fresh.finish("x").manifest,
      `size ${size}`,
    );
    return { got, copy: structuredClone(got) };
  });
  // A later file never wrote into an earlier one's hashes.
  for (const { got, copy } of results) assert.deepStrictEqual(got, copy);
});
