/**
 * What the web page shows survives a restart of the real peer process: the
 * totals uploaded and downloaded (and so the ratio), and the rate limits and
 * upload slots set on the page. Both are kept in OUT/.shoal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";
import {
  peerApi,
  peerState,
  startUiPeer,
  stopPeer,
  type UiPeer,
} from "../_helpers/web_page.ts";

const SIZE = 3_000_000;

interface State {
  totals: {
    uploadedBytes: number;
    downloadedBytes: number;
    ratio: number | null;
  };
  limits: {
    maxUploadBytesPerSecond: number | null;
    maxDownloadBytesPerSecond: number | null;
    uploadSlots: number;
  };
}

function state(peer: UiPeer): Promise<State> {
  return peerState(peer);
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("web page: totals, ratio, rate limits and upload slots are kept across a restart of the peer", async () => {
  await using tracker = await h.startTracker();
  await using dir = await h.tempDir();
  const source = join(dir.path, "kept.bin");
  await h.makeFile(source, SIZE, 41);
  const seedDir = join(dir.path, "seeder");
  const leechDir = join(dir.path, "leecher");

  // A seeder with the page on; a command-line leecher takes the whole file.
  let seeder: UiPeer | null = await startUiPeer(tracker, seedDir, {
    args: ["--seed", source],
  });
  try {
    await seeder.waitFor(/^serving peers on port \d+/);
    const got = await h.spawnLeecher(tracker, "kept.bin", leechDir, 30)
      .done(60_000);
    assert.equal(got.code, 0, got.stderr + got.stdout);
    const before = await state(seeder);
    assert.ok(
      before.totals.uploadedBytes >= SIZE,
      JSON.stringify(before.totals),
    );
    // The page sets limits and slots.
    const set = await peerApi(seeder, "/api/settings", {
      maxUploadBytesPerSecond: 2_000_000,
      maxDownloadBytesPerSecond: 3_000_000,
      uploadSlots: 3,
    });
    assert.equal(set.status, 200);
    await set.body?.cancel();
    await stopPeer(seeder);
    seeder = null;
    const stateDir = join(seedDir, ".shoal");
    assert.equal(await mode(join(stateDir, "totals.json")), 0o600);
    assert.equal(await mode(join(stateDir, "web-limits.json")), 0o600);

    // Restarted: the same totals, the same limits.
    seeder = await startUiPeer(tracker, seedDir);
    const after = await state(seeder);
    assert.equal(after.totals.uploadedBytes, before.totals.uploadedBytes);
    assert.deepEqual(after.limits, {
      maxUploadBytesPerSecond: 2_000_000,
      maxDownloadBytesPerSecond: 3_000_000,
      uploadSlots: 3,
    });
    await stopPeer(seeder);
    seeder = null;

    // A limit given on the command line wins over the saved one.
    seeder = await startUiPeer(tracker, seedDir, {
      args: ["--upload-slots", "7"],
    });
    const flagged = await state(seeder);
    assert.equal(flagged.limits.uploadSlots, 7);
    assert.equal(flagged.limits.maxUploadBytesPerSecond, 2_000_000);
    await stopPeer(seeder);
    seeder = null;

    // The leecher's folder remembers what it downloaded, shown by its page.
    const leecher = await startUiPeer(tracker, leechDir);
    try {
      const leeched = await state(leecher);
      assert.equal(leeched.totals.downloadedBytes, SIZE);
      assert.equal(leeched.totals.ratio, 0);
    } finally {
      await stopPeer(leecher);
    }
  } finally {
    if (seeder) await seeder.kill();
  }
});
