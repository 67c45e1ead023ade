/**
 * Hostile file names, end to end: a fake seeder serves a manifest whose
 * bytes hash to the id the tracker announces but whose name is `../`, an
 * absolute path, NUL, a control character, a reserved device name, 300
 * bytes long, and so on. The real leecher process must fail at once with a
 * clear error and write nothing outside (or inside) its download folder.
 * Whatever is already in the download folder (a folder, a link, a user's
 * file named like a part file) stays untouched: the download lands under
 * the next free name.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  type BDict,
  bkey,
  type BValue,
  encodeBencode,
  fileIdOf,
  fileMerkle,
  HASH_BYTES,
  toHex,
} from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";

const CHUNK = 16 * 1024;

/**
 * Canonical manifest bytes (a BEP 52 info dictionary and piece layer) with
 * any name bytes, as a hostile peer would send them (encodeManifest refuses
 * unsafe names).
 */
function craftManifest(nameBytes: Uint8Array, data: Uint8Array): Uint8Array {
  const tree = fileMerkle(data, CHUNK)!;
  const key = (text: string) => bkey(new TextEncoder().encode(text));
  const layer = new Uint8Array(tree.pieceHashes.length * HASH_BYTES);
  tree.pieceHashes.forEach((hash, i) => layer.set(hash, i * HASH_BYTES));
  const info: BDict = new Map<string, BValue>([
    [
      key("file tree"),
      new Map([[
        bkey(nameBytes),
        new Map([[
          "",
          new Map<string, BValue>([
            [key("length"), BigInt(data.byteLength)],
            [key("pieces root"), tree.piecesRoot],
          ]),
        ]]),
      ]]),
    ],
    [key("meta version"), 2n],
    [key("name"), nameBytes],
    [key("piece length"), BigInt(CHUNK)],
  ]);
  const layers: BDict = tree.pieceHashes.length > 1
    ? new Map([[bkey(tree.piecesRoot), layer]])
    : new Map();
  return encodeBencode(
    new Map<string, BValue>([[key("info"), info], [
      key("piece layers"),
      layers,
    ]]),
  );
}

const utf8 = (text: string) => new TextEncoder().encode(text);

const HOSTILE_NAMES: [string, Uint8Array][] = [
  ["parent folder", utf8("../escape.bin")],
  ["deep parent", utf8("../../../../../../tmp/shoal-escape.bin")],
  ["absolute path", utf8("/tmp/shoal-escape-abs.bin")],
  ["subfolder", utf8("sub/inner.bin")],
  ["backslash", utf8("..\\escape.bin")],
  ["NUL", utf8("a\u0000b.bin")],
  ["control character", utf8("a\u001bb.bin")],
  ["reserved name", utf8("CON")],
  ["reserved name with extension", utf8("nul.txt")],
  ["dot dot", utf8("..")],
  ["dot", utf8(".")],
  ["empty", new Uint8Array(0)],
  ["hidden", utf8(".bashrc")],
  ["trailing dot", utf8("evil.")],
  ["300 bytes", utf8("x".repeat(300))],
  ["invalid UTF-8", new Uint8Array([0x61, 0xff, 0xfe, 0x62])],
  ["drive letter", utf8("C:evil.bin")],
];

Deno.test("a leecher refuses every hostile file name at once and writes nothing", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(3 * CHUNK + 5).fill(0x42);
  const seeders = HOSTILE_NAMES.map(([, name]) => {
    const manifestBytes = craftManifest(name, data);
    return {
      id: fileIdOf(manifestBytes),
      seeder: h.startFakeSeeder({
        behaviour: "raw_manifest",
        data,
        manifestBytes,
        manifest: null,
      }),
    };
  });
  try {
    seeders.forEach(({ id, seeder }, i) => {
      // The tracker only ever sees a safe name; the lie is in the manifest.
      h.listOnTracker(tracker, seeder.port, {
        id,
        name: `innocent-${i}.bin`,
        size: data.byteLength,
        chunkCount: 4,
      });
    });
    // Each download folder sits two levels down, so "../" has somewhere to
    // go; one each, as one folder has one peer at a time.
    const outs = seeders.map((_, i) => join(dir.path, "a", "b", `out-${i}`));
    const runs = await Promise.all(
      seeders.map(({ id }, i) =>
        h.spawnLeecher(tracker, toHex(id), outs[i]!, 20).done(40_000)
      ),
    );
    if (Deno.env.get("SHOAL_TEST_DEBUG")) {
      // deno-lint-ignore no-console
      console.log(runs.map((r) => r.stderr).join(""));
    }
    runs.forEach((result, i) => {
      const [label] = HOSTILE_NAMES[i]!;
      assert.equal(result.code, 6, `${label}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /^error: Cannot download .*invalid manifest.*file name/m,
        label,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, `${label}: a stack trace`);
    });
    // Nothing anywhere under the temporary folder but the state folder.
    const found: string[] = [];
    const walk = async (path: string) => {
      for await (const entry of Deno.readDir(path)) {
        const full = join(path, entry.name);
        if (entry.name === ".shoal") continue;
        if (entry.isDirectory) await walk(full);
        else found.push(full);
      }
    };
    await walk(dir.path);
    assert.deepEqual(found, []);
    await assert.rejects(
      Deno.stat("/tmp/shoal-escape.bin"),
      Deno.errors.NotFound,
    );
    await assert.rejects(
      Deno.stat("/tmp/shoal-escape-abs.bin"),
      Deno.errors.NotFound,
    );
    await assert.rejects(
      Deno.stat(join(dirname(outs[0]!), "escape.bin")),
      Deno.errors.NotFound,
    );
  } finally {
    await Promise.all(seeders.map(({ seeder }) => seeder.close()));
  }
});

Deno.test("what is in the way of a download stays untouched and the file lands under the next free name", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const data = new Uint8Array(2 * CHUNK).fill(0x17);
  // A name of 255 bytes: its part file, and its numbered names, must still
  // fit the file system's limit.
  const longName = `${"n".repeat(251)}.bin`;
  const cases = ["folder.bin", "link.bin", "partdir.bin", "a.bin", longName];
  const seeders = cases.map((name) => {
    const built = h.manifestOf(data, name, CHUNK);
    return {
      built,
      seeder: h.listedFake(tracker, data, built, { behaviour: "honest" }),
    };
  });
  try {
    const out = join(dir.path, "out");
    await Deno.mkdir(join(out, "folder.bin"), { recursive: true });
    const victim = join(dir.path, "victim.txt");
    await Deno.writeTextFile(victim, "keep me");
    await Deno.symlink(victim, join(out, "link.bin"));
    await Deno.mkdir(join(out, "partdir.bin.part"));
    // A user's own file that happens to be called like a part file (a
    // finished download of "a.bin.part", say), with no resume state.
    const users = join(out, "a.bin.part");
    await Deno.writeTextFile(users, "the user's file");
    await Deno.writeTextFile(join(out, longName), "taken");
    // One after another: one folder has one peer at a time.
    const runs = [];
    for (const { built } of seeders) {
      runs.push(
        await h.spawnLeecher(tracker, toHex(built.id), out, 20).done(40_000),
      );
    }
    runs.forEach((result, i) => {
      assert.equal(result.code, 0, `${cases[i]}: ${result.stderr}`);
    });
    const expected = [
      "folder (2).bin",
      "link (2).bin",
      "partdir.bin",
      "a.bin",
      `${"n".repeat(251 - 4)} (2).bin`,
    ];
    for (const name of expected) {
      assert.deepEqual(
        await Deno.readFile(join(out, name)),
        data,
        `${name} holds the download`,
      );
    }
    assert.equal(await Deno.readTextFile(victim), "keep me");
    assert.ok((await Deno.lstat(join(out, "link.bin"))).isSymlink);
    assert.ok((await Deno.stat(join(out, "folder.bin"))).isDirectory);
    assert.ok((await Deno.stat(join(out, "partdir.bin.part"))).isDirectory);
    assert.equal(await Deno.readTextFile(users), "the user's file");
    assert.equal(await Deno.readTextFile(join(out, longName)), "taken");
  } finally {
    await Promise.all(seeders.map(({ seeder }) => seeder.close()));
  }
});
