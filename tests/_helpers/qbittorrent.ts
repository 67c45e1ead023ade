/**
 * qBittorrent (`qbittorrent-nox`, Debian) as a process on loopback, driven
 * through its web API, for the interop test. Its profile is written before
 * it starts, so it never reaches past loopback: DHT, local discovery, peer
 * exchange, UPnP / NAT-PMP and the peer-country lookup (a download of a
 * geolocation database) off, listening and answering on 127.0.0.1 only,
 * TCP only, encryption as qBittorrent ships it ("allow").
 *
 * @module
 */
import { join } from "node:path";
import { freePort, type RunningProcess, spawnDenoWith } from "./peers.ts";

/** The qBittorrent binary. */
export const QBITTORRENT = "qbittorrent-nox";

/**
 * Whether qbittorrent-nox can run; when not, warns that `what` is skipped.
 *
 * @param what the test that needs it, for the warning
 */
export async function hasQbittorrent(what: string): Promise<boolean> {
  const ok = await new Deno.Command(QBITTORRENT, {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  }).output().then((out) => out.success, () => false);
  if (!ok) {
    // deno-lint-ignore no-console
    console.warn(
      `Skipping ${what}: ${QBITTORRENT} is not installed (apt-get install qbittorrent-nox)`,
    );
  }
  return ok;
}

/** A running qBittorrent and its web API. */
export interface Qbittorrent extends AsyncDisposable {
  process: RunningProcess;
  /** Its BitTorrent port on 127.0.0.1. */
  port: number;
  /** GET (no body) or POST (form body) to `/api/v2/PATH`; the answer's text. */
  api(path: string, body?: FormData | URLSearchParams): Promise<string>;
}

/**
 * Starts qbittorrent-nox with a fresh profile in `dir`, saving downloads to
 * `saveDir`, and waits (at most 20 s) until its web API answers.
 */
export async function startQbittorrent(
  dir: string,
  saveDir: string,
): Promise<Qbittorrent> {
  const port = freePort();
  const webPort = freePort();
  const config = join(dir, "qBittorrent", "config");
  await Deno.mkdir(config, { recursive: true });
  await Deno.writeTextFile(
    join(config, "qBittorrent.conf"),
    [
      "[LegalNotice]",
      "Accepted=true",
      "",
      "[BitTorrent]",
      "Session\\DHTEnabled=false",
      "Session\\LSDEnabled=false",
      "Session\\PeXEnabled=false",
      `Session\\Port=${port}`,
      "Session\\InterfaceAddress=127.0.0.1",
      `Session\\DefaultSavePath=${saveDir}`,
      "Session\\TempPathEnabled=false",
      "Session\\QueueingSystemEnabled=false",
      "Session\\BTProtocol=TCP",
      "Session\\AddTrackersEnabled=false",
      // Rate limits hold for loopback peers too.
      "Session\\IgnoreLimitsOnLAN=false",
      "",
      "[Network]",
      "PortForwardingEnabled=false",
      "",
      "[Preferences]",
      "Connection\\ResolvePeerCountries=false",
      "WebUI\\Address=127.0.0.1",
      `WebUI\\Port=${webPort}`,
      "WebUI\\LocalHostAuth=false",
      "WebUI\\CSRFProtection=false",
      "WebUI\\HostHeaderValidation=false",
      "",
    ].join("\n"),
  );
  const process = spawnDenoWith([`--profile=${dir}`], { binary: QBITTORRENT });
  const base = `http://127.0.0.1:${webPort}/api/v2/`;
  const api = async (path: string, body?: FormData | URLSearchParams) => {
    const response = await fetch(
      base + path,
      body ? { method: "POST", body } : {},
    );
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`qBittorrent ${path}: ${response.status} ${text}`);
    }
    return text;
  };
  const deadline = performance.now() + 20_000;
  for (;;) {
    try {
      await api("app/version");
      break;
    } catch (error) {
      if (performance.now() > deadline) {
        await process.stop();
        throw new Error(`qBittorrent's web API did not answer: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    process,
    port,
    api,
    async [Symbol.asyncDispose]() {
      await process.stop();
    },
  };
}
