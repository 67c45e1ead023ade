/**
 * Claims: what holders say a file is (name, size, chunk count), and the
 * vote of each source address among them. The claim most addresses make
 * is the one shown; every claimed name finds the file.
 *
 * @module
 */
import {
  FILE_ID_BYTES,
  type FileAnnouncement,
  HEADER_BYTES,
  toHex,
} from "@shoal/protocol";
import { SWARM_KEY_BYTES } from "./file_table.ts";
import type { HolderList } from "./holders.ts";
import { NONE, type WorkMeter } from "./tables.ts";
import type { FileRecord, Holding } from "./types.ts";

const encoder = new TextEncoder();
/** Bytes of a file id after its swarm key. */
const TAIL_BYTES = FILE_ID_BYTES - SWARM_KEY_BYTES;

/** What a claim says. */
export interface ClaimFields {
  name: string;
  size: number;
  chunkCount: number;
  /** The id's bytes after the swarm key (a copy), or null: unknown. */
  tail: Uint8Array | null;
}

/** True when every character is ASCII, so the name is its own UTF-8. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

/**
 * What holders say a file is: its name, size, chunk count and the rest of
 * its id after the swarm key. Only hints: the file id is a hash of the
 * manifest, which a downloader checks, so the tracker cannot tell who is
 * right, only how many addresses agree.
 */
export class Claim {
  readonly name: string;
  /** Lowercase name, for LIST. */
  readonly lowerName: string;
  readonly size: number;
  readonly chunkCount: number;
  /** The name's UTF-8 bytes, or null when the name is ASCII. */
  readonly nameBytes: Uint8Array | null;
  /** Bytes of the name in UTF-8. */
  readonly nameLength: number;
  /** Order of creation: an older claim wins a tie. */
  readonly seq: number;
  /** Source IPs that vote for it (counted only once its file is contested). */
  votes = 0;

  /**
   * The bytes of the file id after its swarm key (its first 20 bytes), as
   * this claim names them; null for the placeholder of a swarm only
   * BitTorrent clients announced (they send the first 20 bytes alone).
   */
  readonly tail: Uint8Array | null;

  constructor(fields: ClaimFields, seq: number) {
    this.name = fields.name;
    this.lowerName = fields.name.toLowerCase();
    this.size = fields.size;
    this.chunkCount = fields.chunkCount;
    this.tail = fields.tail;
    this.seq = seq;
    if (isAscii(fields.name)) {
      this.nameBytes = null;
      this.nameLength = fields.name.length;
    } else {
      this.nameBytes = encoder.encode(fields.name);
      this.nameLength = this.nameBytes.byteLength;
    }
  }

  /** True for the placeholder claim of a swarm no Shoal peer named. */
  get placeholder(): boolean {
    return this.tail === null;
  }

  matches(announced: FileAnnouncement): boolean {
    if (
      this.name !== announced.name || this.size !== announced.size ||
      this.chunkCount !== announced.chunkCount || this.tail === null
    ) {
      return false;
    }
    const id = announced.id;
    for (let i = 0; i < TAIL_BYTES; i++) {
      if (this.tail[i] !== id[SWARM_KEY_BYTES + i]) return false;
    }
    return true;
  }

  /** True when this claim should be shown before `other`: more votes, then older. */
  beats(other: Claim): boolean {
    return this.votes > other.votes ||
      (this.votes === other.votes && this.seq < other.seq);
  }
}

/** One source IP's vote on a contested file: its first peer's claim. */
export interface Vote {
  claim: Claim;
  /** Its peers holding the file. */
  peers: number;
}

/** A tracked file: its claims and its holding ids. Its id is in the registry's slab. */
export class FileEntry implements FileRecord, HolderList {
  readonly slot: number;
  /** Every claim some holder makes, oldest first. */
  readonly claims: Claim[];
  /** The claim most source IPs agree on (ties: the oldest): what is shown. */
  leader: Claim;
  /** The name it is sorted under in LIST (the leader's, once added). */
  sortName: string;
  /**
   * Votes by host id, once holders disagree (null before: every holder
   * made the first claim). Kept from then on, so that a claim coming and
   * going costs one step, not a count of every holder.
   */
  votes: Map<number, Vote> | null = null;
  /** The pool block of entries 0..BLOCK_ENTRIES-1, NONE before the first. */
  block0 = NONE;
  /** Blocks of the entries after those, for a file with many holders. */
  more: number[] | null = null;
  /** Holders (entries in use; swap-removed, each holding knows its index). */
  count = 0;
  seeders = 0;
  /** Holders that went from incomplete to complete, and BitTorrent "completed" events. */
  downloads = 0;
  readonly #registry: FileViews;

  constructor(slot: number, claim: Claim, registry: FileViews) {
    this.slot = slot;
    this.claims = [claim];
    this.leader = claim;
    this.sortName = claim.name;
    this.#registry = registry;
  }

  get name(): string {
    return this.leader.name;
  }

  get size(): number {
    return this.leader.size;
  }

  get chunkCount(): number {
    return this.leader.chunkCount;
  }

  get id(): Uint8Array {
    return this.#registry.idOf(this);
  }

  /** True while only BitTorrent clients announced it: no name, no full id. */
  get truncated(): boolean {
    return this.leader.tail === null;
  }

  /** The full id `claim` names: the swarm key, then the claim's tail. */
  idOfClaim(claim: Claim): Uint8Array {
    const id = this.id;
    if (claim !== this.leader && claim.tail) {
      id.set(claim.tail, SWARM_KEY_BYTES);
    }
    return id;
  }

  get idHex(): string {
    return toHex(this.id);
  }

  get lowerName(): string {
    return this.leader.lowerName;
  }

  get peerListBaseBytes(): number {
    return peerListBaseBytes(this.leader);
  }

  get holderCount(): number {
    return this.count;
  }

  get holders(): Holding[] {
    return this.#registry.holdersOf(this);
  }

  /** The claim named `name` with the most votes, or the leader. */
  claimNamed(name: string | undefined): Claim {
    if (name === undefined || this.leader.name === name) return this.leader;
    let best: Claim | null = null;
    for (const claim of this.claims) {
      if (claim.name === name && (best === null || claim.beats(best))) {
        best = claim;
      }
    }
    return best ?? this.leader;
  }

  /** True when another claim than `claim` has its name. */
  otherClaimNamed(claim: Claim): boolean {
    return this.claims.some((other) =>
      other !== claim && other.name === claim.name
    );
  }
}

/** Bytes of a PEER_LIST for a file under this claim, before any peer. */
export function peerListBaseBytes(claim: Claim): number {
  return HEADER_BYTES + FILE_ID_BYTES + 8 + 4 + 1 + claim.nameLength + 2;
}

/** What a FileEntry asks its registry for. */
export interface FileViews {
  idOf(file: FileEntry): Uint8Array;
  holdersOf(file: FileEntry): Holding[];
}

/** What {@linkcode ClaimVotes} asks of the registry. */
export interface ClaimHooks {
  /** The host id of holder `k` of a file, or NONE for a BitTorrent client (it makes no claim). */
  hostAt(file: FileEntry, k: number): number;
  /** A claim of a new name joined the file. */
  named(name: string, file: FileEntry): void;
  /** No claim of the file has this name any more. */
  unnamed(name: string, file: FileEntry): void;
  /** The file is shown under another claim. */
  lead(file: FileEntry, claim: Claim): void;
}

/**
 * Counts the votes of source addresses on files whose holders disagree.
 * Each source IP has one vote per file, its first peer's claim, so one
 * address cannot outvote others by opening many peers.
 */
export class ClaimVotes {
  readonly #hooks: ClaimHooks;
  readonly #work: WorkMeter;
  #seq = 0;

  /**
   * @param hooks the registry's side of a vote
   * @param work where work done for requests is counted
   */
  constructor(hooks: ClaimHooks, work: WorkMeter) {
    this.#hooks = hooks;
    this.#work = work;
  }

  /** A new claim, younger than every claim before it. */
  create(announced: FileAnnouncement): Claim {
    return new Claim({
      name: announced.name,
      size: announced.size,
      chunkCount: announced.chunkCount,
      tail: announced.id.slice(SWARM_KEY_BYTES, FILE_ID_BYTES),
    }, this.#seq++);
  }

  /**
   * The claim of a swarm only BitTorrent clients announced: named by the
   * 40 hex digits of its swarm key (a safe file name, for the replies that
   * must carry one), size and chunk count 0, no tail.
   */
  placeholder(key: Uint8Array): Claim {
    return new Claim({
      name: toHex(key.subarray(0, SWARM_KEY_BYTES)),
      size: 0,
      chunkCount: 0,
      tail: null,
    }, this.#seq++);
  }

  /**
   * Counts a new holder's claim on an existing file, before its entry is
   * added. While every holder agrees nothing is counted; the first
   * disagreement counts the votes of the holders so far (once per file).
   */
  vote(file: FileEntry, hostId: number, announced: FileAnnouncement): void {
    let votes = file.votes;
    if (votes === null) {
      if (file.leader.matches(announced)) return;
      votes = new Map();
      const first = file.claims[0]!;
      for (let k = 0; k < file.count; k++) {
        const host = this.#hooks.hostAt(file, k);
        if (host === NONE) continue;
        const vote = votes.get(host);
        if (vote) vote.peers++;
        else votes.set(host, { claim: first, peers: 1 });
      }
      this.#work.steps += file.count;
      first.votes = votes.size;
      file.votes = votes;
    }
    const vote = votes.get(hostId);
    if (vote) {
      vote.peers++;
      return;
    }
    let claim = file.claims.find((c) => c.matches(announced));
    if (!claim) {
      claim = this.create(announced);
      file.claims.push(claim);
      this.#hooks.named(claim.name, file);
    }
    this.#work.steps += file.claims.length;
    claim.votes++;
    votes.set(hostId, { claim, peers: 1 });
    if (claim !== file.leader && claim.beats(file.leader)) {
      this.#hooks.lead(file, claim);
    }
  }

  /** Takes back the vote of a holder of a file that keeps other holders. */
  unvote(file: FileEntry, hostId: number): void {
    const votes = file.votes;
    if (votes === null) return;
    const vote = votes.get(hostId);
    if (!vote || --vote.peers > 0) return;
    votes.delete(hostId);
    const claim = vote.claim;
    claim.votes--;
    if (claim.votes === 0 && file.claims.length > 1) {
      file.claims.splice(file.claims.indexOf(claim), 1);
      if (!file.otherClaimNamed(claim)) this.#hooks.unnamed(claim.name, file);
    }
    if (claim !== file.leader) return;
    let best = file.claims[0]!;
    for (const other of file.claims) if (other.beats(best)) best = other;
    this.#work.steps += file.claims.length;
    if (best !== claim) this.#hooks.lead(file, best);
  }
}
