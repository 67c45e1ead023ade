/**
 * The proof that a Shoal file is a BitTorrent v2 torrent: over many file
 * sizes (the awkward ones included) and piece lengths, Shoal's id is the v2
 * infohash libtorrent 2.0.8 computes, Shoal reads libtorrent's `.torrent`
 * as its own manifest, and libtorrent reads Shoal's `.torrent` with the same
 * infohash. One python run (tests/fixtures/lt_make_torrent.py) does all of
 * libtorrent's work. Skipped, with a note, when /usr/bin/python3 cannot
 * import libtorrent (Debian: apt-get install python3-libtorrent).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeTorrent,
  type Manifest,
  ManifestBuilder,
  parseTorrent,
  toHex,
} from "@shoal/protocol";
import { Rng } from "../../../bench/_protocol_inputs.ts";
import {
  hasLibtorrent,
  LT_PYTHON,
  ltFixture,
} from "../../_helpers/libtorrent.ts";

const PYTHON = LT_PYTHON;
const SCRIPT = ltFixture("lt_make_torrent.py");
const HAS_LIBTORRENT = await hasLibtorrent("the libtorrent v2 cross-check");

const KIB = 1024;
const MIB = 1024 * KIB;
const BLOCK = 16 * KIB;
const PIECE_LENGTHS = [16 * KIB, 32 * KIB, 512 * KIB, 1 * MIB, 4 * MIB];
const TRACKER = "udp://127.0.0.1:6969/announce";

/**
 * The sizes tried for one piece length: block and piece edges, a few MB. No
 * empty file: libtorrent 2.0.8 neither makes nor reads a torrent of one
 * ("invalid length of torrent"); manifest.test.ts covers it.
 */
function sizesFor(piece: number, rng: Rng): number[] {
  const sizes = [
    1,
    BLOCK - 1,
    BLOCK,
    BLOCK + 1,
    40 * KIB, // 3 blocks: a one-piece file pads to 4 leaves
    piece - 1,
    piece,
    piece + 1,
    2 * piece,
    3 * piece,
    3 * piece + 1,
    3 * MIB + 12_345,
    // Two more, anywhere in the first 5 pieces.
    1 + rng.int(5 * piece),
    1 + rng.int(5 * piece),
  ];
  return [...new Set(sizes)].sort((a, b) => a - b);
}

interface Case {
  name: string;
  size: number;
  piece: number;
  /** What Shoal built. */
  id: Uint8Array;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  /** libtorrent's v2 infohash of its own torrent of the file. */
  ltId: string;
  /** libtorrent's `.torrent` of the file. */
  ltTorrent: Uint8Array;
  /** libtorrent's reading of Shoal's `.torrent`: infohash, pieces, size, name. */
  ltRead: string;
}

/** Builds a manifest as a peer does: streamed, in slices that cut blocks. */
function buildShoal(data: Uint8Array, piece: number, name: string) {
  const builder = new ManifestBuilder(piece, { expectedBytes: data.length });
  for (let at = 0; at < data.byteLength; at += 65_537) {
    builder.update(data.subarray(at, at + 65_537));
  }
  return builder.finish(name);
}

async function runLibtorrent(jobs: string[]): Promise<string[]> {
  const child = new Deno.Command(PYTHON, {
    args: [SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(jobs.join("\n") + "\n"));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder();
  assert.ok(out.success, text.decode(out.stderr));
  const lines = text.decode(out.stdout).trimEnd().split("\n");
  assert.equal(lines.length, jobs.length, text.decode(out.stdout));
  return lines;
}

let cases: Promise<Case[]> | null = null;

/** Makes the files, Shoal's and libtorrent's torrents, once for all tests. */
function crossCheck(): Promise<Case[]> {
  cases ??= (async () => {
    const rng = new Rng(52);
    const plan = PIECE_LENGTHS.flatMap((piece) =>
      sizesFor(piece, rng).map((size) => ({ size, piece }))
    );
    const largest = Math.max(...plan.map((p) => p.size));
    // One seeded buffer; each file starts at its own offset in it.
    const source = rng.bytes(largest + 64 * KIB);
    const dir = await Deno.makeTempDir({ prefix: "shoal-lt-" });
    try {
      const built: Omit<Case, "ltId" | "ltTorrent" | "ltRead">[] = [];
      const jobs: string[] = [];
      for (const [i, { size, piece }] of plan.entries()) {
        const name = `f${size}-p${piece}.bin`;
        const offset = (i * 4099) % (64 * KIB);
        const data = source.subarray(offset, offset + size);
        await Deno.writeFile(join(dir, name), data);
        const shoal = buildShoal(data, piece, name);
        await Deno.writeFile(
          join(dir, `${name}.shoal.torrent`),
          encodeTorrent(shoal.bytes, [TRACKER]),
        );
        built.push({
          name,
          size,
          piece,
          id: shoal.id,
          manifest: shoal.manifest,
          manifestBytes: shoal.bytes,
        });
        jobs.push(
          `make ${piece} ${join(dir, name)} ${join(dir, `${name}.lt.torrent`)}`,
          `read ${join(dir, `${name}.shoal.torrent`)}`,
        );
      }
      const answers = await runLibtorrent(jobs);
      return await Promise.all(built.map(async (c, i) => ({
        ...c,
        ltId: answers[2 * i]!,
        ltRead: answers[2 * i + 1]!,
        ltTorrent: await Deno.readFile(join(dir, `${c.name}.lt.torrent`)),
      })));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return cases;
}

Deno.test({
  name:
    "ManifestBuilder's id is libtorrent's v2 infohash over many sizes and piece lengths",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    const all = await crossCheck();
    assert.ok(all.length >= 60, `${all.length} cases`);
    for (const c of all) {
      assert.equal(
        toHex(c.id),
        c.ltId,
        `${c.size} bytes, pieces of ${c.piece}`,
      );
    }
  },
});

Deno.test({
  name: "parseTorrent() reads libtorrent's .torrent as Shoal's own manifest",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    for (const c of await crossCheck()) {
      const what = `${c.size} bytes, pieces of ${c.piece}`;
      const torrent = parseTorrent(c.ltTorrent);
      assert.equal(toHex(torrent.id), toHex(c.id), what);
      // Same chunk hashes (libtorrent's piece layer), same pieces root.
      assert.deepStrictEqual(torrent.manifest, c.manifest, what);
      assert.deepStrictEqual(torrent.trackers, [], what);
      if (c.manifest.chunkCount > 1) {
        assert.deepStrictEqual(torrent.manifestBytes, c.manifestBytes, what);
      }
    }
  },
});

Deno.test({
  name: "libtorrent reads encodeTorrent()'s .torrent with the same v2 infohash",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    for (const c of await crossCheck()) {
      assert.equal(
        c.ltRead,
        `${toHex(c.id)} ${c.manifest.chunkCount} ${c.size} ${c.name}`,
        `${c.size} bytes, pieces of ${c.piece}`,
      );
    }
  },
});
