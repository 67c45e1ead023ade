/**
 * The web page's parts without a browser: the request guard and the
 * download manager (driven by a fake downloader).
 *
 * @module
 */
import assert from "node:assert/strict";
import { fromHex, toHex } from "@shoal/protocol";
import { newToken, RequestGuard, tokensEqual } from "../../peer/web/guard.ts";
import {
  type Downloader,
  DownloadManager,
  pageText,
  StartError,
} from "../../peer/web/downloads.ts";
import {
  type DownloadStore,
  parseSavedDownloads,
  type SavedDownload,
} from "../../peer/web/saved_downloads.ts";
import { loadOrCreateToken, TOKEN_FILE } from "../../peer/web/token_file.ts";
import { attachmentDisposition } from "../../peer/web/attachment.ts";
import { join } from "node:path";
import {
  DownloadError,
  type DownloadResult,
} from "../../peer/download/download.ts";

const TOKEN = "secret-token-secret-token-secret-token-abc";

function request(
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Request {
  return new Request(`http://127.0.0.1:8080${path}`, { method, headers });
}

Deno.test("newToken() makes distinct 43-character base64url tokens", () => {
  const a = newToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newToken());
});

Deno.test("tokensEqual() accepts only the exact token", () => {
  assert.ok(tokensEqual(TOKEN, TOKEN));
  assert.ok(!tokensEqual(TOKEN.slice(0, -1), TOKEN));
  assert.ok(!tokensEqual(`${TOKEN}x`, TOKEN));
  assert.ok(!tokensEqual("", TOKEN));
});

Deno.test("RequestGuard.check() enforces host, origin, site and token", () => {
  const guard = new RequestGuard({ token: TOKEN, port: 8080 });
  const ok = { host: "127.0.0.1:8080", "x-shoal-token": TOKEN };
  assert.deepEqual(guard.check(request("/api/state", ok)), {
    ok: true,
    viaQuery: false,
  });
  for (const host of ["localhost:8080", "[::1]:8080", "LOCALHOST:8080"]) {
    assert.ok(guard.check(request("/api/state", { ...ok, host })).ok, host);
  }
  for (const host of ["evil.example:8080", "127.0.0.1:8081", "127.0.0.1", ""]) {
    assert.ok(!guard.check(request("/api/state", { ...ok, host })).ok, host);
  }
  // Origin: absent or our own only.
  assert.ok(
    guard.check(
      request("/api/x", { ...ok, origin: "http://127.0.0.1:8080" }, "POST"),
    ).ok,
  );
  for (
    const origin of ["http://localhost:8080", "http://evil.example", "null"]
  ) {
    assert.ok(
      !guard.check(request("/api/x", { ...ok, origin }, "POST")).ok,
      origin,
    );
  }
  // Sec-Fetch-Site from another site: refused, except navigating to the page.
  assert.ok(
    !guard.check(
      request("/api/state", { ...ok, "sec-fetch-site": "same-site" }),
    ).ok,
  );
  assert.ok(
    guard.check(
      request(`/?token=${TOKEN}`, {
        host: "127.0.0.1:8080",
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
      }),
    ).ok,
  );
  // Token: query only for the page, cookie only for reads.
  assert.deepEqual(
    guard.check(request(`/?token=${TOKEN}`, { host: "127.0.0.1:8080" })),
    { ok: true, viaQuery: true },
  );
  assert.ok(
    !guard.check(
      request(`/api/state?token=${TOKEN}`, { host: "127.0.0.1:8080" }),
    ).ok,
  );
  const cookie = `other=1; ${guard.cookieName}=${TOKEN}`;
  assert.ok(
    guard.check(request("/api/state", { host: "127.0.0.1:8080", cookie })).ok,
  );
  assert.ok(
    !guard.check(
      request("/api/downloads", { host: "127.0.0.1:8080", cookie }, "POST"),
    ).ok,
  );
  assert.ok(
    !guard.check(
      request("/api/state", {
        host: "127.0.0.1:8080",
        cookie: "shoal_token_9999=" + TOKEN,
      }),
    ).ok,
  );
  assert.ok(!guard.check(request("/", { host: "127.0.0.1:8080" })).ok);
});

/**
 * A fake peer: each download waits until the test settles it; `asked` lists
 * what each was started by (a name, or an id in hex).
 */
function fakeDownloader() {
  const asked: string[] = [];
  const pending = new Map<
    string,
    {
      resolve: (result: DownloadResult) => void;
      reject: (error: unknown) => void;
    }
  >();
  const downloader: Downloader = {
    download(query, options) {
      const key = "name" in query ? query.name : toHex(query.id);
      asked.push(key);
      options.onProgress?.({
        state: "downloading",
        fileId: "ab".repeat(32),
        name: key,
        size: 1000,
        chunkCount: 4,
        chunksDone: 2,
        bytesDone: 500,
        bytesPerSecond: 100,
        peers: 3,
        elapsedMs: 5_000,
        peersDropped: 1,
      });
      return new Promise((resolve, reject) => {
        pending.set(key, { resolve, reject });
        options.signal?.addEventListener(
          "abort",
          () =>
            reject(new DownloadError("aborted", `Stopped downloading ${key}`)),
        );
      });
    },
  };
  const finish = (name: string) =>
    pending.get(name)!.resolve({
      path: `/out/${name}`,
      fileId: fromHex("cd".repeat(32))!,
      manifest: {
        name,
        size: 1000,
        chunkSize: 256,
        chunkCount: 4,
      } as DownloadResult["manifest"],
      manifestBytes: new Uint8Array(),
      seconds: 2,
      bytesFetched: 1000,
      resumedChunks: 0,
      chunksByPeer: {},
      alreadyKept: false,
    });
  const fail = (name: string, error: unknown) =>
    pending.get(name)!.reject(error);
  return { downloader, finish, fail, asked };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("DownloadManager runs downloads side by side; one failing leaves the others", async () => {
  const fake = fakeDownloader();
  const manager = new DownloadManager(fake.downloader);
  let changes = 0;
  manager.onChange(() => changes++);
  const a = manager.start({ name: "a.bin" });
  manager.start({ name: "b.bin" });
  manager.start({ name: "c.bin" });
  let records = manager.list();
  assert.deepEqual(records.map((r) => r.name), ["c.bin", "b.bin", "a.bin"]);
  const progress = records[2]!;
  assert.equal(progress.state, "downloading");
  assert.equal(progress.percent, 50);
  assert.equal(progress.secondsLeft, 5);
  assert.equal(progress.peersDropped, 1);
  // The same file twice is refused while the first runs.
  assert.throws(
    () => manager.start({ name: "a.bin" }),
    (error) => error instanceof StartError && error.status === 409,
  );

  fake.fail(
    "b.bin",
    new DownloadError("ambiguous", "Several files are called b.bin", {
      candidates: [{
        id: fromHex("ef".repeat(32))!,
        name: "b.bin",
        size: 9,
        peers: 2,
        seeders: 1,
      }],
    }),
  );
  fake.finish("a.bin");
  await settle();
  records = manager.list();
  const byName = new Map(records.map((r) => [r.name, r]));
  assert.equal(byName.get("a.bin")!.state, "done");
  assert.equal(byName.get("a.bin")!.percent, 100);
  assert.equal(byName.get("a.bin")!.fileId, "cd".repeat(32));
  assert.equal(byName.get("a.bin")!.key, a.key);
  assert.equal(byName.get("b.bin")!.state, "failed");
  assert.equal(byName.get("b.bin")!.error!.code, "ambiguous");
  assert.equal(byName.get("b.bin")!.error!.candidates[0]!.id, "ef".repeat(32));
  assert.equal(byName.get("c.bin")!.state, "downloading");
  assert.ok(changes >= 5);

  // Pausing one keeps its record as "paused"; clearing leaves it listed.
  assert.ok(manager.pause(byName.get("c.bin")!.key));
  await settle();
  assert.equal(
    manager.list().find((r) => r.name === "c.bin")!.state,
    "paused",
  );
  manager.clearFinished();
  assert.deepEqual(manager.list().map((r) => r.state), ["paused"]);
  await manager.close();
  assert.throws(
    () => manager.start({ name: "d.bin" }),
    (error) => error instanceof StartError && error.status === 503,
  );
});

Deno.test("DownloadManager keeps a bounded list and caps running downloads", async () => {
  const fake = fakeDownloader();
  const manager = new DownloadManager(fake.downloader, {
    maxRecords: 3,
    maxActive: 2,
  });
  manager.start({ name: "1" });
  manager.start({ name: "2" });
  assert.throws(
    () => manager.start({ name: "3" }),
    (error) => error instanceof StartError && error.status === 429,
  );
  fake.fail("1", new Error("boom"));
  fake.fail("2", new Error("boom"));
  await settle();
  for (const name of ["3", "4", "5"]) {
    manager.start({ name });
    fake.fail(name, new Error("boom"));
    await settle();
  }
  const names = manager.list().map((r) => r.name);
  assert.deepEqual(names, ["5", "4", "3"]);
  assert.equal(manager.list()[0]!.error!.code, "internal");
  await manager.close();
});

function memoryStore(initial: SavedDownload[] = []) {
  const box = { saved: initial, saves: 0 };
  const store: DownloadStore = {
    load: () => Promise.resolve(structuredClone(box.saved)),
    save: (list) => {
      box.saved = structuredClone(list);
      box.saves++;
      return Promise.resolve();
    },
  };
  return { store, box };
}

Deno.test("DownloadManager pauses, resumes and removes downloads, keeping or deleting data", async () => {
  const fake = fakeDownloader();
  const discarded: string[] = [];
  const deleted: string[] = [];
  fake.downloader.discardPartial = (id) => {
    discarded.push(id);
    return Promise.resolve();
  };
  fake.downloader.deleteFile = (id, path) => {
    deleted.push(`${id} ${path}`);
    return Promise.resolve();
  };
  const manager = new DownloadManager(fake.downloader);
  const a = manager.start({ name: "a.bin" });
  assert.ok(manager.pause(a.key));
  await settle();
  assert.equal(manager.list()[0]!.state, "paused");
  assert.equal(manager.list()[0]!.error, null);
  // Resumed by id once the file is known (the fake reported "ab...").
  const resumed = manager.resume(a.key);
  assert.equal(resumed.key, a.key);
  assert.notEqual(resumed.state, "paused");
  await settle();
  assert.equal(manager.list()[0]!.state, "downloading");
  assert.throws(
    () => manager.resume(a.key),
    (error) => error instanceof StartError && error.status === 404,
  );
  // Removing a running download stops it first; with data, its part goes.
  assert.ok(await manager.remove(a.key, true));
  assert.deepEqual(manager.list(), []);
  assert.deepEqual(discarded, ["ab".repeat(32)]);
  // A finished one, removed with its data: the file is deleted.
  const b = manager.start({ name: "b.bin" });
  fake.finish("b.bin");
  await settle();
  assert.ok(await manager.remove(b.key, true));
  assert.deepEqual(deleted, [`${"cd".repeat(32)} /out/b.bin`]);
  // Without data, nothing is deleted.
  const c = manager.start({ name: "c.bin" });
  assert.ok(await manager.remove(c.key, false));
  assert.equal(discarded.length, 1);
  assert.ok(!(await manager.remove("d99", false)));
  await manager.close();
});

Deno.test("DownloadManager keeps its list across a restart and resumes the running ones", async () => {
  const { store, box } = memoryStore();
  const first = fakeDownloader();
  const before = new DownloadManager(first.downloader, { store });
  before.start({ name: "running.bin" });
  const paused = before.start({ name: "paused.bin" });
  before.start({ name: "done.bin" });
  before.start({ name: "failed.bin" });
  before.pause(paused.key);
  first.finish("done.bin");
  first.fail("failed.bin", new Error("boom"));
  await settle();
  // Stopping the peer is not pausing: the running one stays "active".
  await before.close();
  assert.deepEqual(
    box.saved.map((entry) => [entry.name, entry.state]),
    [["running.bin", "active"], ["paused.bin", "paused"], [
      "done.bin",
      "done",
    ]],
  );
  assert.equal(box.saved[2]!.path, "/out/done.bin");

  const second = fakeDownloader();
  const after = new DownloadManager(second.downloader, { store });
  await after.restore();
  const states = new Map(after.list().map((r) => [r.name, r.state]));
  assert.equal(states.get("done.bin"), "done");
  assert.equal(states.get("paused.bin"), "paused");
  // Only the running one started again, by the id it had found.
  assert.deepEqual(second.asked, ["ab".repeat(32)]);
  assert.equal(after.list().filter((r) => r.state === "downloading").length, 1);
  await after.close();
  assert.equal(
    parseSavedDownloads({ downloads: [{ query: 1 }, null] }, 9).length,
    0,
  );
});

/**
 * A fake peer with one folder of three files: it asks `pickFiles` (when
 * given) as a download does, and records what each run was told.
 */
function fakeFolderDownloader() {
  const runs: { files: readonly number[] | null; asked: boolean }[] = [];
  const downloader: Downloader = {
    async download(_query, options) {
      const run = { files: options.files ?? null, asked: false };
      runs.push(run);
      const files = ["a", "b", "c"].map((path) => ({
        path,
        size: 10,
        chunkCount: 1,
        chunksDone: 0,
        chosen: true,
      }));
      options.onProgress?.({
        state: options.pickFiles ? "choosing" : "downloading",
        fileId: "ef".repeat(32),
        name: "set",
        size: 30,
        chunkCount: 3,
        chunksDone: 0,
        bytesDone: 0,
        bytesPerSecond: 0,
        peers: 0,
        elapsedMs: 0,
        peersDropped: 0,
        files,
      });
      const stopped = new Promise<never>((_, reject) =>
        options.signal?.addEventListener(
          "abort",
          () => reject(new DownloadError("aborted", "Stopped downloading set")),
        )
      );
      if (options.pickFiles) {
        run.asked = true;
        run.files = await Promise.race([options.pickFiles(files), stopped]);
      }
      return await stopped;
    },
  };
  return { downloader, runs };
}

Deno.test('DownloadManager: a folder chosen first waits in "choosing" until chosen, and asks again after a pause or a restart', async () => {
  const { store, box } = memoryStore();
  const first = fakeFolderDownloader();
  const before = new DownloadManager(first.downloader, { store });
  const started = before.start({ name: "set" }, undefined, {
    chooseFirst: true,
  });
  await settle();
  assert.equal(before.list()[0]!.state, "choosing");
  assert.equal(before.list()[0]!.fileCount, 3);
  // Holds its place: the same name cannot start twice.
  assert.throws(
    () => before.start({ name: "set" }),
    (error) => error instanceof StartError && error.status === 409,
  );
  // Paused and resumed: asked again.
  assert.ok(before.pause(started.key));
  await settle();
  assert.equal(before.list()[0]!.state, "paused");
  before.resume(started.key);
  await settle();
  assert.equal(before.list()[0]!.state, "choosing");
  assert.deepEqual(first.runs.map((run) => run.asked), [true, true]);
  // Stopped while choosing: saved to be asked again.
  await before.close();
  assert.equal(box.saved[0]!.chooseFirst, true);
  assert.equal(box.saved[0]!.state, "active");

  const second = fakeFolderDownloader();
  const after = new DownloadManager(second.downloader, { store });
  await after.restore();
  await settle();
  assert.equal(after.list()[0]!.state, "choosing");
  // Chosen: the same run goes on with the ticks (no restart), and they are
  // saved in place of the question.
  const key = after.list()[0]!.key;
  await after.choose(key, [2, 0]);
  await settle();
  assert.deepEqual(second.runs, [{ files: [0, 2], asked: true }]);
  assert.notEqual(after.list()[0]!.state, "choosing");
  await after.close();
  assert.equal(box.saved[0]!.chooseFirst, undefined);
  assert.deepEqual(box.saved[0]!.files, [0, 2]);
});

Deno.test("parseSavedDownloads() keeps a folder's ticked files and drops a damaged list, not the download", () => {
  const entry = {
    query: "set",
    byId: false,
    state: "paused",
    name: "set",
    fileId: "",
    size: 0,
    chunkCount: 0,
    path: null,
    startedAt: 1,
  };
  const [kept, damaged, none] = parseSavedDownloads({
    downloads: [
      { ...entry, files: [0, 2] },
      { ...entry, files: [0, -1, "x"] },
      entry,
    ],
  }, 9);
  assert.deepEqual(kept!.files, [0, 2]);
  assert.equal(damaged!.files, undefined);
  assert.equal(damaged!.name, "set");
  assert.equal(none!.files, undefined);
});

Deno.test("DownloadManager names a download started from a magnet link by its dn, across a restart", async () => {
  const { store, box } = memoryStore();
  const id = fromHex("ab".repeat(32))!;
  const first = fakeDownloader();
  const before = new DownloadManager(first.downloader, { store });
  // The fake reports the id as the name, as a download does before the manifest.
  const started = before.start({ id }, "holiday\nvideo.mkv");
  assert.equal(started.name, "holiday video.mkv");
  assert.equal(started.fileId, "ab".repeat(32));
  await settle();
  assert.equal(before.list()[0]!.state, "downloading");
  assert.equal(before.list()[0]!.name, "holiday video.mkv");
  // Started by id again while it runs: refused, named by its dn.
  assert.throws(
    () => before.start({ id }, "other"),
    (error) => error instanceof StartError && error.status === 409,
  );
  await before.close();
  assert.deepEqual(
    box.saved.map((
      entry,
    ) => [entry.query, entry.byId, entry.name, entry.state]),
    [["ab".repeat(32), true, "holiday video.mkv", "active"]],
  );

  // After a restart it resumes by id and keeps the name until the manifest.
  const second = fakeDownloader();
  const after = new DownloadManager(second.downloader, { store });
  await after.restore();
  assert.deepEqual(second.asked, ["ab".repeat(32)]);
  assert.equal(after.list()[0]!.name, "holiday video.mkv");
  assert.equal(after.list()[0]!.state, "downloading");
  // The manifest's name wins once it is known.
  second.finish("ab".repeat(32));
  await settle();
  assert.equal(after.list()[0]!.state, "done");
  assert.equal(after.list()[0]!.name, "ab".repeat(32));
  await after.close();

  // No bidi override; a long dn is cut to 255 characters; an empty one
  // leaves the id.
  const shown = async (dn: string) => {
    const manager = new DownloadManager(fakeDownloader().downloader);
    const name = manager.start({ id }, dn).name;
    await manager.close();
    return name;
  };
  assert.equal(await shown("invoice\u202Efdp.exe"), "invoice fdp.exe");
  assert.equal(await shown("é".repeat(400)), "é".repeat(255));
  assert.equal(await shown(" "), "ab".repeat(32));
});

Deno.test("attachmentDisposition() keeps the exact name in filename* and a plain one in filename", () => {
  const cases: [string, string][] = [
    [
      "a.bin.torrent",
      `attachment; filename="a.bin.torrent"; filename*=UTF-8''a.bin.torrent`,
    ],
    [
      `it's "x"; y\\z*(1).torrent`,
      `attachment; filename="it_s _x__ y_z_(1).torrent"; filename*=UTF-8''it%27s%20%22x%22%3B%20y%5Cz%2A%281%29.torrent`,
    ],
    [
      "é\r\nSet-Cookie: a=b.torrent",
      `attachment; filename="___Set-Cookie_ a=b.torrent"; filename*=UTF-8''%C3%A9%0D%0ASet-Cookie%3A%20a%3Db.torrent`,
    ],
  ];
  for (const [name, expected] of cases) {
    const value = attachmentDisposition(name);
    assert.equal(value, expected, name);
    // A header can carry it: no line break, and Headers accepts it.
    assert.equal(
      new Headers({ "content-disposition": value }).get("content-disposition"),
      value,
    );
    // The exact name comes back from filename*.
    const exact = /filename\*=UTF-8''(.*)$/.exec(value)![1]!;
    assert.equal(decodeURIComponent(exact), name);
  }
});

Deno.test("pageText() names no command-line flag", () => {
  for (
    const message of [
      "No peer left for a.bin for 60 s (0/4 chunks kept); run the same command later to resume",
      "Stopped downloading a.bin; run the same command to resume",
      "Cannot create a.bin: permission denied; choose another --out",
      "Cannot seed /x: this peer was not given read access to it (start it with --seed /x)",
    ]
  ) {
    const text = pageText(message);
    assert.doesNotMatch(text, /--|same command/, text);
  }
});

Deno.test("the web token is kept in the state folder, readable by its user only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const state = join(dir, ".shoal");
    const token = await loadOrCreateToken(state);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await loadOrCreateToken(state), token);
    const path = join(state, TOKEN_FILE);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      // Readable by others: no longer a secret, so a new one is made.
      await Deno.chmod(path, 0o644);
      const fresh = await loadOrCreateToken(state);
      assert.notEqual(fresh, token);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    }
    // Damaged: a new one.
    await Deno.writeTextFile(path, "short", { mode: 0o600 });
    assert.match(await loadOrCreateToken(state), /^[A-Za-z0-9_-]{43}$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
