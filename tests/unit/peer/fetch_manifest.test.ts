/**
 * fetchManifest against a minimal Shoal peer on loopback (it answers the
 * handshake and sends the manifest, whatever it is asked), and
 * fetchBtManifest against a fake BitTorrent seeder.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  concatBytes,
  createMessage,
  fileIdOf,
  ManifestBuilder,
  type Message,
} from "@shoal/protocol";
import {
  fetchManifest,
  ManifestMismatchError,
  ManifestNotNeededError,
} from "../../../peer/wire/fetch_manifest.ts";
import { fetchBtManifest } from "../../../peer/wire/bt_fetch_manifest.ts";
import { writeAll } from "../../../peer/wire/write_all.ts";
import {
  type FakeBtBehaviour,
  type FakeBtSeeder,
  startFakeBtSeeder,
} from "../../_helpers/fake_bt_seeder.ts";
import { manifestOf } from "../../_helpers/fake_seeder.ts";

/** A 5-chunk file's manifest and its id. */
function sampleManifest(): { bytes: Uint8Array; fileId: Uint8Array } {
  const builder = new ManifestBuilder(16 * 1024);
  builder.update(new Uint8Array(5 * 16 * 1024).fill(4));
  const { bytes } = builder.finish("sample.bin");
  return { bytes, fileId: fileIdOf(bytes) };
}

/**
 * Serves one connection: ACK, BITFIELD and the manifest in one write, then
 * waits for the other side to close.
 */
async function withPeer(
  manifest: Uint8Array,
  run: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const reply: Message[] = [
      { kind: "ack", txid: 0, intervalSeconds: 0 },
      { kind: "bitfield", txid: 0, bits: new Uint8Array([0xf8]) },
      { kind: "manifest", txid: 1, bytes: manifest },
    ];
    try {
      await writeAll(
        conn,
        concatBytes(reply.map((message) => createMessage(message))),
      );
      // Until the client hangs up.
      for (const buffer = new Uint8Array(1024); await conn.read(buffer);) {
        // Its handshake and GET_MANIFEST: nothing to do with them.
      }
    } catch {
      // Closed under us: done either way.
    } finally {
      conn.close();
    }
  })();
  try {
    await run((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    await served;
  }
}

const peerId = new Uint8Array(16).fill(1);

Deno.test("fetchManifest() reports the moment a manifest has passed its checks", async () => {
  const { bytes, fileId } = sampleManifest();
  await withPeer(bytes, async (port) => {
    let checks = 0;
    const got = await fetchManifest({ host: "127.0.0.1", port }, fileId, {
      peerId,
      wanted: () => true,
      checked: () => checks++,
    });
    assert.deepEqual(got.bytes, bytes);
    assert.equal(got.manifest.chunkCount, 5);
    assert.equal(checks, 1);
  });
});

Deno.test("fetchManifest() drops a manifest unchecked once another peer's has passed", async () => {
  const { bytes, fileId } = sampleManifest();
  await withPeer(bytes, async (port) => {
    let checks = 0;
    await assert.rejects(
      fetchManifest({ host: "127.0.0.1", port }, fileId, {
        peerId,
        wanted: () => false,
        checked: () => checks++,
      }),
      ManifestNotNeededError,
    );
    assert.equal(checks, 0);
  });
});

/** A 40-piece file (its piece layer takes hash requests) served by a fake BitTorrent seeder. */
async function withBtSeeder(
  behaviour: FakeBtBehaviour,
  run: (
    seeder: FakeBtSeeder,
    built: ReturnType<typeof manifestOf>,
  ) => Promise<void>,
): Promise<void> {
  const data = new Uint8Array(40 * 16 * 1024).map((_, i) => i * 7);
  const built = manifestOf(data, "layered.bin", 16 * 1024);
  const seeder = startFakeBtSeeder({
    behaviour,
    data,
    manifest: built.manifest,
    manifestBytes: built.bytes,
    id: built.id,
  });
  try {
    await run(seeder, built);
  } finally {
    await seeder.close();
  }
}

const btPeerId = new Uint8Array(20).fill(2);

/** fetchBtManifest from the fake seeder, counting its checked() calls. */
function fetchFrom(
  seeder: FakeBtSeeder,
  built: ReturnType<typeof manifestOf>,
  wanted: boolean,
) {
  const counted = { checks: 0 };
  const fetched = fetchBtManifest(
    { host: "127.0.0.1", port: seeder.port },
    built.id,
    { peerId: btPeerId, wanted: () => wanted, checked: () => counted.checks++ },
  );
  return { fetched, counted };
}

Deno.test("fetchBtManifest() proves the piece layer and reports the moment it has passed", async () => {
  await withBtSeeder("honest", async (seeder, built) => {
    const { fetched, counted } = fetchFrom(seeder, built, true);
    const got = await fetched;
    assert.deepEqual(got.manifest.chunkHashes, built.manifest.chunkHashes);
    assert.equal(got.manifest.chunkCount, 40);
    assert.ok(seeder.hashRequests > 0, "the layer came by hash requests");
    assert.equal(counted.checks, 1);
  });
});

Deno.test("fetchBtManifest() asks for no piece layer once another peer's manifest has passed", async () => {
  await withBtSeeder("honest", async (seeder, built) => {
    const { fetched, counted } = fetchFrom(seeder, built, false);
    await assert.rejects(fetched, ManifestNotNeededError);
    assert.ok(seeder.metadataRequests > 0, "the dictionary was asked for");
    assert.equal(seeder.hashRequests, 0);
    assert.equal(counted.checks, 0);
  });
});

Deno.test("fetchBtManifest() refuses a piece layer that does not prove, and never reports it checked", async () => {
  await withBtSeeder("lying_hashes", async (seeder, built) => {
    const { fetched, counted } = fetchFrom(seeder, built, true);
    await assert.rejects(fetched, ManifestMismatchError);
    assert.equal(counted.checks, 0);
  });
});
