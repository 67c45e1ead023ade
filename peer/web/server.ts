/**
 * The peer's web page: `Deno.serve` on loopback with a JSON API, a stream of
 * server-sent events for live progress, file links, and the static page.
 * Every request passes {@linkcode RequestGuard} first.
 *
 * API (all JSON; errors are `{ "error": "one line" }`):
 * - `GET  /api/state`: this peer, its seeds, files being hashed, downloads
 * - `GET  /api/events`: the same as `state` events, pushed on every change
 * - `GET  /api/tracker?q=&offset=`: files the tracker knows, by name
 * - `POST /api/seed/upload?name=`: raw file bytes, saved to `<out>/shared/` and seeded
 * - `POST /api/seed/path`: `{ "path": "/abs/file-or-folder" }`, seeded in place
 * - `POST /api/downloads`: `{ "name": "..." }` (what `--get` takes: a name,
 *   also in another case when only one file has it, the first 8 or more hex
 *   digits of an id, a 64-hex-digit id, or a v2 magnet link; a name or id
 *   prefix is looked up once the download runs, and one that fits no file
 *   or several fails it with code "unknown_file", suggesting the closest
 *   names, or "ambiguous", with the candidates) or `{ "id": "hex" }`; with
 *   `"chooseFirst": true` a folder waits in state "choosing" for `.../files`
 *   before fetching anything
 * - `POST /api/downloads/:key/pause`, `.../resume`, `.../remove` (`{ "deleteData": bool }`)
 * - `POST /api/downloads/clear`: forgets finished and failed downloads
 * - `POST /api/downloads/:key/files`: `{ "files": [places] | null }`, the files of a
 *   folder download to fetch (it starts again with them; null: all)
 * - `GET  /api/downloads/:key/files`: a folder download's files with their progress,
 *   `{ "files": [{ "path", "size", "chunkCount", "chunksDone", "chosen" }], "total" }`
 * - `POST /api/seeds/:id/remove`: `{ "deleteFile": bool }`, stops seeding a file
 * - `GET  /api/seeds/:id/files`: a seeded folder's files, `{ "files": [{ "path", "size" }], "total" }`
 * - `POST /api/settings`: `{ "maxUploadBytesPerSecond": n|null, "maxDownloadBytesPerSecond": n|null, "uploadSlots": n }`
 * - `GET  /files/:id`: a complete file inside the download folder, as an attachment
 * - `GET  /torrents/:id`: a shared file's `.torrent` (BEP 52), as an attachment
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { isAbsolute, join, relative, resolve } from "node:path";
import {
  encodeTorrent,
  fromHex,
  isMagnetLink,
  magnetLink,
  parseMagnet,
  ProtocolError,
} from "@shoal/protocol";
import type { PeerLimits, PeerNode } from "../node.ts";
import type { SharedFile } from "../library/library.ts";
import { SeedError } from "../library/library.ts";
import { TrackerError } from "../tracker_client.ts";
import { findFile } from "../find_file.ts";
import { attachmentDisposition } from "./attachment.ts";
import { RequestGuard } from "./guard.ts";
import { loadOrCreateToken } from "./token_file.ts";
import { fileStore } from "./saved_downloads.ts";
import {
  LimitsError,
  loadSavedLimits,
  parseLimits,
  saveLimits,
} from "./saved_limits.ts";
import type { Totals } from "../totals_file.ts";
import {
  DownloadManager,
  type DownloadManagerOptions,
  type DownloadRecord,
  type FileView,
  fileView,
  pageText,
  StartError,
  type StartOptions,
} from "./downloads.ts";
import { receiveUpload, UploadError } from "./upload.ts";

const logger = getLogger(["shoal", "peer", "web"]);

/** Largest upload accepted by default: 64 GiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
/** Largest JSON body accepted. */
const MAX_JSON_BYTES = 16 * 1024;
/** Largest list of ticked files: 100,000 places of up to 6 digits. */
const MAX_CHOICE_BYTES = 1024 * 1024;
/** Events are sent at most this often. */
const EVENT_THROTTLE_MS = 200;
/** A comment line keeps idle event streams open through proxies. */
const EVENT_KEEPALIVE_MS = 15_000;
/** Most files of a folder one `GET .../files` lists (about 1 MB of JSON). */
const MAX_LISTED_FILES = 10_000;

/** How often the page is told of uploads (they change no download or seed). */
const UPLOAD_WATCH_MS = 1_000;
/** Looks after the last byte out, so the rates shown fall to zero (3 s window). */
const UPLOAD_QUIET_LOOKS = 4;

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

/** Options for {@linkcode startWebUi}. */
export interface WebUiOptions {
  /** Stops the server, the event streams and the page's downloads. */
  signal: AbortSignal;
  /** Port to serve on; 0 picks a free one. @default {8080} */
  port?: number;
  /** Address to bind. @default {"127.0.0.1"} */
  hostname?: string;
  /** The token. @default {the one saved in the state folder, or a new one saved there} */
  token?: string;
  /**
   * Keep the download list in the state folder and resume it at start.
   * @default {true}
   */
  keepDownloads?: boolean;
  /** Largest file accepted from the file picker. @default {DEFAULT_MAX_UPLOAD_BYTES} */
  maxUploadBytes?: number;
  /** The folder relative paths typed on the page start from. @default {Deno.cwd()} */
  cwd?: string;
  /** How the trackers are shown on the page ("a:1, b:2"). @default {""} */
  trackerLabel?: string;
  /**
   * The trackers the magnet links and `.torrent` files the page hands out
   * name, e.g. `["udp://127.0.0.1:6969/announce"]`. @default {[]}
   */
  trackerUrls?: string[];
  /** Limits for the page's downloads. */
  downloads?: DownloadManagerOptions;
  /**
   * Keep the limits set on the page in the state folder and set them again
   * at start. @default {true}
   */
  keepLimits?: boolean;
  /** Limits the command line set: they win over the saved ones. @default {[]} */
  fixedLimits?: (keyof PeerLimits)[];
}

/** A running web page. */
export interface WebUi {
  /** The address to open, with the token. */
  url: string;
  /** The page's origin, without the token. */
  origin: string;
  /** The bound port. */
  port: number;
  /** The token. */
  token: string;
  /** Resolves once the server, streams and downloads have stopped. */
  finished: Promise<void>;
}

interface SeedView {
  id: string;
  name: string;
  size: number;
  chunkCount: number;
  path: string;
  complete: boolean;
  stale: boolean;
  fileUrl: string | null;
  /** Its v2 magnet link, naming this peer's tracker; null while stale. */
  magnet: string | null;
  /** Where its `.torrent` is served; null while stale. */
  torrentUrl: string | null;
  /** Whether the page may delete it (only files in the download folder). */
  deletable: boolean;
  /** A folder's number of files (listed by `GET /api/seeds/:id/files`); null for a file. */
  fileCount: number | null;
  upBytesPerSecond: number;
  /** The peers it is being sent to lately (who downloads from us). */
  peerList: SeedPeerView[];
}

/** A peer we upload a seeded file to, as the page shows it. */
interface SeedPeerView {
  /** "host:port". */
  address: string;
  /** Its program: "Shoal", or a BitTorrent client's own name (cleaned, bounded). */
  client: string;
  /** "Shoal" or "BitTorrent". */
  dialect: "Shoal" | "BitTorrent";
  /** Bytes per second sent to it lately. */
  upBytesPerSecond: number;
}

interface HashingView {
  key: string;
  name: string;
  bytes: number;
  size: number;
}

interface Snapshot {
  peer: {
    port: number;
    outDir: string;
    sharedDir: string;
    /** The trackers, "a:1, b:2" ("" for none). */
    tracker: string;
    /** The DHT node's UDP port; 0 when the DHT is off. */
    dhtPort: number;
  };
  totals: {
    uploadedBytes: number;
    downloadedBytes: number;
    ratio: number | null;
  };
  limits: PeerLimits;
  seeds: SeedView[];
  hashing: HashingView[];
  downloads: DownloadRecord[];
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
    },
  });
}

function errorJson(status: number, message: string): Response {
  return json({ error: message }, status);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

async function readJson(
  request: Request,
  maxBytes = MAX_JSON_BYTES,
): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) {
    throw new HttpError(415, "Cannot read the request: expected JSON");
  }
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > maxBytes) {
    throw new HttpError(413, "Cannot read the request: it is too large");
  }
  const text = await request.text();
  if (text.length > maxBytes) {
    throw new HttpError(413, "Cannot read the request: it is too large");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Cannot read the request: it is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "Cannot read the request: expected an object");
  }
  return value as Record<string, unknown>;
}

/** The page's totals: over all runs, and the ratio (null before any download). */
function totalsView(totals: Totals): Snapshot["totals"] {
  return {
    ...totals,
    ratio: totals.downloadedBytes > 0
      ? totals.uploadedBytes / totals.downloadedBytes
      : null,
  };
}

function readLimits(body: Record<string, unknown>): Partial<PeerLimits> {
  try {
    return parseLimits(body);
  } catch (error) {
    if (error instanceof LimitsError) throw new HttpError(400, error.message);
    throw error;
  }
}

async function loadStatic(): Promise<
  Map<string, { body: string; type: string }>
> {
  const files: [string, string, string][] = [
    ["/", "index.html", "text/html; charset=utf-8"],
    ["/app.js", "app.js", "text/javascript; charset=utf-8"],
    ["/app.css", "app.css", "text/css; charset=utf-8"],
  ];
  const map = new Map<string, { body: string; type: string }>();
  for (const [route, file, type] of files) {
    const body = await Deno.readTextFile(
      new URL(`./static/${file}`, import.meta.url),
    );
    map.set(route, { body, type });
  }
  return map;
}

/**
 * Serves the peer's web page until `signal` aborts.
 *
 * @param node the running peer
 * @param options signal, port, token, limits
 * @returns the address (with the token) and a promise for the end
 * @example
 * ```ts
 * // const stop = new AbortController();
 * // const ui = await startWebUi(node, { signal: stop.signal, port: 0 });
 * // console.log(ui.url); ... stop.abort(); await ui.finished;
 * ```
 */
export async function startWebUi(
  node: PeerNode,
  options: WebUiOptions,
): Promise<WebUi> {
  const token = options.token ?? await loadOrCreateToken(node.stateDir);
  const hostname = options.hostname ?? "127.0.0.1";
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const cwd = options.cwd ?? Deno.cwd();
  const outDir = resolve(node.outDir);
  const sharedDir = join(outDir, "shared");
  const statics = await loadStatic();
  const trackerUrls = options.trackerUrls ?? [];
  const manager = new DownloadManager({
    download: (query, downloadOptions) => node.download(query, downloadOptions),
    // What was typed is found as `--get` finds it (a short id, another case).
    find: (text) => findFile(node.tracker, text),
    discardPartial: (idHex) => node.discardPartial(idHex),
    deleteFile: (idHex, path) => forgetSeed(idHex, true, path),
    uploadRates: (idHex) => node.uploadRates(idHex),
  }, {
    ...(options.keepDownloads === false
      ? {}
      : { store: fileStore(node.stateDir) }),
    ...options.downloads,
  });
  const hashing = new Map<string, HashingView>();
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  let guard: RequestGuard | null = null;
  let port = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;

  function seedView(file: SharedFile): SeedView {
    const path = resolve(file.path);
    const complete = file.have.complete;
    const peers = node.uploadPeers(file.idHex);
    let up = 0;
    for (const peer of peers) up += peer.bytesPerSecond;
    return {
      id: file.idHex,
      name: file.manifest.name,
      size: file.manifest.size,
      chunkCount: file.manifest.chunkCount,
      path,
      complete,
      stale: file.stale,
      fileUrl: complete && !file.stale && inside(outDir, path)
        ? `/files/${file.idHex}`
        : null,
      magnet: file.stale
        ? null
        : magnetLink(file.id, file.manifest.name, trackerUrls),
      torrentUrl: file.stale ? null : `/torrents/${file.idHex}`,
      deletable: complete && inside(outDir, path) &&
        !inside(node.stateDir, path),
      fileCount: file.folder?.manifest.files.length ?? null,
      upBytesPerSecond: Math.round(up),
      peerList: peers.map((peer): SeedPeerView => ({
        // A leecher that serves nothing has no port to name.
        address: peer.address.endsWith(":0")
          ? peer.address.slice(0, -2)
          : peer.address,
        client: peer.client,
        dialect: peer.dialect === "bittorrent" ? "BitTorrent" : "Shoal",
        upBytesPerSecond: Math.round(peer.bytesPerSecond),
      })).sort((a, b) => b.upBytesPerSecond - a.upBytesPerSecond),
    };
  }

  /** Stops seeding a whole file; deletes it too when asked (only inside the download folder). */
  async function forgetSeed(
    idHex: string,
    deleteFile: boolean,
    knownPath?: string,
  ): Promise<void> {
    const id = fromHex(idHex);
    const file = id ? node.library.get(id) : undefined;
    if (!id) return;
    if (file && !file.have.complete) {
      throw new HttpError(
        409,
        `Cannot stop seeding ${file.manifest.name}: it is still downloading; remove the download instead`,
      );
    }
    if (deleteFile && file?.folder) {
      throw new HttpError(
        403,
        `Cannot delete ${file.path}: it is a folder, and the page deletes only files; stop seeding it and delete it yourself`,
      );
    }
    const path = file
      ? resolve(file.path)
      : knownPath !== undefined
      ? resolve(knownPath)
      : null;
    if (
      deleteFile && path !== null &&
      (!inside(outDir, path) || inside(resolve(node.stateDir), path))
    ) {
      throw new HttpError(
        403,
        `Cannot delete ${path}: the page deletes only files in the download folder; stop seeding it and delete it yourself`,
      );
    }
    await node.library.forget(id);
    if (deleteFile && path !== null) {
      await Deno.remove(path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  function snapshot(): Snapshot {
    return {
      peer: {
        port: node.port,
        outDir,
        sharedDir,
        tracker: options.trackerLabel ?? "",
        dhtPort: node.dht?.status.port ?? 0,
      },
      totals: totalsView(node.totals),
      limits: node.limits,
      seeds: node.library.list().map(seedView).sort((a, b) =>
        a.name.localeCompare(b.name)
      ),
      hashing: [...hashing.values()],
      downloads: manager.list(),
    };
  }

  function send(
    controller: ReadableStreamDefaultController<Uint8Array>,
    text: string,
  ): void {
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      // The stream was cancelled between the change and this send.
      clients.delete(controller);
    }
  }

  function flush(): void {
    flushTimer = undefined;
    if (clients.size === 0) return;
    const text = `event: state\ndata: ${JSON.stringify(snapshot())}\n\n`;
    for (const client of [...clients]) send(client, text);
  }

  function changed(): void {
    if (flushTimer === undefined && !options.signal.aborted) {
      flushTimer = setTimeout(flush, EVENT_THROTTLE_MS);
    }
  }

  const unsubscribeLibrary = node.library.onChange(changed);
  const unsubscribeManager = manager.onChange(changed);
  const keepalive = setInterval(() => {
    for (const client of [...clients]) send(client, ": keepalive\n\n");
  }, EVENT_KEEPALIVE_MS);
  // Uploading changes the seeds' rates, peers and the totals: while bytes go
  // out, and a little after, the page hears of it every second.
  let lastUploaded = node.uploadedBytes;
  let quietLooks = UPLOAD_QUIET_LOOKS;
  const uploadWatch = setInterval(() => {
    if (clients.size === 0) return;
    const uploaded = node.uploadedBytes;
    if (uploaded !== lastUploaded) {
      lastUploaded = uploaded;
      quietLooks = 0;
    } else if (quietLooks >= UPLOAD_QUIET_LOOKS) return;
    else quietLooks++;
    changed();
  }, UPLOAD_WATCH_MS);

  function events(): Response {
    let self: ReadableStreamDefaultController<Uint8Array> | null = null;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        self = controller;
        clients.add(controller);
        send(
          controller,
          `retry: 2000\n\nevent: state\ndata: ${
            JSON.stringify(snapshot())
          }\n\n`,
        );
      },
      cancel() {
        if (self) clients.delete(self);
      },
    });
    return new Response(stream, {
      headers: {
        ...SECURITY_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
      },
    });
  }

  async function seedTracked(path: string, name: string): Promise<SharedFile> {
    const key = crypto.randomUUID();
    hashing.set(key, { key, name, bytes: 0, size: 0 });
    changed();
    try {
      return await node.seed(path, (bytes, size) => {
        hashing.set(key, { key, name, bytes, size });
        changed();
      });
    } finally {
      hashing.delete(key);
      changed();
    }
  }

  async function tracker(url: URL): Promise<Response> {
    const query = (url.searchParams.get("q") ?? "").slice(0, 200);
    const offset = Math.max(
      0,
      Math.min(Number(url.searchParams.get("offset") ?? "0") || 0, 1_000_000),
    );
    try {
      const result = await node.tracker.list(query, Math.floor(offset), {
        signal: options.signal,
      });
      const files: FileView[] = result.files.map(fileView);
      return json({ total: result.total, offset, files });
    } catch (error) {
      if (!(error instanceof TrackerError)) throw error;
      return errorJson(502, error.message);
    }
  }

  async function serveFile(idHex: string): Promise<Response> {
    const id = /^[0-9a-f]{64}$/.test(idHex) ? fromHex(idHex) : null;
    const file = id ? node.library.get(id) : undefined;
    if (!file || !file.have.complete) {
      return errorJson(404, `No complete file with id ${idHex} on this peer`);
    }
    if (file.folder) {
      // Never read as one file: that would mark the folder changed.
      return errorJson(
        409,
        `Cannot open ${file.manifest.name}: it is a folder; open it from disk`,
      );
    }
    let real: string;
    let root: string;
    try {
      real = await Deno.realPath(file.path);
      root = await Deno.realPath(outDir);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return errorJson(404, `Cannot open ${file.manifest.name}: it is gone`);
      }
      throw error;
    }
    if (!inside(root, real)) {
      return errorJson(
        403,
        `Cannot open ${file.manifest.name}: it is not in the download folder`,
      );
    }
    const handle = await Deno.open(real, { read: true });
    const info = await handle.stat();
    if (
      info.size !== file.manifest.size ||
      (file.mtimeMs !== null && info.mtime?.getTime() !== file.mtimeMs)
    ) {
      // Changed since it was checked: no longer the file the page promised.
      handle.close();
      node.library.markStale(file.id);
      return errorJson(
        409,
        `Cannot open ${file.manifest.name}: it changed on disk since it was checked`,
      );
    }
    return new Response(handle.readable, {
      headers: {
        ...SECURITY_HEADERS,
        "content-security-policy": "sandbox; default-src 'none'",
        "content-type": "application/octet-stream",
        "content-length": String(info.size),
        "content-disposition": attachmentDisposition(file.manifest.name),
      },
    });
  }

  /** A shared file's `.torrent`, built from the manifest the library holds. */
  function serveTorrent(idHex: string): Response {
    const id = fromHex(idHex);
    const file = id ? node.library.get(id) : undefined;
    if (!file) {
      return errorJson(404, `No file with id ${idHex} is shared by this peer`);
    }
    // A copy over a plain ArrayBuffer, as Response wants.
    const bytes = new Uint8Array(
      encodeTorrent(file.manifestBytes, trackerUrls),
    );
    return new Response(bytes, {
      headers: {
        ...SECURITY_HEADERS,
        "content-security-policy": "sandbox; default-src 'none'",
        "content-type": "application/x-bittorrent",
        "content-length": String(bytes.byteLength),
        "content-disposition": attachmentDisposition(
          `${file.manifest.name}.torrent`,
        ),
      },
    });
  }

  /**
   * A seeded folder's files in BEP 52 order, at most
   * {@linkcode MAX_LISTED_FILES} of them (`total` says how many there are).
   */
  function folderFiles(idHex: string): Response {
    const id = fromHex(idHex);
    const folder = id ? node.library.get(id)?.folder : undefined;
    if (!folder) return errorJson(404, "No seeded folder with that id");
    const files = folder.manifest.files;
    return json({
      files: files.slice(0, MAX_LISTED_FILES).map((file) => ({
        path: file.path.join("/"),
        size: file.length,
      })),
      total: files.length,
    });
  }

  /**
   * What the download box asked for: a magnet link (by its infohash, named
   * by its `dn` until the manifest comes), an id, or a name (which the
   * download resolves as `--get` does: see `findFile`).
   */
  function downloadQuery(text: string, options: StartOptions) {
    if (isMagnetLink(text)) {
      try {
        const magnet = parseMagnet(text);
        return manager.start(
          { id: magnet.id },
          magnet.name ?? undefined,
          options,
        );
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        throw new HttpError(400, error.message);
      }
    }
    const id = /^[0-9a-fA-F]{64}$/.test(text)
      ? fromHex(text.toLowerCase())
      : null;
    return manager.start(id ? { id } : { name: text }, undefined, options);
  }

  async function api(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    const method = request.method;
    if (method === "GET" && path === "/api/state") return json(snapshot());
    if (method === "GET" && path === "/api/events") return events();
    if (method === "GET" && path === "/api/tracker") return await tracker(url);
    if (method === "POST" && path === "/api/seed/upload") {
      const name = url.searchParams.get("name") ?? "";
      const saved = await receiveUpload(request, {
        folder: sharedDir,
        name,
        maxBytes: maxUploadBytes,
      });
      return json(seedView(await seedTracked(saved, name)), 201);
    }
    if (method === "POST" && path === "/api/seed/path") {
      const body = await readJson(request);
      if (typeof body.path !== "string" || body.path.trim() === "") {
        throw new HttpError(
          400,
          "Cannot seed: give the path of a file or folder",
        );
      }
      const target = resolve(cwd, body.path.trim());
      return json(seedView(await seedTracked(target, target)), 201);
    }
    if (method === "POST" && path === "/api/downloads") {
      const body = await readJson(request);
      if (
        body.chooseFirst !== undefined && typeof body.chooseFirst !== "boolean"
      ) {
        throw new HttpError(
          400,
          "Cannot download: chooseFirst must be true or false",
        );
      }
      const options = { chooseFirst: body.chooseFirst === true };
      if (typeof body.id === "string") {
        const id = /^[0-9a-fA-F]{64}$/.test(body.id)
          ? fromHex(body.id.toLowerCase())
          : null;
        if (!id) {
          throw new HttpError(
            400,
            `Cannot download: "${body.id}" is not a 64-hex-digit file id`,
          );
        }
        return json(manager.start({ id }, undefined, options), 202);
      }
      if (typeof body.name === "string" && body.name.trim() !== "") {
        return json(downloadQuery(body.name.trim(), options), 202);
      }
      throw new HttpError(
        400,
        "Cannot download: type a file name, an id or a magnet link first",
      );
    }
    if (method === "POST" && path === "/api/downloads/clear") {
      manager.clearFinished();
      return json({ ok: true });
    }
    const action = /^\/api\/downloads\/(d\d+)\/(pause|resume|remove)$/
      .exec(path);
    if (method === "POST" && action) {
      const key = action[1]!;
      if (action[2] === "pause") {
        return manager.pause(key)
          ? json({ ok: true })
          : errorJson(404, "No running download with that key");
      }
      if (action[2] === "resume") return json(manager.resume(key));
      const body = await readJson(request);
      return await manager.remove(key, body.deleteData === true)
        ? json({ ok: true })
        : errorJson(404, "No download with that key");
    }
    const downloadFiles = /^\/api\/downloads\/(d\d+)\/files$/.exec(path);
    if (method === "POST" && downloadFiles) {
      const body = await readJson(request, MAX_CHOICE_BYTES);
      const files = body.files === null ? null : Array.isArray(body.files) &&
          body.files.every((i) => Number.isSafeInteger(i))
        ? body.files as number[]
        : undefined;
      if (files === undefined) {
        throw new HttpError(
          400,
          "Cannot choose files: give { files: [places in the folder] } or { files: null } for all",
        );
      }
      return json(await manager.choose(downloadFiles[1]!, files));
    }
    if (method === "GET" && downloadFiles) {
      const files = manager.files(downloadFiles[1]!);
      if (!files) return errorJson(404, "No folder download with that key");
      return json({
        files: files.slice(0, MAX_LISTED_FILES),
        total: files.length,
      });
    }
    const listed = /^\/api\/seeds\/([0-9a-f]{64})\/files$/.exec(path);
    if (method === "GET" && listed) return folderFiles(listed[1]!);
    const seed = /^\/api\/seeds\/([0-9a-f]{64})\/remove$/.exec(path);
    if (method === "POST" && seed) {
      const body = await readJson(request);
      await forgetSeed(seed[1]!, body.deleteFile === true);
      return json({ ok: true });
    }
    if (method === "POST" && path === "/api/settings") {
      node.setLimits(readLimits(await readJson(request)));
      if (options.keepLimits !== false) {
        await saveLimits(node.stateDir, node.limits);
      }
      changed();
      return json(node.limits);
    }
    return errorJson(404, `No such API call: ${method} ${path}`);
  }

  async function handle(request: Request): Promise<Response> {
    const verdict = guard!.check(request);
    if (!verdict.ok) {
      logger.warn("Refused {method} {url}: {reason}", {
        method: request.method,
        url: request.url,
        reason: verdict.reason,
      });
      return new Response(
        `Forbidden: ${verdict.reason}. Open the address the peer printed (it carries the token).\n`,
        {
          status: 403,
          headers: {
            ...SECURITY_HEADERS,
            "content-type": "text/plain; charset=utf-8",
          },
        },
      );
    }
    const url = new URL(request.url);
    try {
      if (url.pathname.startsWith("/api/")) return await api(request, url);
      const fileMatch = /^\/files\/([0-9a-f]{64})$/.exec(url.pathname);
      if (fileMatch && request.method === "GET") {
        return await serveFile(fileMatch[1]!);
      }
      const torrentMatch = /^\/torrents\/([0-9a-f]{64})$/.exec(url.pathname);
      if (torrentMatch && request.method === "GET") {
        return serveTorrent(torrentMatch[1]!);
      }
      const asset = statics.get(url.pathname);
      if (asset && (request.method === "GET" || request.method === "HEAD")) {
        const body = url.pathname === "/"
          ? asset.body.replace("__SHOAL_TOKEN__", token)
          : asset.body;
        const headers: Record<string, string> = {
          ...SECURITY_HEADERS,
          "content-type": asset.type,
        };
        // Set again on each load: the cookie lives on while the page is used.
        if (url.pathname === "/") headers["set-cookie"] = guard!.cookie();
        return new Response(request.method === "HEAD" ? null : body, {
          headers,
        });
      }
      return errorJson(404, `Not found: ${url.pathname}`);
    } catch (error) {
      if (
        error instanceof HttpError || error instanceof UploadError ||
        error instanceof StartError
      ) {
        return errorJson(error.status, error.message);
      }
      if (error instanceof SeedError) {
        return errorJson(400, pageText(error.message));
      }
      if (error instanceof TrackerError) {
        return errorJson(502, pageText(error.message));
      }
      logger.error("Web request {url} failed: {error}", {
        url: request.url,
        error,
      });
      return errorJson(
        500,
        `Internal error: ${error instanceof Error ? error.message : error}`,
      );
    }
  }

  // What the page set before this restart, unless the command line says otherwise.
  if (options.keepLimits !== false) {
    const saved = await loadSavedLimits(node.stateDir);
    for (const key of options.fixedLimits ?? []) delete saved[key];
    node.setLimits(saved);
  }
  const server = Deno.serve({
    hostname,
    port: options.port ?? 8080,
    signal: options.signal,
    onListen() {},
  }, handle);
  port = server.addr.port;
  const loopback = hostname === "127.0.0.1" || hostname === "localhost" ||
    hostname === "::1";
  guard = new RequestGuard({
    token,
    port,
    extraHosts: loopback
      ? []
      : [hostname.includes(":") ? `[${hostname}]` : hostname],
  });

  await manager.restore();

  const wound = Promise.withResolvers<void>();
  const onAbort = () => {
    clearTimeout(flushTimer);
    clearInterval(keepalive);
    clearInterval(uploadWatch);
    unsubscribeLibrary();
    unsubscribeManager();
    for (const client of clients) {
      try {
        client.close();
      } catch {
        // Already cancelled by the browser.
      }
    }
    clients.clear();
    manager.close().then(() => wound.resolve(), wound.reject);
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener("abort", onAbort, { once: true });

  const hostPart = hostname.includes(":") ? `[${hostname}]` : hostname;
  const origin = `http://${hostPart}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    finished: Promise.all([server.finished, wound.promise]).then(() => {}),
  };
}
