/**
 * The trackers one peer uses, opened together: a tracker whose host does not
 * resolve is left out (with a warning) as long as another remains, and
 * listing asks them all at once and takes the first answer (a dead tracker
 * named first costs nothing when another answers).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  Bep15TrackerClient,
  type ListResult,
  type TrackerCallOptions,
  TrackerClient,
  TrackerError,
} from "../tracker_client.ts";
import type { HostPort } from "../cli_flags.ts";

const logger = getLogger(["shoal", "peer", "trackers"]);

/**
 * Several open tracker clients: Shoal trackers, and BitTorrent (BEP 15)
 * trackers such as opentracker, told apart when opened.
 *
 * @example
 * ```ts
 * import { TrackerSet } from "./trackers.ts";
 * // const set = await TrackerSet.open([{ host: "127.0.0.1", port: 6969 }]);
 * // const page = await set.list("");
 * // await set.close();
 * ```
 */
export class TrackerSet {
  /** The open clients of Shoal trackers, in the order given. */
  readonly clients: readonly TrackerClient[];
  /** The open clients of trackers that speak only BEP 15. */
  readonly bep15: readonly Bep15TrackerClient[];
  /** Index of the tracker that answered the last list. */
  #listFrom = 0;
  /** Whether a tracker answered a list yet. */
  #listed = false;

  private constructor(
    clients: TrackerClient[],
    bep15: Bep15TrackerClient[] = [],
  ) {
    this.clients = clients;
    this.bep15 = bep15;
  }

  /** Every tracker as the finder asks it, Shoal's first. */
  get sources(): (TrackerClient | Bep15TrackerClient)[] {
    return [...this.clients, ...this.bep15];
  }

  /**
   * Opens a client per tracker and asks each, in both protocols at once,
   * which one it speaks: Shoal when it answers Shoal's CONNECT (a Shoal
   * tracker answers both), else BEP 15 when it answers that, else Shoal
   * (a tracker down now is retried by the announcer, as before).
   *
   * @param trackers the trackers (possibly none)
   * @param probeMs wait for the first try of each probe (one retry)
   * @returns the set
   * @throws {TrackerError} the first tracker's error when none can be opened
   */
  static async detect(
    trackers: readonly HostPort[],
    probeMs = 250,
  ): Promise<TrackerSet> {
    const shoal = await TrackerSet.open(trackers);
    const probe = { timeoutMs: probeMs, retries: 1 };
    const kept: TrackerClient[] = [];
    const bep15: Bep15TrackerClient[] = [];
    await Promise.all(shoal.clients.map(async (client) => {
      const [host, port] = splitLabel(client.address);
      const bt = await Bep15TrackerClient.open({ host, port });
      const [speaksShoal, speaksBep15] = await Promise.all([
        client.probe(probe).then(() => true, () => false),
        bt.connect(probe).then(() => true, () => false),
      ]);
      if (!speaksShoal && speaksBep15) {
        logger.info("Tracker {tracker} speaks BitTorrent (BEP 15)", {
          tracker: client.address,
        });
        bep15.push(bt);
        await client.close();
      } else {
        kept.push(client);
        await bt.close();
      }
    }));
    // Keep the order given among Shoal trackers.
    kept.sort((a, b) => shoal.clients.indexOf(a) - shoal.clients.indexOf(b));
    return new TrackerSet(kept, bep15);
  }

  /**
   * Opens a client per tracker.
   *
   * @param trackers the trackers (possibly none)
   * @param open opens one client (tests inject one)
   * @returns the set; a tracker that cannot be opened is left out
   * @throws {TrackerError} the first tracker's error when none can be opened
   */
  static async open(
    trackers: readonly HostPort[],
    open: (address: HostPort) => Promise<TrackerClient> = (address) =>
      TrackerClient.open(address),
  ): Promise<TrackerSet> {
    const settled = await Promise.allSettled(trackers.map(open));
    const clients: TrackerClient[] = [];
    for (const result of settled) {
      if (result.status === "fulfilled") clients.push(result.value);
    }
    const bug = settled.find((result) =>
      result.status === "rejected" && !(result.reason instanceof TrackerError)
    );
    if (bug?.status === "rejected") {
      await Promise.all(clients.map((client) => client.close()));
      throw bug.reason;
    }
    const failed = settled.filter((result) => result.status === "rejected");
    // With none left, the first error is the caller's last line: not said twice.
    const firstError: unknown = clients.length === 0
      ? failed[0]?.reason ?? null
      : null;
    settled.forEach((result, index) => {
      if (result.status === "fulfilled" || result.reason === firstError) return;
      const { host, port } = trackers[index]!;
      logger.warn("Leaving out tracker {tracker}: {message}", {
        tracker: `${host}:${port}`,
        message: result.reason.message,
      });
    });
    if (clients.length === 0 && firstError !== null) throw firstError;
    return new TrackerSet(clients);
  }

  /** The tracker that answered the last list (the first one before any), as "host:port". */
  get answeredBy(): string {
    return this.clients[this.#listFrom]?.address ?? "";
  }

  /** The trackers as "host:port". */
  get addresses(): string[] {
    return this.sources.map((client) => client.address);
  }

  /**
   * One page of the files whose name contains `query`, from the first
   * tracker that answers: every tracker is asked at once, and the others'
   * calls are ended. A later page (`offset` above 0) asks the tracker that
   * answered the last list first, so that pages come from one index; the
   * others only if it fails.
   *
   * @param query substring, "" for every file
   * @param offset matches to skip
   * @param options signal and timeouts
   * @returns the page
   * @throws {TrackerError} the first tracker's error (in the order given)
   *   when none answers, "aborted" when `options.signal` fires, or
   *   "unreachable" when there is no tracker
   */
  async list(
    query: string,
    offset = 0,
    options: TrackerCallOptions = {},
  ): Promise<ListResult> {
    const count = this.clients.length;
    if (count === 0 && this.bep15.length > 0) {
      throw new TrackerError(
        "rejected",
        `Cannot list files at BitTorrent tracker ${
          this.bep15[0]!.address
        }: it knows infohashes, not names; give a file's id, magnet link or .torrent`,
      );
    }
    if (count === 0) {
      throw new TrackerError(
        "unreachable",
        "Cannot list files: this peer uses no tracker; start it with --tracker HOST:PORT",
      );
    }
    const all = this.clients.map((_, index) => index);
    if (offset > 0 && this.#listed && count > 1) {
      const first = this.#listFrom;
      try {
        return await this.#listFirst([first], query, offset, options);
      } catch (error) {
        if (
          !(error instanceof TrackerError) || error.code === "aborted" ||
          error.code === "closed"
        ) throw error;
        return await this.#listFirst(
          all.filter((index) => index !== first),
          query,
          offset,
          options,
        );
      }
    }
    return await this.#listFirst(all, query, offset, options);
  }

  /**
   * Asks the trackers at `indexes` at once; the first page wins and the
   * other calls are aborted.
   *
   * @throws {TrackerError} as {@linkcode TrackerSet.list}
   */
  #listFirst(
    indexes: readonly number[],
    query: string,
    offset: number,
    options: TrackerCallOptions,
  ): Promise<ListResult> {
    const losers = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, losers.signal])
      : losers.signal;
    return new Promise<ListResult>((resolve, reject) => {
      let left = indexes.length;
      let done = false;
      const errors = new Map<number, unknown>();
      const finish = () => {
        done = true;
        losers.abort();
      };
      for (const index of indexes) {
        this.clients[index]!.list(query, offset, { ...options, signal }).then(
          (page) => {
            if (done) return;
            finish();
            this.#listFrom = index;
            this.#listed = true;
            resolve(page);
          },
          (error: unknown) => {
            left--;
            if (done) return;
            const stop = !(error instanceof TrackerError) ||
              error.code === "closed" ||
              (error.code === "aborted" && options.signal?.aborted === true);
            if (stop) {
              finish();
              return reject(error);
            }
            errors.set(index, error);
            if (left > 0) return;
            finish();
            // The first tracker's error, as a single tracker would give it.
            reject(errors.get(Math.min(...errors.keys())));
          },
        );
      }
    });
  }

  /** Closes every client. */
  async close(): Promise<void> {
    await Promise.all(this.sources.map((client) => client.close()));
  }
}

/** "host:port" or "[v6]:port" back into its parts. */
function splitLabel(label: string): [string, number] {
  const at = label.lastIndexOf(":");
  const host = label.slice(0, at);
  return [
    host.startsWith("[") ? host.slice(1, -1) : host,
    Number(label.slice(at + 1)),
  ];
}
