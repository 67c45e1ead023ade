import assert from "node:assert/strict";
import { join } from "node:path";
import {
  encodeTorrent,
  fileIdOf,
  ManifestBuilder,
  MAX_TORRENT_BYTES,
  toHex,
} from "@shoal/protocol";
import { LinkError, openGetTarget } from "../../../peer/get_link.ts";
import { badMagnets, badTorrents } from "../../_helpers/bad_links.ts";

/** A torrent of a three-chunk file, naming one tracker. */
function goodTorrent(): { bytes: Uint8Array; manifestBytes: Uint8Array } {
  const builder = new ManifestBuilder();
  builder.update(new Uint8Array(3 * 512 * 1024 - 5).fill(9));
  const { bytes: manifestBytes } = builder.finish("a.bin");
  return {
    bytes: encodeTorrent(manifestBytes, ["udp://127.0.0.1:7/announce"]),
    manifestBytes,
  };
}

Deno.test("openGetTarget() gives a .torrent's id, manifest and trackers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = goodTorrent();
    const path = join(dir, "a.bin.torrent");
    await Deno.writeFile(path, good.bytes);
    const opened = await openGetTarget({ kind: "torrent", path });
    assert.deepEqual(opened.query, { id: fileIdOf(good.manifestBytes) });
    assert.deepEqual(opened.manifestBytes, good.manifestBytes);
    assert.deepEqual(opened.trackers, ["udp://127.0.0.1:7/announce"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openGetTarget() gives a magnet link's id and trackers, no manifest", async () => {
  const id = new Uint8Array(32).fill(0xab);
  const opened = await openGetTarget({
    kind: "magnet",
    link: `magnet:?xt=urn:btmh:1220${toHex(id)}&dn=a.bin&tr=udp%3A%2F%2Fh%3A1`,
  });
  assert.deepEqual(opened, { query: { id }, trackers: ["udp://h:1"] });
});

Deno.test("openGetTarget() refuses each class of bad .torrent with one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = {
      ...badTorrents(goodTorrent().bytes),
      "too large": new Uint8Array(MAX_TORRENT_BYTES + 1),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const path = join(dir, `${name}.torrent`);
      await Deno.writeFile(path, bytes);
      await assert.rejects(
        openGetTarget({ kind: "torrent", path }),
        (error: unknown) =>
          error instanceof LinkError && !error.message.includes("\n") &&
          error.message.startsWith(`Cannot use ${path}: `),
        name,
      );
    }
    for (const path of [join(dir, "missing.torrent"), dir]) {
      await assert.rejects(
        openGetTarget({ kind: "torrent", path }),
        LinkError,
        path,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openGetTarget() names the v1 problem and the escaping name plainly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = badTorrents(goodTorrent().bytes);
    const message = async (name: string) => {
      const path = join(dir, "t.torrent");
      await Deno.writeFile(path, bad[name]!);
      try {
        await openGetTarget({ kind: "torrent", path });
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    };
    assert.match(
      await message("v1-only"),
      /BitTorrent v1 torrent; Shoal needs v2/,
    );
    assert.match(
      await message("a name that escapes the folder"),
      /file name contains a forbidden character/,
    );
    // A hostile folder is named by the rule it breaks.
    assert.match(
      await message("a folder path that escapes"),
      /name "\.\." is a relative folder/,
    );
    assert.match(
      await message("a folder whose names collide"),
      /"A.bin" and "a.bin" would be one file on a case-insensitive file system/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openGetTarget() refuses each class of bad magnet link with one line", async () => {
  for (
    const [name, link] of Object.entries(badMagnets(new Uint8Array(32).fill(1)))
  ) {
    await assert.rejects(
      openGetTarget({ kind: "magnet", link }),
      (error: unknown) =>
        error instanceof LinkError && !error.message.includes("\n") &&
        error.message.startsWith("Cannot use the magnet link: "),
      name,
    );
  }
});
