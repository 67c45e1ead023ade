/**
 * One BitTorrent connection's pieces, block by block: the scheduler asks
 * for whole pieces (chunks), a BitTorrent peer serves 16 KiB blocks. This
 * turns the pieces asked for into block requests (no more out at once than
 * the peer queues, and no more pieces started than there are buffers),
 * copies each block that answers a request into its piece's buffer, and
 * hands back a piece once every block is in, to be checked against the
 * piece layer. Blocks nobody asked for, or of the wrong size, are the
 * peer's fault; answers to requests we took back (a cancel, a choke) are
 * not, and are dropped.
 *
 * Memory stays flat: at most `maxBuffers` piece buffers per connection,
 * counting those still being written to disk, reused from piece to piece.
 *
 * Pure: no sockets, no timers (tests/unit/peer/bt_blocks.test.ts).
 *
 * @module
 */
import {
  BT_BLOCK_BYTES as BLOCK_BYTES,
  type BtBlockRange,
} from "@shoal/protocol";

/** Requests out at once on a connection, at most (4 MiB of blocks). */
export const MAX_REQUESTS = 256;
/** Bytes of piece buffers one connection may hold, at most (at least two pieces). */
export const MAX_BUFFER_BYTES = 4 * 1024 * 1024;
/** Requests taken back (cancelled, choked) whose late answers are still tolerated. */
export const MAX_LATE_BLOCKS = 4_096;

/** The file's piece layout. */
export interface PieceShape {
  /** File size in bytes. */
  size: number;
  /** Piece (chunk) size in bytes, a multiple of 16 KiB. */
  chunkSize: number;
  /** Pieces in the file. */
  chunkCount: number;
  /**
   * Bytes in piece `index`, when pieces end elsewhere than at `size` (a
   * folder's: each file's last piece may be short).
   */
  lengthOf?: (index: number) => number;
}

/** What a block from the peer meant. */
export type BlockResult =
  /** Stored; its piece still lacks blocks. */
  | { kind: "partial" }
  /** An answer to a request we took back: dropped, not the peer's fault. */
  | { kind: "late" }
  /**
   * The piece's last block: `bytes` is the whole piece (a view of
   * `buffer`). Check it, write it, then {@linkcode BtBlocks.release} the buffer.
   */
  | { kind: "piece"; index: number; bytes: Uint8Array; buffer: Uint8Array }
  /** Nobody asked for it, or it has the wrong size: the peer misbehaved. */
  | { kind: "unasked"; reason: string };

/** What a BEP 6 reject meant. */
export type RejectResult =
  /** The peer will not send this piece: the requests still out for it are to be cancelled. */
  | { kind: "rejected"; index: number; cancel: BtBlockRange[] }
  /** A reject of a request we took back. */
  | { kind: "late" }
  /** A reject of a request never sent: the peer misbehaved (BEP 6). */
  | { kind: "unasked"; reason: string };

/** A piece whose blocks are being asked for. */
interface Active {
  index: number;
  /** Its bytes (the last piece is shorter). */
  length: number;
  blocks: number;
  buffer: Uint8Array;
  /** The next block to ask for. */
  nextBlock: number;
  /** Blocks asked for and not answered. */
  outstanding: Set<number>;
  received: number;
}

/** Options for {@linkcode BtBlocks}. */
export interface BtBlocksOptions {
  /** The file's pieces. */
  shape: PieceShape;
  /** Requests out at once (the peer's `reqq`). @default {MAX_REQUESTS} */
  maxRequests?: number;
}

/**
 * The block requests and piece buffers of one connection.
 *
 * @example
 * ```ts
 * import { BtBlocks } from "./bt_blocks.ts";
 * const blocks = new BtBlocks({ shape: { size: 40_000, chunkSize: 32_768, chunkCount: 2 } });
 * blocks.queue([1]);
 * blocks.nextRequests(); // [{ index: 1, begin: 0, length: 7232 }]
 * blocks.receive(1, 0, new Uint8Array(7232)); // { kind: "piece", index: 1, ... }
 * ```
 */
export class BtBlocks {
  readonly #shape: PieceShape;
  readonly #blocksPerPiece: number;
  readonly #maxBuffers: number;
  #maxRequests: number;
  /** Pieces asked for whose blocks are not asked for yet, in order. */
  #queued: number[] = [];
  readonly #active = new Map<number, Active>();
  #outstanding = 0;
  /** Buffers handed out: pieces being assembled or written. */
  #buffersOut = 0;
  readonly #free: Uint8Array[] = [];
  /** Block keys of requests taken back, oldest first (a Set keeps insertion order). */
  readonly #late = new Set<number>();

  /** @param options the file's shape and the peer's request queue */
  constructor(options: BtBlocksOptions) {
    this.#shape = options.shape;
    this.#blocksPerPiece = Math.ceil(options.shape.chunkSize / BLOCK_BYTES);
    this.#maxBuffers = Math.max(
      2,
      Math.floor(MAX_BUFFER_BYTES / options.shape.chunkSize),
    );
    this.#maxRequests = MAX_REQUESTS;
    this.setMaxRequests(options.maxRequests ?? MAX_REQUESTS);
  }

  /** Requests out now. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Pieces asked for and not yet whole (queued or being assembled). */
  get pieces(): number {
    return this.#queued.length + this.#active.size;
  }

  /** Piece buffers held (assembling or being written), at most {@linkcode BtBlocks.maxBuffers}. */
  get buffersOut(): number {
    return this.#buffersOut;
  }

  /** The most piece buffers this connection holds at once. */
  get maxBuffers(): number {
    return this.#maxBuffers;
  }

  /** The peer said how many requests it queues (`reqq`): never more out at once. */
  setMaxRequests(reqq: number): void {
    this.#maxRequests = Math.max(1, Math.min(MAX_REQUESTS, reqq));
  }

  /** Whether piece `index` is asked for and not whole yet. */
  has(index: number): boolean {
    return this.#active.has(index) || this.#queued.includes(index);
  }

  /** Adds pieces to fetch (pieces already asked for are skipped). */
  queue(indices: readonly number[]): void {
    for (const index of indices) {
      if (index >= 0 && index < this.#shape.chunkCount && !this.has(index)) {
        this.#queued.push(index);
      }
    }
  }

  /** The block requests to send now, in order: pieces in the order asked, blocks in order. */
  nextRequests(): BtBlockRange[] {
    const out: BtBlockRange[] = [];
    while (this.#outstanding < this.#maxRequests) {
      let piece: Active | undefined;
      for (const active of this.#active.values()) {
        if (active.nextBlock < active.blocks) {
          piece = active;
          break;
        }
      }
      if (!piece) {
        if (this.#queued.length === 0 || !this.#hasBuffer()) break;
        piece = this.#start(this.#queued.shift()!);
      }
      const block = piece.nextBlock++;
      piece.outstanding.add(block);
      this.#outstanding++;
      out.push(this.#range(piece, block));
    }
    return out;
  }

  /**
   * A block from the peer (a `piece` message).
   *
   * @param index piece index
   * @param begin offset in the piece
   * @param block the bytes (copied here; may be a view the caller reuses)
   * @returns what it meant
   */
  receive(index: number, begin: number, block: Uint8Array): BlockResult {
    const piece = this.#active.get(index);
    const number = begin / BLOCK_BYTES;
    if (!piece || !Number.isInteger(number) || !piece.outstanding.has(number)) {
      if (
        Number.isInteger(number) && this.#late.delete(this.#key(index, number))
      ) {
        return { kind: "late" };
      }
      return {
        kind: "unasked",
        reason:
          `sent block ${begin} of piece ${index}, which was not asked for`,
      };
    }
    const length = this.#range(piece, number).length;
    // libtorrent pads a file's last block with zeros to 16 KiB when asked
    // for 16 KiB; accept that form of it too, without the padding.
    const padded = block.byteLength === BLOCK_BYTES && length < BLOCK_BYTES &&
      number === piece.blocks - 1;
    if (block.byteLength !== length && !padded) {
      return {
        kind: "unasked",
        reason:
          `sent ${block.byteLength} bytes for block ${begin} of piece ${index}, which has ${length}`,
      };
    }
    piece.buffer.set(block.subarray(0, length), begin);
    piece.outstanding.delete(number);
    this.#outstanding--;
    if (++piece.received < piece.blocks) return { kind: "partial" };
    this.#active.delete(index);
    return {
      kind: "piece",
      index,
      bytes: piece.buffer.subarray(0, piece.length),
      buffer: piece.buffer,
    };
  }

  /**
   * Takes back piece `index` (the scheduler cancelled it).
   *
   * @returns the block requests still out for it, to send cancels for
   */
  cancel(index: number): BtBlockRange[] {
    const at = this.#queued.indexOf(index);
    if (at >= 0) {
      this.#queued.splice(at, 1);
      return [];
    }
    const piece = this.#active.get(index);
    if (!piece) return [];
    return this.#drop(piece);
  }

  /**
   * A BEP 6 reject of one block request.
   *
   * @param range the request rejected
   * @returns what it meant
   */
  reject(range: BtBlockRange): RejectResult {
    const number = range.begin / BLOCK_BYTES;
    const piece = this.#active.get(range.index);
    if (piece && Number.isInteger(number) && piece.outstanding.has(number)) {
      piece.outstanding.delete(number);
      this.#outstanding--;
      return {
        kind: "rejected",
        index: range.index,
        cancel: this.#drop(piece),
      };
    }
    if (
      Number.isInteger(number) &&
      this.#late.delete(this.#key(range.index, number))
    ) return { kind: "late" };
    return {
      kind: "unasked",
      reason:
        `rejected block ${range.begin} of piece ${range.index}, which was not asked for`,
    };
  }

  /**
   * Takes back every piece (the peer choked us: it drops our requests).
   *
   * @returns the pieces given up, for the scheduler to ask elsewhere
   */
  dropAll(): number[] {
    const indices = [...this.#active.keys(), ...this.#queued];
    for (const piece of [...this.#active.values()]) this.#drop(piece);
    this.#queued = [];
    return indices;
  }

  /** A piece's buffer is checked and written: it may hold another piece. */
  release(buffer: Uint8Array): void {
    this.#buffersOut--;
    if (this.#free.length < this.#maxBuffers) this.#free.push(buffer);
  }

  #hasBuffer(): boolean {
    return this.#buffersOut < this.#maxBuffers;
  }

  #start(index: number): Active {
    const length = this.#shape.lengthOf?.(index) ?? Math.min(
      this.#shape.chunkSize,
      this.#shape.size - index * this.#shape.chunkSize,
    );
    this.#buffersOut++;
    const piece: Active = {
      index,
      length,
      blocks: Math.ceil(length / BLOCK_BYTES),
      buffer: this.#free.pop() ?? new Uint8Array(this.#shape.chunkSize),
      nextBlock: 0,
      outstanding: new Set(),
      received: 0,
    };
    this.#active.set(index, piece);
    return piece;
  }

  /** Gives a piece up: its requests out are remembered as taken back. */
  #drop(piece: Active): BtBlockRange[] {
    this.#active.delete(piece.index);
    const cancel: BtBlockRange[] = [];
    for (const number of piece.outstanding) {
      cancel.push(this.#range(piece, number));
      this.#late.add(this.#key(piece.index, number));
      if (this.#late.size > MAX_LATE_BLOCKS) {
        this.#late.delete(this.#late.values().next().value!);
      }
    }
    this.#outstanding -= piece.outstanding.size;
    piece.outstanding.clear();
    this.release(piece.buffer);
    return cancel;
  }

  #range(piece: Active, number: number): BtBlockRange {
    const begin = number * BLOCK_BYTES;
    return {
      index: piece.index,
      begin,
      length: Math.min(BLOCK_BYTES, piece.length - begin),
    };
  }

  #key(index: number, number: number): number {
    return index * this.#blocksPerPiece + number;
  }
}
