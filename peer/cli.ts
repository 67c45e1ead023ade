/**
 * The peer CLI: seed files, download files, or both.
 * See {@linkcode PEER_USAGE} or `deno task peer --help`. The process starts
 * in `main.ts`, which loads this module once the fetch workers are on their
 * way.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type FolderManifest,
  magnetLink,
  type Manifest,
  readAnyManifest,
  toHex,
} from "@shoal/protocol";
import { setupLogging } from "../logging.ts";
import { SHOAL_VERSION } from "../version.ts";
import {
  chooseTrackers,
  parsePeerFlags,
  PEER_USAGE,
  type PeerFlags,
  trackerUrl,
  unusableLinkTrackers,
  UsageError,
} from "./cli_flags.ts";
import { PeerNode } from "./node.ts";
import { DHT_START_DELAY_MS } from "./dht/dht_node.ts";
import { SIGNAL_ECHO_MS, STOP_SIGNALS } from "./launch.ts";
import { SeedError } from "./library/library.ts";
import { StateFolderError, StateInUseError } from "./storage/state_lock.ts";
import { DownloadError, type DownloadErrorCode } from "./download/download.ts";
import { TrackerError } from "./tracker_client.ts";
import { formatBytes, plural } from "./progress.ts";
import { type CliOutput, cliOutput } from "./cli_output.ts";
import { filesListing, filesText } from "./files_listing.ts";
import { UploadReporter, uploadReportLine } from "./upload_report.ts";
import { findFile } from "./find_file.ts";
import { listFiles } from "./list_files.ts";
import { LinkError, type OpenedGet, openGetTarget } from "./get_link.ts";
import { makeTorrentCommand } from "./make_torrent.ts";
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
  // A link Shoal cannot use, found out once its metadata arrived.
  folder: 8,
  "no_match": 2,
  aborted: 1,
};

/** Prints what `--files` lists, or why `--only` cannot apply; the exit code. */
function printFiles(
  out: CliOutput,
  manifest: Manifest,
  folder: FolderManifest | null,
  fileId: Uint8Array,
  only: readonly string[],
): number {
  const listing = filesListing(manifest, folder, fileId, only);
  if ("problem" in listing) {
    out.error("no_match", EXIT_FOR.no_match, listing.problem);
    return EXIT_FOR.no_match;
  }
  out.event("files", { ...listing }, filesText(listing));
  return 0;
}

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

/** Exit code for a `.torrent` file or magnet link that cannot be used. */
const EXIT_BAD_LINK = 8;

/** Exit code after a second Ctrl+C or SIGTERM while the first one is handled. */
const EXIT_FORCED = 130;

/**
 * Runs the peer until its work is done (`--get --no-seed`) or until SIGINT/SIGTERM.
 *
 * @param args command-line flags
 * @param cwd the folder relative paths start from
 * @returns the exit code (see the usage text)
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * await main(["--help"], Deno.cwd()); // prints the usage, returns 0
 * ```
 */
export async function main(args: string[], cwd: string): Promise<number> {
  let flags: PeerFlags;
  try {
    flags = parsePeerFlags(args, cwd);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    cliOutput(args.includes("--json")).error("usage", 2, error.message);
    return 2;
  }
  if (flags.help) {
    say(PEER_USAGE);
    return 0;
  }
  if (flags.version) {
    say(`shoal-peer ${SHOAL_VERSION}`);
    return 0;
  }
  const out = cliOutput(flags.json);
  await setupLogging({ level: flags.logLevel, format: flags.logFormat });
  if (flags.list !== null) {
    return await listFiles(chooseTrackers(flags, []), flags.list, out);
  }
  if (flags.makeTorrent !== null) return await makeTorrentCommand(flags, out);
  // A bad .torrent or magnet link is said before anything starts or is written.
  let get: OpenedGet | null = null;
  if (flags.get) {
    try {
      get = await openGetTarget(flags.get);
    } catch (error) {
      if (!(error instanceof LinkError)) throw error;
      out.error("bad_link", EXIT_BAD_LINK, error.message);
      return EXIT_BAD_LINK;
    }
    // A .torrent holds the file list: nothing to ask of anyone.
    if (flags.files && get?.manifestBytes && "id" in get.query) {
      const { manifest, folder } = readAnyManifest(get.manifestBytes);
      return printFiles(out, manifest, folder, get.query.id, flags.only);
    }
    // A .torrent's trackers are known once it is read (a magnet link's were
    // checked with the flags).
    const linkProblem = flags.get.kind === "torrent"
      ? unusableLinkTrackers(flags, get?.trackers ?? [], flags.get.path)
      : null;
    if (linkProblem) {
      out.error("usage", 2, linkProblem);
      return 2;
    }
  }
  // --tracker wins; else the udp:// trackers the link names; else the
  // default one, or none with the DHT on (cli_flags.ts chooseTrackers).
  const trackers = chooseTrackers(flags, get?.trackers ?? []);
  const trackerUrls = trackers.map((t) => trackerUrl(t.host, t.port));
  const trackerLabel = trackers.map((t) =>
    t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`
  ).join(", ");
  /** The seeding event of a file, with its magnet link (naming our trackers). */
  const seeding = (manifest: Manifest, id: Uint8Array, text: string) => {
    const magnet = magnetLink(id, manifest.name, trackerUrls);
    out.event(
      "seeding",
      {
        name: manifest.name,
        size: manifest.size,
        chunkCount: manifest.chunkCount,
        fileId: toHex(id),
        magnet,
      },
      `${text}\n${magnet}`,
    );
  };
  const outProblem = await folderProblem(flags.outDir);
  if (outProblem) {
    out.error("usage", 2, outProblem);
    return 2;
  }

  // The first signal stops cleanly (LEAVE, resume state saved, sockets
  // closed, exit 0); a second one while that runs stops at once. One Ctrl+C
  // in a terminal reaches the peer several times within milliseconds (the
  // terminal signals the whole process group, and deno task and the
  // launcher pass it on too): those echoes are the same keypress.
  const stop = new AbortController();
  let firstSignalMs = 0;
  const onSignal = () => {
    if (stop.signal.aborted) {
      if (performance.now() - firstSignalMs < SIGNAL_ECHO_MS) return;
      Deno.exit(EXIT_FORCED);
    }
    firstSignalMs = performance.now();
    logger.info("Stopping: leaving the tracker and closing connections");
    stop.abort();
  };
  // SIGHUP too: a closed terminal or SSH session stops the peer cleanly.
  for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, onSignal);
  const removeSignals = () => {
    for (const signal of STOP_SIGNALS) {
      Deno.removeSignalListener(signal, onSignal);
    }
  };

  // A download that has a tracker starts before the DHT worker (whose
  // creation takes this thread for tens of milliseconds).
  const dhtDelayMs = get && trackers.length > 0 ? DHT_START_DELAY_MS : 0;
  let node: PeerNode;
  try {
    node = await PeerNode.start({
      trackers,
      dht: flags.dht
        ? {
          port: flags.dhtPort,
          bootstrap: flags.dhtBootstrap,
          startDelayMs: dhtDelayMs,
        }
        : null,
      pex: flags.pex,
      outDir: flags.outDir,
      hostname: flags.host,
      port: flags.port,
      serve: flags.serve,
      uploadSlots: flags.uploadSlots,
      maxConnectionsPerAddress: flags.maxConnsPerIp,
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
    removeSignals();
    if (error instanceof Deno.errors.AddrInUse) {
      out.error(
        "port_in_use",
        2,
        `Cannot serve peers on port ${flags.port}: the port is in use; pick another --port (0 picks any free port)`,
      );
      return 2;
    }
    if (error instanceof TrackerError) {
      out.error("tracker", 7, error.message);
      return 7;
    }
    if (error instanceof StateInUseError) {
      out.error("out_in_use", 2, error.message);
      return 2;
    }
    if (error instanceof StateFolderError) {
      out.error("disk", 6, error.message);
      return 6;
    }
    out.error(
      "start",
      1,
      error instanceof Error ? error.message : String(error),
    );
    return 1;
  }
  // A seeder says what it gave, every minute (when it grew) and when it stops.
  const uploaded = () => ({
    bytes: node.uploadedBytes,
    peers: node.uploadedPeers,
  });
  const reporter = new UploadReporter({
    read: uploaded,
    say: (count) =>
      out.event("uploaded", { ...count }, uploadReportLine(count)),
    everyMs: flags.reportEveryMs,
  });
  if (flags.serve) reporter.start();
  let served = false;
  let ui: WebUi | null = null;
  try {
    if (flags.ui) {
      ui = await startWebUi(node, {
        signal: stop.signal,
        port: flags.uiPort,
        cwd,
        trackerLabel,
        trackerUrls,
        downloads: { giveUpAfterMs: flags.giveUpAfterMs },
        fixedLimits: flags.limitsGiven,
      });
      out.event("ui", { url: ui.url }, `Shoal web page: ${ui.url}`);
    }
    if (flags.serve) {
      // What this peer seeded before (its state lives in --out/.shoal) is shared again.
      const restored = await node.library.restore({
        seedingNext: flags.seeds,
      });
      for (const file of restored.files) {
        seeding(
          file.manifest,
          file.id,
          `seeding ${file.manifest.name} again (${
            formatBytes(file.manifest.size)
          }) id ${file.idHex}`,
        );
      }
      if (restored.rehashed > 0) {
        out.event(
          "rehashed",
          { files: restored.rehashed },
          `${
            plural(restored.rehashed, "file")
          } saved by an earlier Shoal hashed again: files are BitTorrent v2 torrents now, with new ids`,
        );
      }
      for (const problem of restored.problems) {
        logger.warn("Not seeding again: {problem}", { problem });
      }
      if (flags.seedsOnlySaved && restored.files.length === 0) {
        out.error(
          "usage",
          2,
          `nothing to do: give --seed FILE, --get NAME or --ui (${flags.outDir}/.shoal lists no files to seed again; see --help)`,
        );
        return 2;
      }
    }
    for (const path of flags.seeds) {
      if (stop.signal.aborted) return 0;
      let file;
      try {
        file = await node.seed(
          path,
          (bytes, size) =>
            out.event(
              "hashing",
              { path, bytes, size },
              `hashing ${path}: ${Math.floor((bytes / size) * 100)}%`,
            ),
          stop.signal,
        );
      } catch (error) {
        if (!stop.signal.aborted) throw error;
        // Stopped mid-hash: nothing of it was kept, nothing is seeded.
        const message =
          `stopped hashing ${path}; it is hashed again when it is seeded next`;
        out.event("stopped", { message }, message);
        return 0;
      }
      for (const line of file.folder?.skipped ?? []) {
        out.event(
          "skipped",
          { path, entry: line },
          `not shared: ${file.manifest.name}/${line}`,
        );
      }
      const files = file.folder
        ? `${plural(file.folder.manifest.files.length, "file")}, `
        : "";
      seeding(
        file.manifest,
        file.id,
        `seeding ${file.manifest.name} (${files}${
          formatBytes(file.manifest.size)
        }, ${plural(file.manifest.chunkCount, "chunk")}) id ${file.idHex}`,
      );
    }
    if (stop.signal.aborted) return 0;
    if (flags.serve) {
      node.startAnnouncing();
      // A seeder says it serves once the trackers know it. A download does
      // not wait for that: with a tracker down, its lookup says so at once,
      // where two announce rounds took 17 s before it even began. The
      // serving line names the DHT's port, unless the DHT starts later.
      await Promise.all([
        get ? undefined : node.announceNow(),
        dhtDelayMs === 0 ? node.dht?.started : undefined,
      ]);
      const dhtPort = node.dht?.status.port ?? 0;
      served = true;
      out.event(
        "serving",
        {
          port: node.port,
          tracker: trackerLabel,
          trackers: trackers.length,
          dhtPort,
        },
        `serving peers on port ${node.port}, ${
          trackers.length === 0
            ? "no tracker"
            : `${
              trackers.length === 1 ? "tracker" : "trackers"
            } ${trackerLabel}`
        }${dhtPort > 0 ? `, DHT on UDP port ${dhtPort}` : ""}`,
      );
    }
    if (get) {
      let result;
      try {
        // A name no file has exactly may be an id prefix or differ in case.
        const query = "name" in get.query
          ? await findFile(node.tracker, get.query.name)
          : get.query;
        result = await node.download(query, {
          // From a .torrent: no peer is asked for the manifest.
          ...(get.manifestBytes ? { manifestBytes: get.manifestBytes } : {}),
          manifestOnly: flags.files,
          giveUpAfterMs: flags.giveUpAfterMs,
          verify: flags.verify,
          only: flags.only,
          onProgress: (progress) => out.progress(progress),
          signal: stop.signal,
        });
      } finally {
        out.endProgress();
      }
      if (flags.files) {
        return printFiles(
          out,
          result.manifest,
          result.folder ?? null,
          result.fileId,
          flags.only,
        );
      }
      out.done(result);
      if (!flags.serve && !flags.ui) return 0;
      // Part of a folder (--only) is not seeded: its id names every file.
      if (result.chosen?.includes(false)) {
        out.event(
          "not_seeding",
          { name: result.manifest.name, reason: "only" },
          `not seeding ${result.manifest.name}: only some of its files were fetched (--only)`,
        );
        if (!flags.ui) return 0;
      } else {
        seeding(
          result.manifest,
          result.fileId,
          `seeding ${result.manifest.name}; press Ctrl+C to stop`,
        );
      }
    }
    if (!stop.signal.aborted) {
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof DownloadError) {
      if (error.code === "aborted" && stop.signal.aborted) {
        // Stopped by a signal: resume state is saved, so this is a clean stop.
        out.event("stopped", { message: error.message }, error.message);
        return 0;
      }
      // The error is the last line, unless something was uploaded.
      served = false;
      out.error(error.code, EXIT_FOR[error.code], error.message);
      return EXIT_FOR[error.code];
    }
    if (error instanceof TrackerError) {
      if (stop.signal.aborted) return 0;
      served = false;
      out.error("tracker", 7, error.message);
      return 7;
    }
    if (error instanceof SeedError) {
      out.error("seed", 1, error.message);
      return 1;
    }
    if (error instanceof Deno.errors.AddrInUse) {
      out.error(
        "port_in_use",
        2,
        `Cannot serve the web page on port ${flags.uiPort}: the port is in use; pick another --ui-port (0 picks any free port)`,
      );
      return 2;
    }
    throw error;
  } finally {
    reporter.stop();
    stop.abort();
    await ui?.finished;
    await node.close();
    // Not after a failure before serving (a folder given to --seed): the
    // error is the last line then.
    if (flags.serve && (served || node.uploadedBytes > 0)) {
      out.event(
        "uploaded",
        uploaded(),
        `stopped; ${uploadReportLine(uploaded())}`,
      );
    }
    // Last: with no listener left, a late echo of the stopping signal would
    // kill the process by the default action (seen as exit 130).
    removeSignals();
  }
}

/** Why `path` cannot be the download folder, or null when it can. */
async function folderProblem(path: string): Promise<string | null> {
  try {
    const info = await Deno.stat(path);
    return info.isDirectory
      ? null
      : `--out ${path} is a file, not a folder; give --out a folder to download into`;
  } catch {
    // Missing (created on the first download) or unreadable (said later).
    return null;
  }
}
