/**
 * The peer's web page in tests: a real peer process started with `--ui`
 * (its printed address and token), and headless Chromium (through
 * playwright-core) opening that page.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";
import { type RunningProcess, spawnPeer, type TrackerArg } from "./peers.ts";

/** The Chromium the browser tests drive (.ci/run installs it). */
export const CHROMIUM = "/usr/bin/chromium";
/** How long a page step may take before the test fails. */
export const WAIT_MS = 30_000;

/** Whether {@linkcode CHROMIUM} is installed; warns once when not. */
export async function hasChromium(): Promise<boolean> {
  const ok = await Deno.stat(CHROMIUM).then(() => true, () => false);
  if (!ok) {
    // deno-lint-ignore no-console
    console.warn(
      `Skipping the web page browser test: ${CHROMIUM} is missing (apt-get install chromium, as .ci/run does)`,
    );
  }
  return ok;
}

/** A peer process serving its web page. */
export interface UiPeer extends RunningProcess {
  /** The printed address, with the token. */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The token (kept in OUT/.shoal across restarts). */
  token: string;
}

/**
 * Starts a peer with `--ui` on `uiPort` (0: any free port) and its state in
 * `outDir`, and waits for the address it prints.
 *
 * @param options the UI port, `--give-up-after` (the peer's default unless
 *   given) and more flags
 */
export async function startUiPeer(
  tracker: TrackerArg,
  outDir: string,
  options: { uiPort?: number; args?: string[]; giveUpAfterS?: number } = {},
): Promise<UiPeer> {
  const giveUp = options.giveUpAfterS === undefined
    ? []
    : ["--give-up-after", String(options.giveUpAfterS)];
  const process = spawnPeer(tracker, [
    "--ui",
    "--ui-port",
    String(options.uiPort ?? 0),
    "--out",
    outDir,
    ...giveUp,
    ...(options.args ?? []),
  ]);
  try {
    const match = await process.waitFor(
      /^Shoal web page: (http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]{43})$/,
    );
    return Object.assign(process, {
      url: match[0].slice("Shoal web page: ".length),
      origin: match[1]!,
      token: match[2]!,
    });
  } catch (error) {
    await process.kill();
    throw error;
  }
}

/** SIGTERM; the peer must exit 0 (its output is in the error otherwise). */
export async function stopPeer(peer: UiPeer): Promise<void> {
  try {
    peer.child.kill("SIGTERM");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // already exited
  }
  const { code, stdout, stderr } = await peer.done(10_000);
  assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
}

/**
 * Asks the peer's web API as its page does, with its token: a GET, or a
 * POST of `body` as JSON.
 */
export async function peerApi(
  peer: UiPeer,
  path: string,
  body?: unknown,
): Promise<Response> {
  return await fetch(`${peer.origin}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      "x-shoal-token": peer.token,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/**
 * What the page reads from `/api/state` (seeds, downloads, totals, limits),
 * asked with the peer's token; the answer must be 200.
 */
// deno-lint-ignore no-explicit-any
export async function peerState(peer: UiPeer): Promise<any> {
  const response = await peerApi(peer, "/api/state");
  assert.equal(response.status, 200);
  return await response.json();
}

/**
 * Headless Chromium, with nothing that reaches past loopback on its own;
 * `await using` closes it.
 */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: WAIT_MS,
  });
  return Object.assign(browser, {
    [Symbol.asyncDispose]: () => browser.close(),
  });
}

/** A desktop-sized browser context whose steps wait at most WAIT_MS. */
export async function desktopContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1100, height: 820 },
    ...options,
  });
  context.setDefaultTimeout(WAIT_MS);
  return context;
}

/** Opens a peer's page (`url` with its token) and waits until it is live. */
export async function openPeerPage(
  context: BrowserContext,
  url: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.locator("#connection.live").waitFor();
  return page;
}

/**
 * Narrows `page` to a 390 px phone and asserts nothing scrolls sideways
 * (the page stays that narrow: the caller widens it again).
 */
export async function assertFitsPhone(page: Page): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const width = await page.evaluate<number>(
    "document.documentElement.scrollWidth",
  );
  assert.ok(width <= 390, `the page is ${width} px wide at 390 px`);
}
