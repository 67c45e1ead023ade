/**
 * The web page's download box finds files as `--get` does: by name, by a
 * name in another case when only one file has it, by the short id the page
 * shows (the first 8 or more hex digits), and with a "did you mean" for a
 * misspelt name; an id prefix several files share lists them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type FileSummary,
  fromHex,
  type RequestQuery,
  toHex,
} from "@shoal/protocol";
import { type FileIndex, findFile } from "../../peer/find_file.ts";
import type { RequestResult } from "../../peer/tracker_client.ts";
import {
  DownloadError,
  type DownloadResult,
} from "../../peer/download/download.ts";
import {
  DownloadManager,
  type DownloadRecord,
} from "../../peer/web/downloads.ts";
import * as h from "../_helpers/mod.ts";
import {
  desktopContext,
  hasChromium,
  launchChromium,
  openPeerPage,
  peerApi,
  peerState,
  startUiPeer,
  stopPeer,
  type UiPeer,
  WAIT_MS,
} from "../_helpers/web_page.ts";

const HAS_CHROMIUM = await hasChromium();

/** A tracker's index of these files, as `findFile` asks it. */
function fakeIndex(files: FileSummary[]): FileIndex {
  const hex = (file: FileSummary) => toHex(file.id);
  return {
    request(query: RequestQuery): Promise<RequestResult> {
      const found = "name" in query
        ? files.filter((file) => file.name === query.name)
        : "id" in query
        ? files.filter((file) => hex(file) === toHex(query.id))
        : files.filter((file) => hex(file).startsWith(query.idPrefix));
      if (found.length === 0) return Promise.resolve({ kind: "unknown" });
      if (found.length > 1) {
        return Promise.resolve({ kind: "candidates", files: found });
      }
      const file = found[0]!;
      return Promise.resolve({
        kind: "peers",
        fileId: file.id,
        name: file.name,
        size: file.size,
        chunkCount: 1,
        peers: [],
      });
    },
    list(query: string, offset = 0) {
      const folded = query.toLowerCase();
      const found = files.filter((file) =>
        file.name.toLowerCase().includes(folded)
      );
      return Promise.resolve({
        total: found.length,
        files: found.slice(offset),
      });
    },
  };
}

function summary(idHex: string, name: string): FileSummary {
  return { id: fromHex(idHex)!, name, size: 1000, peers: 1, seeders: 1 };
}

/** Waits until the manager's record `key` has left "finding". */
async function settled(
  manager: DownloadManager,
  key: string,
): Promise<DownloadRecord> {
  for (let i = 0; i < 200; i++) {
    const record = manager.list().find((r) => r.key === key)!;
    if (record.state !== "finding") return record;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`download ${key} never left "finding"`);
}

Deno.test("DownloadManager resolves what was typed with findFile, as --get does", async () => {
  const report = summary(`7fda9fae${"1".repeat(56)}`, "Report-Q3.pdf");
  const twinA = summary(`abcdef01${"2".repeat(56)}`, "twin-a.bin");
  const twinB = summary(`abcdef01${"3".repeat(56)}`, "twin-b.bin");
  const index = fakeIndex([report, twinA, twinB]);
  const asked: unknown[] = [];
  const manager = new DownloadManager({
    find: (text) => findFile(index, text),
    download(query) {
      asked.push(query);
      const id = "id" in query ? query.id : report.id;
      return Promise.resolve({
        path: "/out/x",
        fileId: id,
        manifest: {
          name: "Report-Q3.pdf",
          size: 1000,
          chunkSize: 1024,
          chunkCount: 1,
        } as DownloadResult["manifest"],
        manifestBytes: new Uint8Array(),
        seconds: 1,
        bytesFetched: 1000,
        resumedChunks: 0,
        chunksByPeer: {},
        alreadyKept: false,
      });
    },
  });
  try {
    // The short id the page shows, in either case: asked for by id.
    for (const text of ["7fda9fae", "7FDA9FAE1111"]) {
      const record = await settled(
        manager,
        manager.start({ name: text }).key,
      );
      assert.equal(record.state, "done", JSON.stringify(record.error));
      assert.equal(record.fileId, toHex(report.id));
      assert.deepEqual(asked.pop(), { id: report.id });
    }
    // Another case: by id, with the name kept for the manifest's check.
    let record = await settled(
      manager,
      manager.start({ name: "report-q3.PDF" }).key,
    );
    assert.equal(record.state, "done");
    assert.deepEqual(asked.pop(), { id: report.id, name: "report-q3.PDF" });
    // The exact name: asked for by name.
    record = await settled(manager, manager.start({ name: "twin-a.bin" }).key);
    assert.deepEqual(asked.pop(), { name: "twin-a.bin" });

    // A prefix two files share: failed, both listed, nothing asked.
    record = await settled(manager, manager.start({ name: "abcdef01" }).key);
    assert.equal(record.state, "failed");
    assert.equal(record.error!.code, "ambiguous");
    assert.match(record.error!.message, /give more digits/);
    assert.deepEqual(
      record.error!.candidates.map((file) => [file.id, file.name]),
      [[toHex(twinA.id), "twin-a.bin"], [toHex(twinB.id), "twin-b.bin"]],
    );
    // A misspelt name: the closest one is suggested, in the page's words.
    record = await settled(
      manager,
      manager.start({ name: "Reprot-Q3.pdf" }).key,
    );
    assert.equal(record.state, "failed");
    assert.equal(record.error!.code, "unknown_file");
    assert.match(
      record.error!.message,
      /^No file called Reprot-Q3\.pdf is known to the tracker; did you mean "Report-Q3\.pdf"\?/,
    );
    assert.doesNotMatch(record.error!.message, /--/);
    // Nothing close: no suggestion, and no flag named either.
    record = await settled(manager, manager.start({ name: "zzzzzz.iso" }).key);
    assert.equal(record.error!.code, "unknown_file");
    assert.doesNotMatch(record.error!.message, /did you mean|--/);
    assert.equal(asked.length, 0, "a failed lookup still downloaded");
  } finally {
    await manager.close();
  }
});

Deno.test("DownloadManager: a download by id never looks its id up again", async () => {
  const id = fromHex("ab".repeat(32))!;
  const manager = new DownloadManager({
    find: () => Promise.reject(new Error("looked up")),
    download: () =>
      Promise.reject(new DownloadError("no_peers", "No peer has it")),
  });
  try {
    const record = await settled(manager, manager.start({ id }).key);
    assert.equal(record.error!.code, "no_peers");
  } finally {
    await manager.close();
  }
});

/** The ids a seeder printed ("seeding NAME ... id HEX"), by name. */
function seededIds(lines: readonly string[]): Map<string, string> {
  return new Map(
    lines.flatMap((line) => {
      const match = /^seeding (\S+) .* id ([0-9a-f]{64})$/.exec(line);
      return match ? [[match[1]!, match[2]!] as const] : [];
    }),
  );
}

/** Waits until the tracker lists `count` files, as the page asks it. */
async function trackerLists(peer: UiPeer, count: number): Promise<void> {
  await h.waitUntil(
    `the tracker to list ${count} files`,
    async () => {
      const response = await peerApi(peer, "/api/tracker?q=");
      if (!response.ok) {
        await response.body?.cancel();
        return null;
      }
      return (await response.json()).total >= count || null;
    },
    WAIT_MS,
    100,
  );
}

/** Starts a download through the page's API; it must be accepted. */
async function startDownload(peer: UiPeer, name: string): Promise<string> {
  const response = await peerApi(peer, "/api/downloads", { name });
  assert.equal(response.status, 202);
  return ((await response.json()) as DownloadRecord).key;
}

/** Waits until the download `key` is done or failed. */
function finished(peer: UiPeer, key: string): Promise<DownloadRecord> {
  return h.waitUntil(
    `the download ${key} to finish`,
    async () => {
      const record = (await peerState(peer)).downloads.find(
        (d: DownloadRecord) => d.key === key,
      ) as DownloadRecord | undefined;
      return record?.state === "done" || record?.state === "failed"
        ? record
        : null;
    },
    WAIT_MS,
    100,
  );
}

Deno.test("web page API downloads by the short id it shows and by a name in another case, and suggests a close name", async () => {
  await using tracker = await h.startTracker();
  await using dir = await h.tempDir();
  const alpha = join(dir.path, "Alpha-Data.bin");
  const beta = join(dir.path, "beta-notes.txt");
  await h.makeFile(alpha, 700_000, 31);
  await h.makeFile(beta, 50_000, 32);
  const seeder = await h.startSeeder(
    tracker,
    [alpha, beta],
    join(dir.path, "s"),
  );
  const out = join(dir.path, "ui");
  let peer: UiPeer | null = null;
  try {
    const ids = seededIds(seeder.lines);
    const alphaId = ids.get("Alpha-Data.bin")!;
    assert.match(alphaId, /^[0-9a-f]{64}$/, seeder.lines.join("\n"));
    peer = await startUiPeer(tracker, out, { giveUpAfterS: 10 });
    await trackerLists(peer, 2);

    // The short id, as the page shows it.
    let record = await finished(
      peer,
      await startDownload(peer, alphaId.slice(0, 8)),
    );
    assert.equal(record.state, "done", JSON.stringify(record.error));
    assert.equal(record.name, "Alpha-Data.bin");
    assert.equal(record.fileId, alphaId);
    await h.assertSameFile(join(out, "Alpha-Data.bin"), alpha);

    // A name in another case (one file has it).
    record = await finished(peer, await startDownload(peer, "BETA-Notes.TXT"));
    assert.equal(record.state, "done", JSON.stringify(record.error));
    assert.equal(record.name, "beta-notes.txt");
    assert.equal(record.fileId, ids.get("beta-notes.txt"));
    await h.assertSameFile(join(out, "beta-notes.txt"), beta);

    // A misspelt name: failed, with the closest name suggested.
    record = await finished(peer, await startDownload(peer, "Alpha-Dta.bin"));
    assert.equal(record.state, "failed");
    assert.equal(record.error!.code, "unknown_file");
    assert.match(
      record.error!.message,
      /^No file called Alpha-Dta\.bin is known to the tracker; did you mean "Alpha-Data\.bin"\?/,
    );
    assert.doesNotMatch(record.error!.message, /--/);

    if (HAS_CHROMIUM) {
      // The page shows the same: typed in the box, the suggestion on the card.
      await using browser = await launchChromium();
      const context = await desktopContext(browser);
      const page = await openPeerPage(context, peer.url);
      await page.locator("#download-name").fill("beta-ntoes.txt");
      await page.getByRole("button", { name: "Start Download" }).click();
      const unknown = page.locator('.dl-error[data-code="unknown_file"]', {
        hasText: "beta-ntoes.txt",
      });
      await unknown.waitFor();
      assert.match(
        (await unknown.textContent()) ?? "",
        /^Unknown name: No file called beta-ntoes\.txt is known to the tracker; did you mean "beta-notes\.txt"\?/,
      );
      await context.close();
    }
  } finally {
    if (peer) await stopPeer(peer);
    await seeder.stop();
  }
});
