/**
 * The trackers one peer uses, opened together: a tracker whose host does not
 * resolve is left out (with a warning) as long as another remains, and
 * listing asks the first one that answers.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type ListResult,
  type TrackerCallOptions,
  TrackerClient,
  TrackerError,
} from "../tracker_client.ts";
import type { HostPort } from "../cli_flags.ts";

const logger = getLogger(["shoal", "peer", "trackers"]);

/**
 * Several open tracker clients.
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
  /** The open clients, in the order given. */
  readonly clients: readonly TrackerClient[];
  /** Index of the tracker that answered the last list. */
  #listFrom = 0;

  private constructor(clients: TrackerClient[]) {
    this.clients = clients;
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
    let firstError: unknown = null;
    settled.forEach((result, index) => {
      if (result.status === "fulfilled") return;
      firstError ??= result.reason;
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
    return this.clients.map((client) => client.address);
  }

  /**
   * One page of the files whose name contains `query`, from the first
   * tracker that answers (the last one that did is asked first).
   *
   * @param query substring, "" for every file
   * @param offset matches to skip
   * @param options signal and timeouts
   * @returns the page
   * @throws {TrackerError} the last tracker's error when none answers, or
   *   "unreachable" when there is no tracker
   */
  async list(
    query: string,
    offset = 0,
    options: TrackerCallOptions = {},
  ): Promise<ListResult> {
    const count = this.clients.length;
    if (count === 0) {
      throw new TrackerError(
        "unreachable",
        "Cannot list files: this peer uses no tracker; start it with --tracker HOST:PORT",
      );
    }
    let lastError: unknown = null;
    for (let tried = 0; tried < count; tried++) {
      const index = (this.#listFrom + tried) % count;
      try {
        const page = await this.clients[index]!.list(query, offset, options);
        this.#listFrom = index;
        return page;
      } catch (error) {
        if (!(error instanceof TrackerError)) throw error;
        if (error.code === "aborted" || error.code === "closed") throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Closes every client. */
  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}
