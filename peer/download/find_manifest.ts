/**
 * The first two steps of a download: which file the tracker means, and its
 * manifest from whichever peer answers first (many shake hands at once, few
 * send the manifest; the seeders among them are noted for later).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { toHex } from "@shoal/protocol";
import {
  fetchManifest,
  InvalidManifestError,
  ManifestMismatchError,
  ManifestNotNeededError,
} from "../wire/fetch_manifest.ts";
import { fetchBtManifest } from "../wire/bt_fetch_manifest.ts";
import { makeBtPeerId } from "../bt/peer_id.ts";
import { DownloadError, errorText, type PeerLookup } from "./errors.ts";
import { SpeaksBitTorrentError } from "./protocol_fallback.ts";
import type { ProgressClock } from "./liveness.ts";
import {
  Gate,
  HANDSHAKE_PARALLEL,
  manifestParallel,
  raceManifest,
} from "./manifest_race.ts";
import type { KnownPeer, PeerBook } from "./peer_book.ts";

const logger = getLogger(["shoal", "peer", "download"]);

/**
 * The file a tracker answer names, or the error to show.
 *
 * @param lookup the tracker's answer
 * @param label what the user asked for, for messages
 * @returns the file id and the tracker's hint of its chunk count
 * @throws {DownloadError} "unknown_file" or "ambiguous"
 * @example
 * ```ts
 * // const { fileId } = fileFromLookup(await tracker.request({ name }), name);
 * ```
 */
export function fileFromLookup(
  lookup: PeerLookup,
  label: string,
): { fileId: Uint8Array; chunkCount: number } {
  if (lookup.kind === "unknown") {
    throw new DownloadError(
      "unknown_file",
      `No file called ${label} is known to the tracker; check the name, or ask for it by id`,
    );
  }
  if (lookup.kind === "candidates") {
    const list = lookup.files.map((file) =>
      `${toHex(file.id)} (${file.size} bytes, ${file.peers} peers)`
    ).join(", ");
    throw new DownloadError(
      "ambiguous",
      `Several files are called ${label}; ask for one by id: ${list}`,
      { candidates: lookup.files },
    );
  }
  return { fileId: lookup.fileId, chunkCount: lookup.chunkCount };
}

/** What {@linkcode manifestFromPeers} needs. */
export interface ManifestSearch {
  /** Known peers (the tracker's answers are added to it). */
  book: PeerBook;
  /** The file id the manifest must hash to. */
  fileId: Uint8Array;
  /** The file's name or id, for messages. */
  label: string;
  /** Our peer id and TCP port, told in the handshake. */
  peerId: Uint8Array;
  /** Our TCP port, or 0. */
  listenPort: number;
  /** The tracker's hint of the chunk count (how many may send it at once). */
  chunkCountHint: number;
  /** Asks the tracker again (adds to `book`). */
  askTracker: () => Promise<PeerLookup>;
  /** The give-up clock. */
  clock: ProgressClock;
  /** Rejects when the download is stopped. */
  stopped: Promise<never>;
}

/**
 * Gets the manifest from the first peer that sends one that hashes to the
 * file id.
 *
 * @param options the peers, the file, the clock
 * @returns the manifest's bytes
 * @throws {DownloadError} "no_peers" when the clock runs out, "corrupt" or
 *   "unsafe_name" when the id names a bad manifest, "folder" when it names
 *   a folder
 */
export async function manifestFromPeers(
  options: ManifestSearch,
): Promise<Uint8Array> {
  const reasons: string[] = [];
  const asking = new Set<string>();
  let gone = false;
  // Many peers shake hands at once; few at a time send the manifest.
  const manifestGate = new Gate(manifestParallel(options.chunkCountHint));
  const btPeerId = makeBtPeerId();
  // Set the moment one copy passes its checks: copies from other peers that
  // arrive with it are then dropped, not hashed too.
  let oneChecked = false;
  const won = await raceManifest<[string, KnownPeer]>({
    next: () => {
      const key = options.book.order(performance.now(), asking)[0];
      if (key === undefined) return null;
      asking.add(key);
      return [key, options.book.get(key)!];
    },
    fetch: ([key, peer], signal) => {
      const ask = {
        peerId: options.peerId,
        listenPort: options.listenPort,
        signal,
        beforeAsk: (gateSignal: AbortSignal) =>
          manifestGate.acquire(gateSignal),
        // Who holds chunks (the seeders among the many asked) is known
        // before the first connection for chunks.
        onHandshake: (bits: Uint8Array) =>
          options.book.sawChunks(key, bits.some((byte) => byte !== 0)),
        wanted: () => !oneChecked,
        checked: () => {
          oneChecked = true;
        },
      };
      // A BitTorrent peer is asked for the info dictionary and piece layer.
      const fetch = peer.protocol === "bittorrent"
        ? fetchBtManifest(peer, options.fileId, { ...ask, peerId: btPeerId })
        : fetchManifest(peer, options.fileId, ask);
      return fetch.then(({ bytes }) => bytes);
    },
    failed: ([key], error) => {
      // Not a failure, and the race is won: the peer stays marked as asked,
      // so no other is asked in its place meanwhile.
      if (error instanceof ManifestNotNeededError) return;
      asking.delete(key);
      if (error instanceof SpeaksBitTorrentError) {
        // Not a failure: it is asked again at once, in BitTorrent.
        logger.debug(
          "Peer {peer} did not answer in Shoal: asking it in BitTorrent",
          { peer: key },
        );
        options.book.speaksBitTorrent(key);
        return;
      }
      if (error instanceof InvalidManifestError) {
        // The id itself names a bad manifest: no other peer can do better.
        if (error.code === "folder") {
          // A folder's metadata from a BitTorrent peer (its piece layers
          // are asked for per file): not fetched yet; said plainly.
          const reason = errorText(error.cause).replace(/^Cannot [^:]*: /, "");
          throw new DownloadError(
            "folder",
            `Cannot download ${options.label}: ${reason}; Shoal fetches a folder's manifest from Shoal peers or a .torrent for now: --get its .torrent`,
            { cause: error },
          );
        }
        throw new DownloadError(
          error.code === "bad_string" ? "unsafe_name" : "corrupt",
          `Cannot download ${options.label}: ${error.message}`,
          { cause: error },
        );
      }
      reasons.push(`${key}: ${errorText(error)}`);
      options.book.failed(key, performance.now());
      // It sent another file's manifest, or a BitTorrent peer lied about
      // the metadata: never ask it again.
      if (error instanceof ManifestMismatchError) options.book.ban(key);
    },
    refresh: async () => {
      const lookup = await options.askTracker().catch(() => null);
      if (lookup?.kind === "unknown" && options.book.size === 0) gone = true;
    },
    leftMs: () => gone ? 0 : options.clock.leftMs(performance.now()),
    stopped: options.stopped,
    parallel: HANDSHAKE_PARALLEL,
  });
  if (won) {
    options.book.helped(won.peer[0], performance.now());
    options.clock.progress(performance.now());
    return won.bytes;
  }
  if (gone) {
    throw new DownloadError(
      "no_peers",
      `No peer holds ${options.label} any more; try again later`,
    );
  }
  const last = reasons.at(-1);
  throw new DownloadError(
    "no_peers",
    `No peer could send ${options.label} for ${
      Math.round(options.clock.limitMs / 1000)
    } s${last ? ` (last: ${last})` : ""}; try again later`,
  );
}
