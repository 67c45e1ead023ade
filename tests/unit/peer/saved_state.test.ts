import assert from "node:assert/strict";
import { join } from "node:path";
import {
  LimitsError,
  loadSavedLimits,
  parseLimits,
  SAVED_LIMITS_FILE,
  saveLimits,
} from "../../../peer/web/saved_limits.ts";
import {
  loadTotals,
  parseTotals,
  saveTotals,
  TOTALS_FILE,
} from "../../../peer/totals_file.ts";

Deno.test("parseLimits() takes rates from 1 kB/s to 100 GB/s or none, and 1 to 64 slots", () => {
  assert.deepEqual(
    parseLimits({
      maxUploadBytesPerSecond: 2_000_000.7,
      maxDownloadBytesPerSecond: 0,
      uploadSlots: 3,
    }),
    {
      maxUploadBytesPerSecond: 2_000_000,
      maxDownloadBytesPerSecond: null,
      uploadSlots: 3,
    },
  );
  assert.deepEqual(parseLimits({}), {});
  for (
    const bad of [
      { maxUploadBytesPerSecond: 10 },
      { maxUploadBytesPerSecond: 1e12 },
      { maxDownloadBytesPerSecond: "1M" },
      { maxDownloadBytesPerSecond: Infinity },
      { uploadSlots: 0 },
      { uploadSlots: 65 },
      { uploadSlots: 2.5 },
    ]
  ) {
    assert.throws(() => parseLimits(bad), LimitsError, JSON.stringify(bad));
  }
});

Deno.test("saved limits come back as saved; a damaged, planted or huge file sets none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await loadSavedLimits(dir), {});
    await saveLimits(dir, {
      maxUploadBytesPerSecond: null,
      maxDownloadBytesPerSecond: 5_000,
      uploadSlots: 0, // not serving: slots are not saved
    });
    assert.deepEqual(await loadSavedLimits(dir), {
      maxUploadBytesPerSecond: null,
      maxDownloadBytesPerSecond: 5_000,
    });
    const path = join(dir, SAVED_LIMITS_FILE);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    for (
      const text of [
        "{not json",
        "[1,2]",
        '{"uploadSlots": 1000}',
        `{"pad": "${"x".repeat(5000)}"}`,
      ]
    ) {
      await Deno.writeTextFile(path, text);
      assert.deepEqual(await loadSavedLimits(dir), {}, text.slice(0, 20));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("totals come back as saved; bad counts read as 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await loadTotals(dir), {
      uploadedBytes: 0,
      downloadedBytes: 0,
    });
    await saveTotals(dir, { uploadedBytes: 7, downloadedBytes: 2 ** 40 });
    assert.deepEqual(await loadTotals(dir), {
      uploadedBytes: 7,
      downloadedBytes: 2 ** 40,
    });
    assert.equal(
      (await Deno.stat(join(dir, TOTALS_FILE))).mode! & 0o777,
      0o600,
    );
    assert.deepEqual(
      parseTotals({ uploadedBytes: -1, downloadedBytes: 1.5 }),
      { uploadedBytes: 0, downloadedBytes: 0 },
    );
    assert.deepEqual(parseTotals(null), {
      uploadedBytes: 0,
      downloadedBytes: 0,
    });
    assert.deepEqual(parseTotals({ uploadedBytes: 2 ** 60 }), {
      uploadedBytes: 0,
      downloadedBytes: 0,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
