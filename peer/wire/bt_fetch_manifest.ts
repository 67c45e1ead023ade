/**
 * Gets a file's manifest from one BitTorrent peer: the info dictionary by
 * BEP 9 `ut_metadata`, checked against the file id before a byte of it is
 * used, then the piece layer by BEP 52 hash requests, proven against the
 * dictionary's pieces root (peer/download/bt_metadata.ts). The same
 * contract as fetch_manifest.ts, so the manifest race asks either kind of
 * peer alike.
 *
 * @module
 */
import {
  BT_INFOHASH_BYTES,
  type BtFrame,
  BtFrameDecoder,
  type BtMessage,
  bytesEqual,
  concatBytes,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeBtHandshake,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  type Manifest,
  ProtocolError,
  readAnyManifest,
  toHex,
  UT_METADATA,
} from "@shoal/protocol";
import {
  btManifestBytes,
  type InfoShape,
  infoShape,
  MetadataAssembly,
  PieceLayerAssembly,
} from "../download/bt_metadata.ts";
import {
  type FetchManifestOptions,
  InvalidManifestError,
  ManifestMismatchError,
  ManifestNotNeededError,
} from "./fetch_manifest.ts";
import { openManifestConn } from "./manifest_conn.ts";
import { FolderLayerAssembly } from "../download/bt_folder_layers.ts";
import { writeAll } from "./write_all.ts";

/** The id we ask the peer to send `ut_metadata` messages with. */
const OUR_UT_METADATA_ID = 1;
/** Hash requests out at once (each asks for up to 512 piece hashes). */
const HASH_REQUESTS_AT_ONCE = 8;
const READ_BYTES = 64 * 1024;

/**
 * Connects to a BitTorrent peer, fetches the info dictionary and the piece
 * layer, and checks both against the file id.
 *
 * @param peer where to connect
 * @param fileId the file's id (the v2 infohash)
 * @param options our 20-byte BitTorrent peer id, timeouts, a signal
 * @returns the manifest and its canonical bytes
 * @throws {InvalidManifestError} when the dictionary matches the id but is not a file Shoal can fetch
 * @throws {ManifestMismatchError} when the peer lied: a handshake for another
 *   file, a dictionary that does not hash to the id, hashes that do not prove
 * @throws {Error} with a one-line reason when the peer fails or refuses
 * @example
 * ```ts
 * // const { bytes } = await fetchBtManifest({ host: "127.0.0.1", port: 6881 }, id, { peerId });
 * ```
 */
export async function fetchBtManifest(
  peer: { host: string; port: number },
  fileId: Uint8Array,
  options: FetchManifestOptions,
): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const link = await openManifestConn(peer, options);
  const conn = link.conn;
  const beforeAsk = options.beforeAsk;
  const session = new MetadataSession(
    fileId,
    options,
    beforeAsk && (async () => {
      link.waiting();
      const release = await beforeAsk(
        options.signal ?? new AbortController().signal,
      );
      link.asked("metadata");
      return release;
    }),
  );
  try {
    await writeAll(
      conn,
      encodeBtHandshake({
        infoHash: fileId.subarray(0, BT_INFOHASH_BYTES),
        peerId: options.peerId,
        extended: true,
        fast: true,
        v2: true,
      }),
    );
    const decoder = new BtFrameDecoder();
    const buffer = new Uint8Array(READ_BYTES);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      link.heard();
      const frames: BtFrame[] = [];
      decoder.push(buffer.subarray(0, n), (frame) => frames.push(frame));
      for (const frame of frames) {
        const out = await session.onFrame(frame);
        if (out.length > 0) await writeAll(conn, concat(out));
        if (session.result) return session.result;
      }
    }
    throw new Error(
      link.stopped ??
        "the peer closed the connection before sending the metadata",
    );
  } catch (error) {
    if (
      error instanceof ManifestMismatchError ||
      error instanceof InvalidManifestError ||
      error instanceof ManifestNotNeededError
    ) throw error;
    if (link.stopped !== null) throw new Error(link.stopped, { cause: error });
    if (error instanceof ProtocolError) {
      throw new Error(`bad BitTorrent frame: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    session.release?.();
    link.close();
  }
}

/** The messages of one metadata fetch, in order; every decision in one place. */
class MetadataSession {
  readonly #fileId: Uint8Array;
  readonly #options: FetchManifestOptions;
  #fast = false;
  #sawPieces = false;
  /** The peer's id for ut_metadata messages. */
  #theirId = 0;
  #metadata: MetadataAssembly | null = null;
  #info: Uint8Array | null = null;
  #shape: InfoShape | null = null;
  /** A file's layer, or every layer of a folder (bt_folder_layers.ts). */
  #layer: PieceLayerAssembly | FolderLayerAssembly | null = null;
  #nextHashRequest = 0;
  /** Releases our place among those asked for a manifest (options.beforeAsk). */
  release: (() => void) | undefined;
  /** The manifest, once whole and checked. */
  result: { manifest: Manifest; bytes: Uint8Array } | null = null;

  readonly #gate: (() => Promise<() => void>) | undefined;

  /**
   * @param fileId the file id
   * @param options the caller's options (onHandshake)
   * @param gate waits for our turn to ask (options.beforeAsk, timers paused)
   */
  constructor(
    fileId: Uint8Array,
    options: FetchManifestOptions,
    gate: (() => Promise<() => void>) | undefined,
  ) {
    this.#fileId = fileId;
    this.#options = options;
    this.#gate = gate;
  }

  /** One frame; resolves with the messages to send. */
  async onFrame(frame: BtFrame): Promise<BtMessage[]> {
    switch (frame.kind) {
      case "handshake": {
        if (
          !bytesEqual(
            frame.infoHash,
            this.#fileId.subarray(0, BT_INFOHASH_BYTES),
          )
        ) {
          throw new ManifestMismatchError(
            "it answered with a BitTorrent handshake for another file",
          );
        }
        if (!frame.extended) {
          throw new Error(
            "the BitTorrent peer cannot send metadata (no extension protocol)",
          );
        }
        this.#fast = frame.fast;
        const out: BtMessage[] = [{
          kind: "extended",
          id: 0,
          payload: encodeExtendedHandshake({
            extensions: new Map([[UT_METADATA, OUR_UT_METADATA_ID]]),
            client: "Shoal",
            port: null,
            requestQueue: null,
            metadataSize: null,
          }),
        }];
        if (this.#fast) out.push({ kind: "have_none" });
        return out;
      }
      case "bitfield":
        this.#pieces(frame.bits.some((byte) => byte !== 0));
        return [];
      case "have_all":
      case "have_none":
        this.#pieces(frame.kind === "have_all");
        return [];
      case "extended":
        if (frame.id === 0) {
          return await this.#onExtendedHandshake(frame.payload);
        }
        if (frame.id === OUR_UT_METADATA_ID) {
          return this.#onMetadata(frame.payload);
        }
        return [];
      case "hashes":
        return this.#onHashes(frame);
      case "hash_reject":
        throw new Error("the BitTorrent peer refused to send the piece layer");
      case "request":
        return this.#fast ? [{ ...frame, kind: "reject" }] : [];
      default:
        return [];
    }
  }

  #pieces(holds: boolean): void {
    if (this.#sawPieces) return;
    this.#sawPieces = true;
    this.#options.onHandshake?.(new Uint8Array([holds ? 1 : 0]));
  }

  async #onExtendedHandshake(payload: Uint8Array): Promise<BtMessage[]> {
    if (this.#metadata) return [];
    const handshake = decodeExtendedHandshake(payload);
    const id = handshake.extensions.get(UT_METADATA) ?? 0;
    if (id === 0 || handshake.metadataSize === null) {
      throw new Error("the BitTorrent peer does not send metadata (BEP 9)");
    }
    this.#theirId = id;
    try {
      this.#metadata = new MetadataAssembly(
        this.#fileId,
        handshake.metadataSize,
      );
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new ManifestMismatchError(
        `it announced metadata of ${handshake.metadataSize} bytes`,
      );
    }
    if (this.#gate) this.release = await this.#gate();
    return this.#metadata.pieces().map((piece) => ({
      kind: "extended",
      id: this.#theirId,
      payload: encodeMetadataMessage({ kind: "metadata_request", piece }),
    }));
  }

  #onMetadata(payload: Uint8Array): BtMessage[] {
    const message = decodeMetadataMessage(payload);
    switch (message.kind) {
      case "metadata_request":
        // We fetch here; metadata is served on our own port.
        return [{
          kind: "extended",
          id: this.#theirId,
          payload: encodeMetadataMessage({
            kind: "metadata_reject",
            piece: message.piece,
          }),
        }];
      case "metadata_reject":
        throw new Error("the BitTorrent peer refused to send the metadata");
      case "metadata_other":
        return [];
      case "metadata_data":
        break;
    }
    if (!this.#metadata || this.#info) {
      throw new ManifestMismatchError("it sent metadata nobody asked for");
    }
    const step = this.#metadata.add(
      message.piece,
      message.totalSize,
      message.data,
    );
    if (step.kind === "lied") throw new ManifestMismatchError(step.reason);
    if (step.kind === "more") return [];
    // Another peer's copy has passed meanwhile: no piece layer to ask for.
    if (this.#options.wanted?.() === false) throw new ManifestNotNeededError();
    // The dictionary hashes to the file id: from here on it is trusted.
    this.#info = step.info;
    try {
      this.#layer = this.#layerFor(step.info);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw this.#invalid(error);
    }
    if (this.#layer.complete) {
      this.#finish(new Uint8Array());
      return [];
    }
    return this.#hashRequests();
  }

  /** A file's piece layer, or a folder's layers (its paths checked first). */
  #layerFor(info: Uint8Array): PieceLayerAssembly | FolderLayerAssembly {
    try {
      this.#shape = infoShape(info);
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== "folder") {
        throw error;
      }
      return new FolderLayerAssembly(info);
    }
    return new PieceLayerAssembly(this.#shape);
  }

  #hashRequests(): BtMessage[] {
    const requests = this.#layer!.requests;
    const out: BtMessage[] = [];
    while (
      this.#nextHashRequest < requests.length &&
      out.length < HASH_REQUESTS_AT_ONCE
    ) {
      out.push({ kind: "hash_request", ...requests[this.#nextHashRequest++]! });
    }
    return out;
  }

  #onHashes(frame: Extract<BtFrame, { kind: "hashes" }>): BtMessage[] {
    if (!this.#layer) {
      throw new ManifestMismatchError("it sent hashes nobody asked for");
    }
    const step = this.#layer.add(frame);
    if (step.kind === "lied") throw new ManifestMismatchError(step.reason);
    if (step.kind === "done") {
      this.#finish(step.layer);
      return [];
    }
    return this.#hashRequests();
  }

  #finish(layer: Uint8Array): void {
    const bytes = this.#layer instanceof FolderLayerAssembly
      ? this.#layer.manifestBytes(this.#info!)
      : btManifestBytes(this.#info!, this.#shape!, layer);
    try {
      // A folder's manifest gives its summary (protocol's readAnyManifest).
      // Every hash of the layer was proven against its pieces root as it
      // came (PieceLayerAssembly): not hashed up to the root again.
      this.result = {
        manifest: readAnyManifest(bytes, {
          viewHashes: true,
          layerChecked: true,
        }).manifest,
        bytes,
      };
      this.#options.checked?.();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw this.#invalid(error);
    }
  }

  #invalid(error: ProtocolError): InvalidManifestError {
    return new InvalidManifestError(
      `the file ${
        toHex(this.#fileId).slice(0, 16)
      }… has an invalid manifest: ${error.message}${
        error.code === "bad_string" ? NAME_ADVICE : ""
      }`,
      error,
    );
  }
}

/** What to do about a name that cannot be saved safely. */
const NAME_ADVICE =
  "; ask whoever shares it to share it under a plain file name";

function concat(messages: BtMessage[]): Uint8Array {
  return concatBytes(messages.map(encodeBtMessage));
}
