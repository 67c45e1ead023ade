/**
 * The catalog: files by every claimed name, and sorted by shown name for
 * LIST, with the matches of recent LIST queries kept until a file changes.
 * Also the summaries CANDIDATES and FILE_LIST carry, as many as fit one
 * datagram.
 *
 * @module
 */
import {
  type FileSummary,
  fileSummaryBytes,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
} from "@shoal/protocol";
import type { Claim, FileEntry } from "./claims.ts";
import { SortedBlocks } from "../sorted_blocks.ts";
import type { WorkMeter } from "./tables.ts";
import type { FileRecord, ListPage } from "./types.ts";

const FILE_LIST_BASE_BYTES = HEADER_BYTES + 4 + 1;
const CANDIDATES_BASE_BYTES = HEADER_BYTES + 1;
const MAX_FILES_PER_REPLY = 255;
const NO_FILES: ReadonlySet<FileRecord> = new Set();
/** LIST results of this many recent queries are kept until files change. */
const LIST_CACHE_QUERIES = 4;

/** The items of an array from `offset` on, without a copy. */
function* itemsFrom<T>(items: readonly T[], offset: number): Generator<T> {
  for (let i = Math.max(0, offset); i < items.length; i++) yield items[i]!;
}

function summaryOf(file: FileEntry, claim: Claim = file.leader): FileSummary {
  return {
    id: file.idOfClaim(claim),
    name: claim.name,
    size: claim.size,
    peers: file.holderCount,
    seeders: file.seeders,
  };
}

/** Files by name and in LIST order. */
export class Catalog {
  readonly #work: WorkMeter;
  readonly #compareIds: (a: FileEntry, b: FileEntry) => number;
  /** Files by every name a holder claims for them. */
  readonly #byName = new Map<string, FileEntry | Set<FileEntry>>();
  /** Files sorted by shown name, then id, for LIST; kept up to date. */
  readonly #sorted: SortedBlocks<FileEntry>;
  /** Changes whenever a file is added or removed or its shown name changes. */
  #version = 0;
  /** Matches of recent LIST queries, valid while #version is unchanged. */
  readonly #listCache = new Map<
    string,
    { version: number; matches: FileEntry[] }
  >();

  /**
   * @param compareIds orders files of the same name
   * @param work where work done for requests is counted
   */
  constructor(
    compareIds: (a: FileEntry, b: FileEntry) => number,
    work: WorkMeter,
  ) {
    this.#compareIds = compareIds;
    this.#work = work;
    this.#sorted = new SortedBlocks<FileEntry>((a, b) =>
      a.sortName < b.sortName
        ? -1
        : a.sortName > b.sortName
        ? 1
        : compareIds(a, b)
    );
  }

  /**
   * Lists a new file under its first claim. A file only BitTorrent clients
   * announced has no name: it is neither found by name nor listed, until a
   * Shoal peer names it (then this is called).
   */
  add(file: FileEntry): void {
    if (file.truncated) return;
    this.named(file.leader.name, file);
    this.#sorted.add(file);
    this.#version++;
  }

  /** Forgets a file; call it while its id is still in the file table. */
  remove(file: FileEntry): void {
    if (file.truncated) return;
    this.#sorted.delete(file);
    for (const claim of file.claims) this.unnamed(claim.name, file);
    this.#version++;
  }

  /** Finds `file` under `name` too. */
  named(name: string, file: FileEntry): void {
    const named = this.#byName.get(name);
    if (named === undefined) this.#byName.set(name, file);
    else if (named instanceof Set) named.add(file);
    else if (named !== file) this.#byName.set(name, new Set([named, file]));
  }

  /** No longer finds `file` under `name`. */
  unnamed(name: string, file: FileEntry): void {
    const named = this.#byName.get(name);
    if (named === file) this.#byName.delete(name);
    else if (named instanceof Set) {
      named.delete(file);
      if (named.size === 1) {
        for (const only of named) this.#byName.set(name, only);
      }
    }
  }

  /**
   * Shows a file under another claim: moves it in the LIST order.
   *
   * @param show called once the file is out of the order and leads with
   *   `claim`, to change what its order depends on (the id it shows)
   */
  lead(file: FileEntry, claim: Claim, show: () => void = () => {}): void {
    this.#sorted.delete(file);
    file.leader = claim;
    show();
    file.sortName = claim.name;
    this.#sorted.add(file);
    this.#version++;
  }

  /** Files with exactly this name (do not change the set). */
  byName(name: string): ReadonlySet<FileRecord> {
    const named = this.#byName.get(name);
    if (named === undefined) return NO_FILES;
    return named instanceof Set ? named : new Set([named]);
  }

  /** See `SwarmRegistry.candidates`. */
  candidates(entries: FileEntry[], name?: string): FileSummary[] {
    this.#work.steps += entries.length;
    entries.sort((a, b) =>
      b.seeders - a.seeders ||
      b.holderCount - a.holderCount || this.#compareIds(a, b)
    );
    const out: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - CANDIDATES_BASE_BYTES;
    for (const file of entries) {
      if (out.length === MAX_FILES_PER_REPLY) break;
      const summary = summaryOf(file, file.claimNamed(name));
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget) break;
      budget -= bytes;
      out.push(summary);
    }
    return out;
  }

  /** See `SwarmRegistry.list`. */
  list(query: string, offset: number): ListPage {
    const needle = query.toLowerCase();
    let total: number;
    let matches: Iterable<FileEntry>;
    if (needle === "") {
      total = this.#sorted.size;
      matches = this.#sorted.from(offset);
    } else {
      const found = this.#matches(needle);
      total = found.length;
      matches = itemsFrom(found, offset);
    }
    const files: FileSummary[] = [];
    let budget = MAX_DATAGRAM_BYTES - FILE_LIST_BASE_BYTES;
    for (const file of matches) {
      if (files.length === MAX_FILES_PER_REPLY) break;
      const summary = summaryOf(file);
      const bytes = fileSummaryBytes(summary);
      if (bytes > budget) break;
      budget -= bytes;
      files.push(summary);
    }
    this.#work.steps += files.length;
    return { total, files };
  }

  /** Files whose shown name contains `needle` (lowercase), in LIST order. */
  #matches(needle: string): FileEntry[] {
    const cache = this.#listCache;
    const cached = cache.get(needle);
    cache.delete(needle);
    if (cached && cached.version === this.#version) {
      cache.set(needle, cached);
      return cached.matches;
    }
    const matches: FileEntry[] = [];
    for (const file of this.#sorted.from(0)) {
      if (file.leader.lowerName.includes(needle)) matches.push(file);
    }
    this.#work.steps += this.#sorted.size;
    cache.set(needle, { version: this.#version, matches });
    // Map keeps insertion order: the first key is the least recently used.
    if (cache.size > LIST_CACHE_QUERIES) {
      cache.delete(cache.keys().next().value!);
    }
    return matches;
  }
}
