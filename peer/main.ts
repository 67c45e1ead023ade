/**
 * The peer CLI: seed files, download files, or both.
 * See {@linkcode PEER_USAGE} or `deno task peer --help`.
 *
 * @module
 */
import { configure, getConsoleSink, getLogger } from "@logtape/logtape";
import { toHex } from "@shoal/protocol";
import {
  parsePeerFlags,
  PEER_USAGE,
  type PeerFlags,
  UsageError,
} from "./cli_flags.ts";
import { PeerNode } from "./node.ts";
import { SeedError } from "./library/library.ts";
import { DownloadError, type DownloadErrorCode } from "./download/download.ts";
import { TrackerError } from "./tracker_client.ts";
import { formatBytes, formatRate, progressPrinter } from "./progress.ts";
import { startWebUi, type WebUi } from "./web/server.ts";

const logger = getLogger(["shoal", "peer"]);

const EXIT_FOR: Record<DownloadErrorCode, number> = {
  "unknown_file": 3,
  ambiguous: 4,
  "no_peers": 5,
  "unsafe_name": 6,
  exists: 6,
  disk: 6,
  corrupt: 1,
  aborted: 1,
};

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

function fail(line: string): void {
  // deno-lint-ignore no-console
  console.error(`error: ${line}`);
}

/**
 * Runs the peer until its work is done (`--get --no-seed`) or until SIGINT/SIGTERM.
 *
 * @param args command-line flags
 * @param cwd the folder relative paths start from
 * @returns the exit code (see the usage text)
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["--help"], Deno.cwd()); // prints the usage, returns 0
 * ```
 */
export async function main(args: string[], cwd: string): Promise<number> {
  let flags: PeerFlags;
  try {
    flags = parsePeerFlags(args, cwd);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(`${error.message}`);
    return 2;
  }
  if (flags.help) {
    say(PEER_USAGE);
    return 0;
  }
  await configure({
    sinks: { console: getConsoleSink() },
    loggers: [
      { category: ["shoal"], lowestLevel: flags.logLevel, sinks: ["console"] },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["console"],
      },
    ],
  });

  let node: PeerNode;
  try {
    node = await PeerNode.start({
      trackerHost: flags.trackerHost,
      trackerPort: flags.trackerPort,
      outDir: flags.outDir,
      hostname: flags.host,
      port: flags.port,
      serve: flags.serve,
      uploadSlots: flags.uploadSlots,
      partialSeeding: flags.partialSeeding,
      ...(flags.maxUploadBytesPerSecond !== null
        ? { maxUploadBytesPerSecond: flags.maxUploadBytesPerSecond }
        : {}),
      ...(flags.maxDownloadBytesPerSecond !== null
        ? { maxDownloadBytesPerSecond: flags.maxDownloadBytesPerSecond }
        : {}),
      onMisbehaviour: (reason, remote) =>
        logger.warn("Dropped peer {remote}: {reason}", { remote, reason }),
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
    return error instanceof Deno.errors.AddrInUse ? 2 : 1;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let ui: WebUi | null = null;
  try {
    if (flags.ui) {
      ui = await startWebUi(node, {
        signal: stop.signal,
        port: flags.uiPort,
        cwd,
        trackerLabel: `${flags.trackerHost}:${flags.trackerPort}`,
        downloads: { giveUpAfterMs: flags.giveUpAfterMs },
      });
      say(`Shoal web page: ${ui.url}`);
    }
    for (const path of flags.seeds) {
      const file = await node.seed(
        path,
        (bytes, size) =>
          say(`hashing ${path}: ${Math.floor((bytes / size) * 100)}%`),
      );
      say(
        `seeding ${file.manifest.name} (${
          formatBytes(file.manifest.size)
        }, ${file.manifest.chunkCount} chunks) id ${file.idHex}`,
      );
    }
    if (flags.serve) {
      node.startAnnouncing();
      await node.announceNow();
      say(
        `serving peers on port ${node.port}, tracker ${flags.trackerHost}:${flags.trackerPort}`,
      );
    }
    if (flags.get) {
      const printer = progressPrinter(Deno.stderr);
      try {
        const result = await node.download(flags.get, {
          giveUpAfterMs: flags.giveUpAfterMs,
          onProgress: (progress) => printer.update(progress),
          signal: stop.signal,
        });
        printer.end();
        const rate = result.bytesFetched / Math.max(result.seconds, 0.001);
        say(
          `checked ${result.path} (${
            formatBytes(result.manifest.size)
          }, SHA-256 ${toHex(result.manifest.fileHash)}) in ${
            result.seconds.toFixed(2)
          } s, ${formatRate(rate)}`,
        );
      } finally {
        printer.end();
      }
      if (!flags.serve && !flags.ui) return 0;
      say(
        `seeding ${
          flags.get && "name" in flags.get ? flags.get.name : "the file"
        }; press Ctrl+C to stop`,
      );
    }
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    return 0;
  } catch (error) {
    if (error instanceof DownloadError) {
      fail(error.message);
      return EXIT_FOR[error.code];
    }
    if (error instanceof TrackerError) {
      fail(error.message);
      return 7;
    }
    if (error instanceof SeedError) {
      fail(error.message);
      return 1;
    }
    if (error instanceof Deno.errors.AddrInUse) {
      fail(
        `Cannot serve the web page: ${error.message}; try another --ui-port`,
      );
      return 2;
    }
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    stop.abort();
    await ui?.finished;
    await node.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, Deno.env.get("INIT_CWD") ?? Deno.cwd()));
}
