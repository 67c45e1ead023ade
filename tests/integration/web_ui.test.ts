/**
 * The peer's web page, end to end: a real tracker, two real peer processes
 * started with `--ui --ui-port 0`, and headless Chromium driving the pages.
 *
 * Set SHOAL_SCREENSHOTS=1 to also save docs/ui-*.png.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { fromHex, parseMagnet, parseTorrent, toHex } from "@shoal/protocol";
import { folderPartsPath } from "../../peer/storage/folder_parts.ts";
import { resumePath } from "../../peer/storage/resume.ts";
import type { DownloadRecord } from "../../peer/web/downloads.ts";
import type { FileProgress } from "../../peer/download/folder_download.ts";
import * as h from "../_helpers/mod.ts";
import {
  listTorrentPeer,
  startLtLeecher,
  startLtSeeder,
} from "../_helpers/bittorrent.ts";
import { fileWithLtTorrent, hasLibtorrent } from "../_helpers/libtorrent.ts";
import {
  assertFitsPhone,
  desktopContext,
  hasChromium,
  launchChromium,
  openPeerPage,
  peerApi,
  peerState,
  startUiPeer as startWebPeer,
  stopPeer,
  type UiPeer,
  WAIT_MS,
} from "../_helpers/web_page.ts";

const HAS_CHROMIUM = await hasChromium();
const SCREENSHOTS = Deno.env.get("SHOAL_SCREENSHOTS") === "1";
const DOCS = new URL("../../docs/", import.meta.url).pathname;

/** A peer with its web page; it gives up on a download after 5 s unless told. */
function startUiPeer(
  tracker: { host: string; port: number },
  outDir: string,
  options: Parameters<typeof startWebPeer>[2] = {},
): Promise<UiPeer> {
  return startWebPeer(tracker, outDir, { giveUpAfterS: 5, ...options });
}

/**
 * A file of `size` seeded bytes called `name`, in a temporary folder of its
 * own (`dir`, removed by `await using`), and its SHA-256.
 */
async function sourceFile(name: string, size: number, seed: number) {
  const folder = await h.tempDir();
  const path = join(folder.path, name);
  await h.makeFile(path, size, seed);
  return {
    path,
    hash: await h.sha256File(path),
    dir: folder.path,
    [Symbol.asyncDispose]: folder[Symbol.asyncDispose],
  };
}

/** A test that drives Chromium: skipped (with a warning) without it. */
function browserTest(name: string, fn: (t: Deno.TestContext) => Promise<void>) {
  Deno.test({ name, ignore: !HAS_CHROMIUM, fn });
}

/** Sends one raw HTTP/1.1 request (fetch would not let the Host header through). */
async function rawStatus(
  origin: string,
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<number> {
  const url = new URL(origin);
  using conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port),
  });
  const head = Object.entries({ connection: "close", ...headers })
    .map(([key, value]) => `${key}: ${value}\r\n`).join("");
  await conn.write(
    new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\n${head}\r\n`),
  );
  const buffer = new Uint8Array(64);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? "0");
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await page.waitForTimeout(400); // let the progress bars finish gliding
  await page.screenshot({ path: join(DOCS, `ui-${name}.png`), fullPage: true });
}

Deno.test("web page refuses requests with a foreign Host or Origin, or no token", async () => {
  await using tracker = await h.startTracker();
  await using dir = await h.tempDir();
  const peer = await startUiPeer(tracker, dir.path);
  try {
    const host = new URL(peer.origin).host;
    const call = async (
      path: string,
      init: RequestInit & { headers?: Record<string, string> } = {},
    ) => {
      const response = await fetch(`${peer.origin}${path}`, init);
      await response.body?.cancel();
      return response.status;
    };
    const withToken = { "x-shoal-token": peer.token };
    // The page needs the token too, and sets the cookie when it has it.
    assert.equal(await call("/"), 403);
    assert.equal(await call("/?token=wrong"), 403);
    const page = await fetch(peer.url);
    assert.equal(page.status, 200);
    const cookie = page.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(await page.text(), /Add File to Seed/);
    const cookieHeader = cookie.split(";")[0]!;
    // API: token in header or cookie; nothing without it.
    assert.equal(await call("/api/state"), 403);
    assert.equal(await call("/app.js"), 403);
    assert.equal(
      await call("/api/state", { headers: { "x-shoal-token": "x" } }),
      403,
    );
    assert.equal(await call("/api/state", { headers: withToken }), 200);
    assert.equal(
      await call("/api/state", { headers: { cookie: cookieHeader } }),
      200,
    );
    // DNS rebinding: the right token under another host name is refused.
    const port = new URL(peer.origin).port;
    for (
      const badHost of [`evil.example:${port}`, "127.0.0.1:1", "127.0.0.1"]
    ) {
      assert.equal(
        await rawStatus(peer.origin, "/api/state", {
          ...withToken,
          host: badHost,
        }),
        403,
        badHost,
      );
    }
    // localhost and [::1] with our port are this page.
    for (const goodHost of [`localhost:${port}`, `[::1]:${port}`, host]) {
      assert.equal(
        await rawStatus(peer.origin, "/api/state", {
          ...withToken,
          host: goodHost,
        }),
        200,
        goodHost,
      );
    }
    // State changes from another origin, or with only the cookie, are refused.
    const seedBody = JSON.stringify({ path: h.PEER_MAIN });
    const jsonType = { "content-type": "application/json" };
    assert.equal(
      await call("/api/seed/path", {
        method: "POST",
        headers: { ...withToken, ...jsonType, origin: "http://evil.example" },
        body: seedBody,
      }),
      403,
    );
    assert.equal(
      await call("/api/seed/path", {
        method: "POST",
        headers: { ...jsonType, cookie: cookieHeader },
        body: seedBody,
      }),
      403,
    );
    assert.equal(
      await call("/api/downloads", {
        method: "POST",
        headers: { ...withToken, ...jsonType, "sec-fetch-site": "cross-site" },
        body: JSON.stringify({ name: "x" }),
      }),
      403,
    );
    // The same POST from the page itself gets through to the handler.
    assert.equal(
      await call("/api/downloads/clear", {
        method: "POST",
        headers: { ...withToken, origin: `http://${host}` },
      }),
      200,
    );
    // Uploads: bad names and oversized declarations are refused before any byte is kept.
    assert.equal(
      await call(`/api/seed/upload?name=${encodeURIComponent("../evil")}`, {
        method: "POST",
        headers: withToken,
        body: "x",
      }),
      400,
    );
    assert.equal(
      await rawStatus(peer.origin, "/api/seed/upload?name=big.bin", {
        ...withToken,
        host,
        "content-length": String(2 ** 50),
      }, "POST"),
      413,
    );
    const state = await peerState(peer);
    assert.deepEqual(state.seeds, []);
    // Files are served only by id, only those the library knows.
    assert.equal(
      await call(`/files/${"0".repeat(64)}`, { headers: withToken }),
      404,
    );
    assert.equal(
      await call("/files/../../etc/passwd", { headers: withToken }),
      404,
    );
  } finally {
    await stopPeer(peer);
  }
});

Deno.test("web page: a seed's magnet link names its id and the tracker; its .torrent needs the token", async () => {
  await using tracker = await h.startTracker();
  await using dir = await h.tempDir();
  const name = "shoal torrent (1).bin";
  await using original = await sourceFile(name, 700_000, 3);
  const peer = await startUiPeer(tracker, dir.path);
  try {
    const withToken = { "x-shoal-token": peer.token };
    const seeded = await fetch(`${peer.origin}/api/seed/path`, {
      method: "POST",
      headers: { ...withToken, "content-type": "application/json" },
      body: JSON.stringify({ path: original.path }),
    });
    assert.equal(seeded.status, 201);
    const seed = await seeded.json();
    // The file list the page reads: each seed's magnet link and .torrent.
    const state = await peerState(peer);
    assert.equal(state.seeds.length, 1);
    const listed = state.seeds[0];
    assert.equal(listed.id, seed.id);
    const magnet = parseMagnet(listed.magnet);
    assert.equal(toHex(magnet.id), seed.id);
    assert.equal(magnet.name, name);
    const announce = `udp://127.0.0.1:${tracker.port}/announce`;
    assert.deepEqual(magnet.trackers, [announce]);
    assert.equal(listed.torrentUrl, `/torrents/${seed.id}`);

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${peer.origin}${path}`, { headers });
    // Served with the token (header, or the page's cookie), as a download.
    const response = await get(listed.torrentUrl, withToken);
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("content-type"),
      "application/x-bittorrent",
    );
    assert.equal(
      response.headers.get("content-disposition"),
      `attachment; filename="shoal torrent (1).bin.torrent"; filename*=UTF-8''shoal%20torrent%20%281%29.bin.torrent`,
    );
    assert.match(response.headers.get("content-security-policy")!, /sandbox/);
    const torrent = parseTorrent(
      new Uint8Array(await response.arrayBuffer()),
    );
    assert.equal(toHex(torrent.id), seed.id);
    assert.equal(torrent.manifest.name, name);
    assert.equal(torrent.manifest.size, 700_000);
    assert.deepEqual(torrent.trackers, [announce]);
    const page = await fetch(peer.url);
    await page.body?.cancel();
    const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;
    const viaCookie = await get(listed.torrentUrl, { cookie });
    assert.equal(viaCookie.status, 200);
    await viaCookie.body?.cancel();
    // Without the token, with a wrong one, or from another site: refused.
    for (
      const headers of [
        {},
        { "x-shoal-token": "wrong" },
        { ...withToken, "sec-fetch-site": "cross-site" },
        { ...withToken, origin: "http://evil.example" },
      ]
    ) {
      const refused = await get(listed.torrentUrl, headers);
      assert.equal(refused.status, 403, JSON.stringify(headers));
      await refused.body?.cancel();
    }
    const port = new URL(peer.origin).port;
    assert.equal(
      await rawStatus(peer.origin, listed.torrentUrl, {
        ...withToken,
        host: `evil.example:${port}`,
      }),
      403,
    );
    // Unknown or malformed ids: 404, with one line.
    const unknown = await get(`/torrents/${"0".repeat(64)}`, withToken);
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).error, /^No file with id 0{64} /);
    for (
      const path of [
        `/torrents/${seed.id.toUpperCase()}`,
        `/torrents/${seed.id}.torrent`,
        "/torrents/../files",
        "/torrents/",
      ]
    ) {
      const missing = await get(path, withToken);
      assert.equal(missing.status, 404, path);
      await missing.body?.cancel();
    }
    // After "stop seeding", its .torrent is gone too.
    const stop = await fetch(`${peer.origin}/api/seeds/${seed.id}/remove`, {
      method: "POST",
      headers: { ...withToken, "content-type": "application/json" },
      body: JSON.stringify({ deleteFile: false }),
    });
    assert.equal(stop.status, 200);
    await stop.body?.cancel();
    const gone = await get(listed.torrentUrl, withToken);
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  } finally {
    await stopPeer(peer);
  }
});

browserTest(
  "web page seeds an uploaded file on one peer and downloads it through another's page",
  async () => {
    await using tracker = await h.startTracker();
    await using dirA = await h.tempDir();
    await using dirB = await h.tempDir();
    const name = "shoal-ui-demo.bin";
    await using original = await sourceFile(name, 3 * 1024 * 1024 + 12_345, 7);

    const peers: UiPeer[] = [];
    let evil: Deno.HttpServer<Deno.NetAddr> | null = null;
    try {
      peers.push(await startUiPeer(tracker, dirA.path));
      peers.push(await startUiPeer(tracker, dirB.path));
      const [a, b] = peers as [UiPeer, UiPeer];
      // Closed as the try block ends, before the peers stop.
      await using browser = await launchChromium();
      const context = await desktopContext(browser);

      // Peer A: "Add File to Seed" through the browser's file picker.
      const pageA = await openPeerPage(context, a.url);
      assert.equal(new URL(pageA.url()).search, "", "the token left the URL");
      assert.equal(
        (await pageA.locator("#add-file").textContent())?.trim(),
        "Add File to Seed",
      );
      await pageA.locator("#file-input").setInputFiles(original.path);
      const seedRow = pageA.locator("#seeds tr", { hasText: name });
      await seedRow.waitFor();
      assert.match((await seedRow.textContent()) ?? "", /3\.2 MB/);
      await h.assertFileHash(join(dirA.path, "shared", name), original.hash);
      await screenshot(pageA, "seeding");

      // Peer B: an unknown name gives a clear error.
      const pageB = await openPeerPage(context, b.url);
      await pageB.locator("#download-name").fill("no-such-file.bin");
      await pageB.getByRole("button", { name: "Start Download" }).click();
      const unknown = pageB.locator('.dl-error[data-code="unknown_file"]');
      await unknown.waitFor();
      assert.match(
        (await unknown.textContent()) ?? "",
        /Unknown name: No file called no-such-file\.bin/,
      );

      // Find the file on the tracker by name (it may take an announce round).
      await pageB.locator("#search").fill("ui-demo");
      const listed = pageB.locator("#tracker-files tr", { hasText: name });
      const deadline = Date.now() + WAIT_MS;
      while (!(await listed.isVisible())) {
        assert.ok(
          Date.now() < deadline,
          "the file never showed on the tracker",
        );
        await pageB.locator("#refresh").click();
        await pageB.waitForTimeout(300);
      }
      assert.match((await listed.textContent()) ?? "", /3\.2 MB/);
      // Clicking the row fills the file name box; then "Start Download".
      await listed.locator("td").first().click();
      assert.equal(await pageB.locator("#download-name").inputValue(), name);
      await pageB.getByRole("button", { name: "Start Download" }).click();
      const done = pageB.locator('.dl[data-state="done"]', { hasText: name });
      await done.waitFor();
      assert.equal(
        (await done.locator(".percent").textContent())?.trim(),
        "100 %",
      );
      await pageB.locator("#search").fill("");
      await pageB.locator("#tracker-files tr", { hasText: name }).waitFor();
      await screenshot(pageB, "download");

      // The file is in B's download folder, whole.
      await h.assertFileHash(join(dirB.path, name), original.hash);
      // The "Save file" link serves the same bytes.
      const href = await done.locator("a.save").getAttribute("href");
      assert.ok(href?.startsWith("/files/"));
      const savedHash = await pageB.evaluate(async (url) => {
        const bytes = await (await fetch(url)).arrayBuffer();
        const digest = await crypto.subtle.digest("SHA-256", bytes);
        return [...new Uint8Array(digest)].map((x) =>
          x.toString(16).padStart(2, "0")
        ).join("");
      }, href!);
      assert.equal(savedHash, original.hash);

      if (SCREENSHOTS) {
        // A bigger file, to catch a download half way.
        const bigName = "shoal-ui-big.bin";
        const bigPath = join(original.dir, bigName);
        await h.makeFile(bigPath, 512 * 1024 * 1024, 9);
        await pageA.locator("#file-input").setInputFiles(bigPath);
        await pageA.locator("#seeds tr", { hasText: bigName }).waitFor({
          timeout: 120_000,
        });
        await pageB.locator("#download-name").fill(bigName);
        await pageB.getByRole("button", { name: "Start Download" }).click();
        const running = pageB.locator(
          '.dl[data-state="downloading"]',
          { hasText: bigName },
        );
        await running.waitFor({ timeout: 60_000 });
        const percentDeadline = Date.now() + 60_000;
        while (Date.now() < percentDeadline) {
          const text = await running.locator(".percent").textContent({
            timeout: 5_000,
          }).catch(() => "");
          if (parseInt(text ?? "") >= 20) break;
          await pageB.waitForTimeout(50);
        }
        await pageB.screenshot({
          path: join(DOCS, "ui-progress.png"),
          fullPage: true,
        });
        await pageB.locator('.dl[data-state="done"]', { hasText: bigName })
          .waitFor({ timeout: 120_000 });
        await pageB.setViewportSize({ width: 390, height: 844 });
        await screenshot(pageB, "phone");
        await pageB.setViewportSize({ width: 1100, height: 820 });
      }

      // A page on another origin (same host, other port: same site, so the
      // cookie would ride along) cannot drive peer B.
      // CORS-blocked responses never reach Playwright's events; the
      // DevTools protocol still reports their status line.
      const attackPage = await context.newPage();
      const cdp = await context.newCDPSession(attackPage);
      const urls = new Map<string, string>();
      const codes = new Map<string, number>();
      // The two events for one request may come in either order.
      cdp.on("Network.requestWillBeSent", (event) => {
        urls.set(event.requestId, event.request.url);
      });
      cdp.on("Network.responseReceivedExtraInfo", (event) => {
        codes.set(event.requestId, event.statusCode);
      });
      const statuses = () =>
        [...codes].map(([id, status]) => ({ url: urls.get(id) ?? "", status }))
          .filter(({ url }) => url.startsWith(b.origin));
      await cdp.send("Network.enable");
      const secret = join(original.dir, "secret.txt");
      await Deno.writeTextFile(secret, "not for sharing");
      evil = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () =>
          new Response(
            `<!doctype html><script>
const peer = ${JSON.stringify(b.origin)};
const body = JSON.stringify({ path: ${JSON.stringify(secret)} });
async function attempt(path, init) {
  try {
    const r = await fetch(peer + path, { credentials: "include", ...init });
    return "status " + r.status;
  } catch (e) { return "blocked"; }
}
window.results = Promise.all([
  attempt("/api/seed/path", { method: "POST", headers: { "content-type": "text/plain" }, body }),
  attempt("/api/seed/path", { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body }),
  attempt("/api/state", {}),
  attempt("/api/seed/path", { method: "POST", headers: { "content-type": "application/json", "x-shoal-token": "guess" }, body }),
]);
</script>`,
            { headers: { "content-type": "text/html" } },
          ),
      );
      await attackPage.goto(`http://127.0.0.1:${evil.addr.port}/`);
      const results = await attackPage.evaluate(() =>
        (globalThis as unknown as { results: Promise<string[]> }).results
      );
      // The page learns nothing: each call fails, or is opaque (no-cors).
      assert.deepEqual(
        results.map((result) => result === "status 0" ? "blocked" : result),
        ["blocked", "blocked", "blocked", "blocked"],
      );
      // Every request that reached the peer was answered 403.
      const statusDeadline = Date.now() + 3_000;
      while (statuses().length < 4 && Date.now() < statusDeadline) {
        await attackPage.waitForTimeout(100);
      }
      assert.ok(
        statuses().length >= 3,
        `only ${statuses().length} requests reached the peer`,
      );
      for (const { url, status } of statuses()) {
        assert.equal(status, 403, `${url} answered ${status}`);
      }
      const state = await peerState(b);
      assert.ok(
        !state.seeds.some((file: { path: string }) => file.path === secret),
        "the attack page made the peer seed a file",
      );
      await context.close();
    } finally {
      await evil?.shutdown();
      for (const peer of peers) await stopPeer(peer);
    }
  },
);

browserTest(
  "web page: a seed's magnet link is copied, its .torrent saved, and the link pasted into another peer's page downloads the file",
  async () => {
    await using tracker = await h.startTracker();
    await using dirA = await h.tempDir();
    await using dirB = await h.tempDir();
    const name = "shoal magnet demo.bin";
    await using original = await sourceFile(name, 1_500_000, 5);
    const announce = `udp://127.0.0.1:${tracker.port}/announce`;

    const peers: UiPeer[] = [];
    try {
      peers.push(await startUiPeer(tracker, dirA.path));
      // B waits long for peers: its magnet download of a file nobody
      // serves (below) must still be looking when B restarts.
      peers.push(await startUiPeer(tracker, dirB.path, { giveUpAfterS: 120 }));
      const [a, b] = peers as [UiPeer, UiPeer];
      await using browser = await launchChromium();
      const context = await desktopContext(browser, {
        acceptDownloads: true,
      });
      for (const peer of peers) {
        await context.grantPermissions(["clipboard-read", "clipboard-write"], {
          origin: peer.origin,
        });
      }

      // Peer A seeds a file; its row shows the magnet link under it.
      const pageA = await openPeerPage(context, a.url);
      await pageA.locator("#file-input").setInputFiles(original.path);
      const seedRow = pageA.locator("#seeds tr", { hasText: name });
      await seedRow.waitFor();
      const id = (await seedRow.getAttribute("data-id"))!;
      const share = pageA.locator(`#seeds tr.share[data-id="${id}"]`);
      const box = share.getByRole("textbox", {
        name: `Magnet link of ${name}`,
      });
      const magnet = await box.inputValue();
      const parsed = parseMagnet(magnet);
      assert.equal(toHex(parsed.id), id);
      assert.equal(parsed.name, name);
      assert.deepEqual(parsed.trackers, [announce]);
      // Shortened on screen (the box is narrower than the link), whole inside.
      assert.ok(
        await box.evaluate((input) => input.scrollWidth > input.clientWidth),
        "the magnet link is not shortened",
      );

      // "Copy magnet link" puts the whole link on the clipboard.
      const copy = share.getByRole("button", { name: "Copy magnet link" });
      await copy.click();
      await share.getByRole("button", { name: "Copied" }).waitFor();
      assert.equal(
        await pageA.evaluate<string>("navigator.clipboard.readText()"),
        magnet,
      );
      // The label comes back.
      await share.getByRole("button", { name: "Copy magnet link" }).waitFor();
      // Without the clipboard API, the link's text is selected (and the
      // browser's copy command used).
      // (The page's scripts see no clipboard API from here on.)
      await pageA.evaluate(`navigator.clipboard.writeText("something else")
        .then(() => Object.defineProperty(navigator, "clipboard", { value: undefined }))`);
      await copy.click();
      const selection = await box.evaluate((node) => {
        const input = node as unknown as {
          ownerDocument: { activeElement: unknown };
          selectionStart: number;
          selectionEnd: number;
          value: string;
        };
        return {
          focused: input.ownerDocument.activeElement === node,
          start: input.selectionStart,
          end: input.selectionEnd,
          length: input.value.length,
        };
      });
      assert.deepEqual(selection, {
        focused: true,
        start: 0,
        end: magnet.length,
        length: magnet.length,
      });
      await share.getByRole("button", { name: "Copied" }).waitFor();

      // ".torrent" saves NAME.torrent, the same file id.
      const [saved] = await Promise.all([
        pageA.waitForEvent("download"),
        share.getByRole("link", { name: ".torrent" }).click(),
      ]);
      assert.equal(saved.suggestedFilename(), `${name}.torrent`);
      const torrent = parseTorrent(await Deno.readFile((await saved.path())!));
      assert.equal(toHex(torrent.id), id);
      assert.deepEqual(torrent.trackers, [announce]);

      // 390 px wide: nothing scrolls sideways; the link, the button and
      // ".torrent" are all on screen.
      await assertFitsPhone(pageA);
      for (
        const part of [
          box,
          copy,
          share.getByRole("link", { name: ".torrent" }),
        ]
      ) {
        const rect = (await part.boundingBox())!;
        assert.ok(
          rect.x >= 0 && rect.x + rect.width <= 390 && rect.width >= 40,
          `${await part.evaluate((node) => node.outerHTML)} is at ${
            JSON.stringify(rect)
          }`,
        );
      }
      await pageA.setViewportSize({ width: 1100, height: 820 });
      await screenshot(pageA, "magnet");

      // Peer B's page: the clipboard (filled by the fallback copy) pasted
      // into the download box downloads the file, byte for byte.
      let pageB = await openPeerPage(context, b.url);
      assert.equal(
        await pageB.evaluate<string>("navigator.clipboard.readText()"),
        magnet,
      );
      const input = pageB.getByRole("textbox", {
        name: "File name, id or magnet link",
      });
      await input.focus();
      await pageB.keyboard.press("ControlOrMeta+V");
      assert.equal(await input.inputValue(), magnet);
      await pageB.getByRole("button", { name: "Start Download" }).click();
      const done = pageB.locator('.dl[data-state="done"]', { hasText: name });
      await done.waitFor();
      await h.assertFileHash(join(dirB.path, name), original.hash);

      // A v1-only or malformed magnet link: one line on the page, nothing starts.
      const before = await pageB.locator(".dl").count();
      for (
        const [link, error] of [
          [
            `magnet:?xt=urn:btih:${"c".repeat(40)}&dn=old.bin`,
            /^Cannot read magnet link: it names only a BitTorrent v1 infohash \(btih\); Shoal needs a v2 one/,
          ],
          [
            "magnet:?xt=urn:btmh:1220abc&dn=short.bin",
            /^Cannot read magnet link: the btmh hash is not a 32-byte SHA-256/,
          ],
        ] as const
      ) {
        if (await pageB.locator("#message").isVisible()) {
          await pageB.locator("#message-close").click();
        }
        await input.fill(link);
        await pageB.getByRole("button", { name: "Start Download" }).click();
        const message = pageB.locator("#message:not([hidden]) #message-text");
        await message.waitFor();
        assert.match((await message.textContent()) ?? "", error);
        assert.doesNotMatch((await message.textContent()) ?? "", /\n/);
        assert.equal(await pageB.locator(".dl").count(), before);
      }
      const records = (await peerState(b)).downloads;
      assert.equal(records.length, 1, "a bad magnet link started something");

      // A magnet link of a file whose only peer never answers: named by its
      // dn while no manifest comes, and still so after B restarts.
      const ghostData = crypto.getRandomValues(new Uint8Array(50_000));
      const ghostFile = h.manifestOf(ghostData, "ghost on the tracker.bin");
      await using _silent = h.listedFake(tracker, ghostData, ghostFile, {
        behaviour: "silent",
      });
      const ghostId = toHex(ghostFile.id);
      await input.fill(
        `magnet:?xt=urn:btmh:1220${ghostId}&dn=ghost%20file.bin&tr=${
          encodeURIComponent(announce)
        }`,
      );
      await pageB.getByRole("button", { name: "Start Download" }).click();
      const ghost = pageB.locator(`.dl:has(.id-chip [title="${ghostId}"])`);
      await ghost.and(pageB.locator('[data-state="finding"]')).waitFor();
      assert.equal(
        (await ghost.locator(".dl-name").textContent())?.trim(),
        "ghost file.bin",
      );
      await pageB.close();
      await stopPeer(b);
      peers.pop();
      const b2 = await startUiPeer(tracker, dirB.path, { giveUpAfterS: 120 });
      peers.push(b2);
      pageB = await openPeerPage(context, b2.url);
      const ghostAgain = pageB.locator(
        `.dl:has(.id-chip [title="${ghostId}"])`,
      );
      await ghostAgain.waitFor();
      assert.equal(
        (await ghostAgain.locator(".dl-name").textContent())?.trim(),
        "ghost file.bin",
      );
      assert.equal(
        await ghostAgain.getAttribute("data-state"),
        "finding",
        "the magnet download did not resume",
      );
      await pageB.locator('.dl[data-state="done"]', { hasText: name })
        .waitFor();
      await context.close();
    } finally {
      for (const peer of peers) await stopPeer(peer);
    }
  },
);

browserTest(
  "web page: peer list, pause/resume/remove, stop seeding, limits, a peer restart and a 390 px phone",
  async () => {
    await using tracker = await h.startTracker();
    await using seedDir = await h.tempDir();
    await using dirB = await h.tempDir();
    const name = "a-rather-long-file-name-for-a-phone-screen-shoal.bin";
    // 6 MB at 1 MB/s: a download that runs long enough to watch.
    await using original = await sourceFile(name, 6_000_000, 11);
    const seeder = await h.startSeeder(tracker, [original.path], seedDir.path, [
      "--max-upload",
      "1000000",
    ]);
    let uiPort = 0;
    let b: UiPeer | null = null;
    try {
      // A fixed port, for the restart below; another parallel test may take
      // a free port before the peer binds it, so try another then.
      for (let attempt = 1; b === null; attempt++) {
        // A free port: the restarted peer must get the same one.
        uiPort = h.freePort();
        b = await startUiPeer(tracker, dirB.path, { uiPort }).catch(
          (error) => {
            if (attempt >= 3) throw error;
            return null;
          },
        );
      }
      await using browser = await launchChromium();
      const context = await desktopContext(browser);
      const page = await openPeerPage(context, b.url);
      // The browser's notifications, recorded (headless Chromium shows none).
      await page.evaluate(`(() => {
        window.shown = [];
        class Recorded {
          constructor(title, options) { window.shown.push(title + ": " + options.body); }
        }
        Recorded.permission = "granted";
        Recorded.requestPermission = async () => "granted";
        window.Notification = Recorded;
      })()`);

      // Start by name; the seeder shows in the peer list.
      await page.locator("#download-name").fill(name);
      await page.getByRole("button", { name: "Start Download" }).click();
      const card = page.locator(".dl", { hasText: name });
      await card.and(page.locator('[data-state="downloading"]')).waitFor();
      // "downloading" shows as the transfer begins, the peer a moment later.
      await card.locator(".peer-count", { hasText: /^1 peer$/ }).waitFor();
      await card.locator(".dl-peers summary").click();
      const peerRow = card.locator(".dl-peers tbody tr");
      await peerRow.waitFor();
      const peerText = (await peerRow.textContent()) ?? "";
      assert.match(peerText, new RegExp(`:${seeder.port}`));
      assert.match(peerText, /Shoal/);
      assert.match(peerText, /100 %/, "the seeder holds the whole file");
      await card.locator(".graph").waitFor();
      assert.match(await page.title(), /^\d+ % · 1 download · Shoal$/);

      // 390 px wide: nothing scrolls sideways.
      await assertFitsPhone(page);
      await screenshot(page, "phone");
      await page.setViewportSize({ width: 1100, height: 820 });

      // Pause with a press held across updates (a slow click, or a busy
      // machine): a card rebuilt between press and release lost the click.
      const pause = (await card.getByRole("button", { name: "Pause" })
        .boundingBox())!;
      await page.mouse.move(
        pause.x + pause.width / 2,
        pause.y + pause.height / 2,
      );
      await page.mouse.down();
      // Progress comes a few times a second meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await page.mouse.up();
      await card.and(page.locator('[data-state="paused"]')).waitFor({
        timeout: 10_000,
      });
      await card.getByRole("button", { name: "Resume" }).click();
      await card.and(page.locator('[data-state="downloading"]')).waitFor();

      // Limits from the page.
      await page.locator("#limit-down").fill("2");
      await page.locator("#slots").fill("3");
      await page.locator("#save-limits").click();
      await page.locator("#limits-now", {
        hasText: "download 2.0 MB/s, 3 upload slots",
      }).waitFor();

      // The peer restarts (same folder, same port) mid-download: the open
      // page reconnects by itself and the download goes on.
      await stopPeer(b);
      const before = b.token;
      b = null;
      await page.locator("#connection:not(.live)").waitFor();
      b = await startUiPeer(tracker, dirB.path, { uiPort });
      assert.equal(b.token, before, "the token survived the restart");
      const tokenInfo = await Deno.stat(join(dirB.path, ".shoal", "web-token"));
      assert.equal(tokenInfo.mode! & 0o777, 0o600);
      await page.locator("#connection.live").waitFor();
      // The limits set on the page came back with the peer.
      await page.locator("#limits-now", {
        hasText: "download 2.0 MB/s, 3 upload slots",
      }).waitFor();
      const done = page.locator('.dl[data-state="done"]', { hasText: name });
      await done.waitFor({ timeout: 60_000 });
      await h.assertFileHash(join(dirB.path, name), original.hash);
      assert.match(await page.title(), /^Done: .* · Shoal$/);
      assert.deepEqual(await page.evaluate("window.shown"), [
        `Download finished: ${name} (6.0 MB)`,
      ]);
      // A reload works (the cookie carries the same token).
      await page.reload();
      await page.locator("#connection.live").waitFor();
      await done.waitFor();
      assert.doesNotMatch(
        (await page.locator("body").textContent()) ?? "",
        /Forbidden/,
      );

      // Download again a file this peer seeds: done at once, no "No peers".
      await page.locator("#search").fill("phone-screen");
      const listed = page.locator("#tracker-files tr", { hasText: name });
      await listed.waitFor();
      await listed.getByRole("button", { name: "Download" }).click();
      await page.locator('.dl[data-state="done"]', { hasText: name }).nth(1)
        .waitFor({ timeout: 5_000 });
      assert.equal(await page.locator(".dl-error").count(), 0);

      // Stop seeding without deleting: the file stays.
      const seedRow = page.locator("#seeds tr", { hasText: name });
      await seedRow.getByRole("button", { name: "Stop" }).click();
      await seedRow.getByRole("button", { name: "Stop seeding" }).click();
      await seedRow.waitFor({ state: "detached" });
      await h.assertFileHash(join(dirB.path, name), original.hash);

      // Remove a finished download with its file.
      const first = page.locator('.dl[data-state="done"]').first();
      await first.getByRole("button", { name: "Remove" }).click();
      await first.getByRole("button", { name: "Remove and delete file" })
        .click();
      await page.locator(".dl").nth(1).waitFor({ state: "detached" });
      const gone = await Deno.stat(join(dirB.path, name)).then(
        () => false,
        (error) => error instanceof Deno.errors.NotFound,
      );
      assert.ok(gone, "the file was deleted");
      await context.close();
    } finally {
      if (b) await stopPeer(b);
      await seeder.stop();
    }
  },
);

browserTest(
  "web page: the keyboard keeps its place on a download card through its updates, and Enter on Pause pauses it",
  async () => {
    await using tracker = await h.startTracker();
    await using seedDir = await h.tempDir();
    await using dirB = await h.tempDir();
    const name = "by-keyboard.bin";
    // 4 MB at 500 kB/s: seconds of updates.
    await using original = await sourceFile(name, 4_000_000, 12);
    const seeder = await h.startSeeder(tracker, [original.path], seedDir.path, [
      "--max-upload",
      "500000",
    ]);
    let b: UiPeer | null = null;
    try {
      b = await startUiPeer(tracker, dirB.path);
      await using browser = await launchChromium();
      const page = await openPeerPage(await desktopContext(browser), b.url);
      await page.locator("#download-name").fill(name);
      await page.getByRole("button", { name: "Start Download" }).click();
      const card = page.locator(".dl", { hasText: name });
      await card.locator(".peer-count", { hasText: /^1 peer$/ }).waitFor();
      const percent = async () =>
        Number((await card.locator(".percent").textContent())?.split(" ")[0]);
      const before = await percent();
      await card.getByRole("button", { name: "Pause" }).focus();
      // The card is drawn again a few times a second meanwhile.
      await card.locator(".percent", { hasText: /^\d+ %$/ }).filter({
        hasNotText: `${before} %`,
      }).waitFor();
      assert.equal(
        await page.evaluate(() =>
          (globalThis as unknown as {
            document: { activeElement: { textContent: string } | null };
          }).document.activeElement?.textContent
        ),
        "Pause",
      );
      await page.keyboard.press("Enter");
      await card.and(page.locator('[data-state="paused"]')).waitFor({
        timeout: 10_000,
      });
    } finally {
      if (b) await stopPeer(b);
      await seeder.stop();
    }
  },
);

browserTest(
  "web page: the peer list names each peer's program and protocol, a libtorrent seeder beside a Shoal one",
  async (t) => {
    if (!(await hasLibtorrent(t.name))) return;
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    await using dirB = await h.tempDir();
    const name = "mixed-peers.bin";
    const file = join(dir.path, name);
    // 16 pieces of 512 KiB, each seeder at 400 kB/s: about 10 s to watch.
    const { torrentPath } = await fileWithLtTorrent(file, 16 * 512 * 1024, 31);
    const torrent = parseTorrent(await Deno.readFile(torrentPath));
    const lt = await startLtSeeder(torrentPath, dir.path, 400_000);
    const shoal = await h.startSeeder(tracker, [file], join(dir.path, "s"), [
      "--max-upload",
      "400k",
    ]).catch(async (error) => {
      await lt.stop();
      throw error;
    });
    // libtorrent is listed as any peer is: the leecher finds out it speaks BitTorrent.
    listTorrentPeer(tracker, lt.port, torrent);
    let b: UiPeer | null = null;
    try {
      b = await startUiPeer(tracker, dirB.path, { giveUpAfterS: 30 });
      await using browser = await launchChromium();
      const context = await desktopContext(browser);
      const page = await openPeerPage(context, b.url);
      await page.locator("#download-name").fill(toHex(torrent.id));
      await page.getByRole("button", { name: "Start Download" }).click();
      const card = page.locator(".dl", { hasText: name });
      await card.locator(".peer-count", { hasText: /^2 peers$/ }).waitFor();
      await card.locator(".dl-peers summary").click();
      const rows = card.locator(".dl-peers tbody tr");
      const ltRow = rows.filter({ hasText: `:${lt.port}` });
      const shoalRow = rows.filter({ hasText: `:${shoal.port}` });
      // libtorrent tells its name ("libtorrent/2.0.8.0") in its BEP 10 handshake.
      await ltRow.locator(".client", { hasText: /^libtorrent\/\d/ }).waitFor();
      await ltRow.locator(".dialect", { hasText: /^BitTorrent$/ }).waitFor();
      assert.equal(await shoalRow.locator(".client").textContent(), "Shoal");
      assert.equal(await shoalRow.locator(".dialect").textContent(), "Shoal");
      await screenshot(page, "peers");
      // 390 px wide: the client stays, nothing scrolls sideways.
      await assertFitsPhone(page);
      assert.ok(
        await ltRow.locator(".client").isVisible(),
      );
      await card.getByRole("button", { name: "Pause" }).click();
      await card.and(page.locator('[data-state="paused"]')).waitFor();
      await context.close();
    } finally {
      if (b) await stopPeer(b);
      await shoal.stop();
      await lt.stop();
    }
  },
);

browserTest(
  "web page: a seeded file lists who downloads it, a libtorrent leecher and a Shoal one, by program and protocol",
  async (t) => {
    if (!(await hasLibtorrent(t.name))) return;
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    const name = "given-away.bin";
    const file = join(dir.path, name);
    await h.makeFile(file, 4_000_000, 32);
    // 250 kB/s for both leechers together: about 16 s to watch, one
    // leecher or both at a time (the test ends once both were seen). Much
    // slower, a Shoal leecher waits too long for a whole 512 KiB chunk.
    const seeder = await startUiPeer(tracker, join(dir.path, "s"), {
      // Both leechers come from 127.0.0.1, libtorrent with retries too.
      args: [
        "--seed",
        file,
        "--max-upload",
        "250k",
        "--max-conns-per-ip",
        "64",
      ],
    });
    let lt: h.RunningProcess | null = null;
    let shoal: h.RunningProcess | null = null;
    try {
      const port = Number(
        (await seeder.waitFor(/^serving peers on port (\d+)/))[1],
      );
      // Each leecher gets the file from the seeder alone, so both stay in
      // its list: libtorrent is given the seeder, not the tracker (no tr=),
      // and the Shoal leecher hears of no peer from the seeder (no PEX).
      // Once one fed the other, it could finish before the page showed it.
      const magnet = seeder.lines.find((l) => l.startsWith("magnet:"))!
        .replace(/&tr=[^&]*/g, "");
      shoal = h.spawnLeecher(tracker, name, join(dir.path, "shoal"), 60, [
        "--no-pex",
      ]);
      lt = startLtLeecher(magnet, join(dir.path, "lt"), port, 60);
      await using browser = await launchChromium();
      const context = await desktopContext(browser);
      const page = await openPeerPage(context, seeder.url);
      const peers = page.locator("#seeds tr.seed-peers");
      await peers.locator("summary", { hasText: /^Uploading to \d+ peers?$/ })
        .click();
      const rows = peers.locator("tbody tr");
      const ltRow = rows.filter({
        has: page.locator(".client", { hasText: /^libtorrent\/\d/ }),
      });
      await ltRow.locator(".dialect", { hasText: /^BitTorrent$/ }).waitFor();
      const shoalRow = rows.filter({
        has: page.locator(".client", { hasText: /^Shoal$/ }),
      });
      await shoalRow.locator(".dialect", { hasText: /^Shoal$/ }).waitFor();
      await screenshot(page, "seed-peers");
      await context.close();
    } catch (error) {
      // What the leechers said, to tell a slow machine from a bug.
      throw new Error(
        `${error instanceof Error ? error.message : error}\nlibtorrent:\n${
          lt?.lines.join("\n")
        }\nShoal leecher:\n${shoal?.lines.join("\n")}`,
      );
    } finally {
      await lt?.kill();
      await shoal?.kill();
      await stopPeer(seeder);
    }
  },
);

browserTest(
  "web page seeds a folder by its path and lists its files with their sizes",
  async () => {
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    await using source = await h.tempDir();
    const folder = join(source.path, "album");
    await Deno.mkdir(join(folder, "disc 2"), { recursive: true });
    await h.makeFile(join(folder, "cover.jpg"), 1_500_000, 1);
    await h.makeFile(join(folder, "disc 2", "träck.flac"), 2_000_000, 2);
    await Deno.writeFile(join(folder, "empty.txt"), new Uint8Array());
    const peer = await startUiPeer(tracker, dir.path);
    try {
      await using browser = await launchChromium();
      const page = await openPeerPage(await desktopContext(browser), peer.url);
      await page.locator("#seed-path").fill(folder);
      await page.getByRole("button", { name: "Seed path" }).click();
      const seedRow = page.locator("#seeds tr[data-id]", { hasText: "album" })
        .first();
      await seedRow.waitFor();
      assert.match((await seedRow.textContent()) ?? "", /3\.5 MB/);
      const summary = page.locator("#seeds .folder-files summary");
      assert.equal(
        (await summary.textContent())?.trim(),
        "3 files in this folder",
      );
      await summary.click();
      const rows = page.locator("#seeds .folder-files tbody tr");
      await rows.nth(2).waitFor();
      assert.deepEqual(
        await rows.evaluateAll((trs) =>
          trs.map((tr) => [...tr.children].map((td) => td.textContent))
        ),
        [
          ["cover.jpg", "1.5 MB"],
          ["disc 2/träck.flac", "2.0 MB"],
          ["empty.txt", "0 B"],
        ],
      );
    } finally {
      await stopPeer(peer);
    }
  },
);

browserTest(
  "web page downloads a folder and shows each file's size and progress",
  async () => {
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    await using source = await h.tempDir();
    const folder = join(source.path, "photos");
    await Deno.mkdir(join(folder, "2026"), { recursive: true });
    await h.makeFile(join(folder, "2026", "a.jpg"), 1_200_000, 3);
    await h.makeFile(join(folder, "b.jpg"), 700_000, 4);
    await Deno.writeFile(join(folder, "notes.txt"), new Uint8Array());
    const seeder = await h.startSeeder(
      tracker,
      [folder],
      join(dir.path, "seed"),
    );
    const peer = await startUiPeer(tracker, join(dir.path, "ui"));
    try {
      await using browser = await launchChromium();
      const page = await openPeerPage(await desktopContext(browser), peer.url);
      await page.locator("#download-name").fill("photos");
      await page.getByRole("button", { name: "Start Download" }).click();
      const done = page.locator('.dl[data-state="done"]', {
        hasText: "photos",
      });
      await done.waitFor();
      // A folder is not one file to save, nor one the page deletes.
      assert.equal(await done.locator("a.save").count(), 0);
      await done.locator(".dl-files summary", { hasText: "Files (3)" })
        .click();
      const rows = done.locator(".dl-files tbody tr");
      await rows.nth(2).waitFor();
      assert.deepEqual(
        await rows.evaluateAll((trs) =>
          trs.map((tr) => [...tr.children].map((td) => td.textContent))
        ),
        [
          ["2026/a.jpg", "1.2 MB", "100 %"],
          ["b.jpg", "700 kB", "100 %"],
          ["notes.txt", "0 B", "100 %"],
        ],
      );
      await h.assertSameFile(
        join(dir.path, "ui", "photos", "2026", "a.jpg"),
        join(folder, "2026", "a.jpg"),
      );
    } finally {
      await stopPeer(peer);
      await seeder.stop();
    }
  },
);

browserTest(
  "web page: unticking a file of a folder while it downloads leaves it out",
  async () => {
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    await using source = await h.tempDir();
    const folder = join(source.path, "set");
    await Deno.mkdir(folder);
    for (const [i, name] of ["a.bin", "b.bin", "c.bin"].entries()) {
      await h.makeFile(join(folder, name), 1_000_000, 10 + i);
    }
    // 3 MB at 400 kB/s: seconds to untick one before it is done.
    const seeder = await h.startSeeder(tracker, [folder], join(dir.path, "s"), [
      "--max-upload",
      "400K",
    ]);
    const peer = await startUiPeer(tracker, join(dir.path, "ui"), {
      giveUpAfterS: 30,
    });
    try {
      await using browser = await launchChromium();
      const page = await openPeerPage(await desktopContext(browser), peer.url);
      await page.locator("#download-name").fill("set");
      await page.getByRole("button", { name: "Start Download" }).click();
      const card = page.locator(".dl", { hasText: "set" });
      await card.locator(".dl-files summary", { hasText: "Files (3)" })
        .click();
      const tick = card.locator(".dl-files input[aria-label='Download b.bin']");
      await tick.waitFor();
      assert.ok(await tick.isChecked());
      await tick.uncheck();
      await assertDoneWithoutB(page, "set", "1.0 MB");
      const out = join(dir.path, "ui", "set");
      await h.assertSameFile(join(out, "a.bin"), join(folder, "a.bin"));
      await h.assertSameFile(join(out, "c.bin"), join(folder, "c.bin"));
      await assert.rejects(Deno.lstat(join(out, "b.bin")));
    } finally {
      await stopPeer(peer);
      await seeder.stop();
    }
  },
);

/**
 * What a folder download would have written by now: the folder in the
 * download folder, its parts and its resume state (none while it waits for
 * its files to be chosen).
 */
async function writtenFor(
  outDir: string,
  name: string,
  idHex: string,
): Promise<string[]> {
  const id = fromHex(idHex)!;
  const state = join(outDir, ".shoal");
  const paths = [
    join(outDir, name),
    folderPartsPath(state, id),
    resumePath(state, id),
  ];
  const found: string[] = [];
  for (const path of paths) {
    if (await Deno.lstat(path).then(() => true, () => false)) found.push(path);
  }
  return found;
}

/** The download called `name` once it is in `state` (at most WAIT_MS). */
async function downloadIn(
  peer: UiPeer,
  name: string,
  state: string,
): Promise<DownloadRecord> {
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; i < 600; i++) {
    const record = (await peerState(peer)).downloads.find(
      (d: DownloadRecord) => d.name === name,
    ) as DownloadRecord | undefined;
    if (record?.state === state) return record;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`The download of ${name} never reached "${state}"`);
}

/**
 * Waits for the card of the folder download `name` (a.bin, b.bin and c.bin
 * of `size` each) to be done, with a.bin and c.bin at 100 % and b.bin not
 * chosen (the list catches up with the end within a second).
 */
async function assertDoneWithoutB(page: Page, name: string, size: string) {
  const done = page.locator('.dl[data-state="done"]', { hasText: name });
  await done.waitFor({ timeout: 60_000 });
  for (const file of ["a.bin", "c.bin"]) {
    await done.locator(".dl-files tr", { hasText: file })
      .locator(".file-percent", { hasText: "100 %" }).waitFor();
  }
  assert.deepEqual(
    await done.locator(".dl-files tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent!.trim()))
    ),
    [
      ["a.bin", size, "100 %"],
      ["b.bin", size, "not chosen"],
      ["c.bin", size, "100 %"],
    ],
  );
}

/** A folder `name` of three files a.bin, b.bin, c.bin in `parent`. */
async function threeFileFolder(parent: string, name: string, seed: number) {
  const folder = join(parent, name);
  await Deno.mkdir(folder);
  for (const [i, file] of ["a.bin", "b.bin", "c.bin"].entries()) {
    await h.makeFile(join(folder, file), 400_000, seed + i);
  }
  return folder;
}

Deno.test('web page API: a folder chosen first waits in "choosing", writing nothing, across a pause, a restart and a remove', async () => {
  await using tracker = await h.startTracker();
  await using dir = await h.tempDir();
  await using source = await h.tempDir();
  const folder = await threeFileFolder(source.path, "held", 20);
  const single = join(source.path, "one.bin");
  await h.makeFile(single, 300_000, 25);
  const seeder = await h.startSeeder(
    tracker,
    [folder, single],
    join(dir.path, "s"),
  );
  const out = join(dir.path, "ui");
  // Waiting for the user is not the peers' fault: it outlasts this.
  const giveUpAfterS = 3;
  let peer = await startUiPeer(tracker, out, { giveUpAfterS });
  try {
    const bad = await peerApi(peer, "/api/downloads", {
      name: "held",
      chooseFirst: "yes",
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /chooseFirst must be true or false/);

    const started = await peerApi(peer, "/api/downloads", {
      name: "held",
      chooseFirst: true,
    });
    assert.equal(started.status, 202);
    await started.body?.cancel();
    let record = await downloadIn(peer, "held", "choosing");
    assert.equal(record.fileCount, 3);
    assert.equal(record.percent, 0);
    const files = await (await peerApi(
      peer,
      `/api/downloads/${record.key}/files`,
    )).json();
    assert.deepEqual(
      files.files.map((f: FileProgress) => [
        f.path,
        f.chosen,
        f.chunksDone,
      ]),
      [["a.bin", true, 0], ["b.bin", true, 0], ["c.bin", true, 0]],
    );
    // Longer than the give-up time: still waiting, still nothing written.
    await new Promise((resolve) =>
      setTimeout(resolve, giveUpAfterS * 1000 + 1000)
    );
    record = await downloadIn(peer, "held", "choosing");
    assert.deepEqual(await writtenFor(out, "held", record.fileId), []);

    // Paused, and resumed: it asks again.
    assert.equal(
      (await peerApi(peer, `/api/downloads/${record.key}/pause`, {})).status,
      200,
    );
    await downloadIn(peer, "held", "paused");
    assert.deepEqual(await writtenFor(out, "held", record.fileId), []);
    await (await peerApi(peer, `/api/downloads/${record.key}/resume`, {}))
      .body?.cancel();
    record = await downloadIn(peer, "held", "choosing");

    // The peer restarts meanwhile: it asks again, it fetches nothing.
    await stopPeer(peer);
    peer = await startUiPeer(tracker, out, { giveUpAfterS });
    record = await downloadIn(peer, "held", "choosing");
    assert.deepEqual(await writtenFor(out, "held", record.fileId), []);

    // Removed with its data: nothing is left, and nothing was written.
    assert.equal(
      (await peerApi(peer, `/api/downloads/${record.key}/remove`, {
        deleteData: true,
      })).status,
      200,
    );
    assert.deepEqual((await peerState(peer)).downloads, []);
    assert.deepEqual(await writtenFor(out, "held", record.fileId), []);

    // Started again and chosen: only the chosen files are fetched.
    await (await peerApi(peer, "/api/downloads", {
      name: "held",
      chooseFirst: true,
    })).body?.cancel();
    record = await downloadIn(peer, "held", "choosing");
    const chosen = await peerApi(peer, `/api/downloads/${record.key}/files`, {
      files: [0, 2],
    });
    assert.equal(chosen.status, 200);
    await chosen.body?.cancel();
    await downloadIn(peer, "held", "done");
    await h.assertSameFile(join(out, "held", "a.bin"), join(folder, "a.bin"));
    await h.assertSameFile(join(out, "held", "c.bin"), join(folder, "c.bin"));
    await assert.rejects(Deno.lstat(join(out, "held", "b.bin")));

    // A single file has nothing to choose: it just downloads.
    await (await peerApi(peer, "/api/downloads", {
      name: "one.bin",
      chooseFirst: true,
    })).body?.cancel();
    await downloadIn(peer, "one.bin", "done");
    await h.assertSameFile(join(out, "one.bin"), single);
  } finally {
    await stopPeer(peer);
    await seeder.stop();
  }
});

browserTest(
  'web page: with "Choose files first" a folder\'s files are listed before any is fetched, and only the ticked ones are downloaded',
  async () => {
    await using tracker = await h.startTracker();
    await using dir = await h.tempDir();
    await using source = await h.tempDir();
    const folder = await threeFileFolder(source.path, "picks", 30);
    const seeder = await h.startSeeder(
      tracker,
      [folder],
      join(dir.path, "s"),
    );
    const out = join(dir.path, "ui");
    const peer = await startUiPeer(tracker, out, { giveUpAfterS: 30 });
    try {
      await using browser = await launchChromium();
      const page = await openPeerPage(await desktopContext(browser), peer.url);
      await page.locator("#download-name").fill("picks");
      await page.getByLabel("Choose files first").check();
      await page.getByRole("button", { name: "Start Download" }).click();
      const card = page.locator('.dl[data-state="choosing"]', {
        hasText: "picks",
      });
      await card.waitFor();
      assert.equal(
        (await card.locator(".dl-state").textContent())?.trim(),
        "Choose files",
      );
      assert.equal(
        (await card.locator(".percent").textContent())?.trim(),
        "0 %",
      );
      const ticks = card.locator(".dl-files input.file-tick");
      await ticks.nth(2).waitFor();
      assert.deepEqual(
        await ticks.evaluateAll((boxes) =>
          boxes.map((box) => (box as unknown as { checked: boolean }).checked)
        ),
        [true, true, true],
      );
      await screenshot(page, "choose-files");
      const id = (await downloadIn(peer, "picks", "choosing")).fileId;
      assert.deepEqual(await writtenFor(out, "picks", id), []);

      // A list the user closes stays closed when the card is drawn again
      // (here after a settings change, which every page is told of).
      await card.evaluate((node) => node.setAttribute("data-seen", ""));
      await card.locator(".dl-files summary").click();
      const settings = await peerApi(peer, "/api/settings", {
        uploadSlots: 5,
      });
      assert.equal(settings.status, 200);
      await settings.body?.cancel();
      const redrawn = page.locator(
        '.dl[data-state="choosing"]:not([data-seen])',
        { hasText: "picks" },
      );
      await redrawn.waitFor();
      assert.equal(
        await redrawn.locator(".dl-files").evaluate((node) =>
          (node as unknown as { open: boolean }).open
        ),
        false,
      );
      await redrawn.locator(".dl-files summary").click();
      await ticks.nth(2).waitFor();

      // No file at all: one line says what to do, and it still waits.
      for (let i = 0; i < 3; i++) await ticks.nth(i).uncheck();
      await card.getByRole("button", { name: "Download ticked files" })
        .click();
      await page.locator("#message-text", {
        hasText: "Cannot choose no file of picks: tick at least one",
      }).waitFor();
      await downloadIn(peer, "picks", "choosing");

      // Ticking is not sending: b.bin stays chosen until the button says.
      await card.locator("input[aria-label='Download a.bin']").check();
      await card.locator("input[aria-label='Download c.bin']").check();
      const key = (await downloadIn(peer, "picks", "choosing")).key;
      const listed = await (await peerApi(peer, `/api/downloads/${key}/files`))
        .json();
      assert.ok(listed.files.every((f: { chosen: boolean }) => f.chosen));
      assert.deepEqual(await writtenFor(out, "picks", id), []);
      await card.getByRole("button", { name: "Download ticked files" })
        .click();

      await assertDoneWithoutB(page, "picks", "400 kB");
      await h.assertSameFile(
        join(out, "picks", "a.bin"),
        join(folder, "a.bin"),
      );
      await h.assertSameFile(
        join(out, "picks", "c.bin"),
        join(folder, "c.bin"),
      );
      await assert.rejects(Deno.lstat(join(out, "picks", "b.bin")));
    } finally {
      await stopPeer(peer);
      await seeder.stop();
    }
  },
);
