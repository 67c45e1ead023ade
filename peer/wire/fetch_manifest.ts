/**
 * Gets a file's manifest from one peer and checks it against the file id.
 *
 * @module
 */
import {
  bkeyBytes,
  bytesEqual,
  createMessage,
  decodeBencode,
  dictGet,
  fileIdOf,
  FrameDecoderStream,
  type Manifest,
  MAX_MANIFEST_BYTES,
  ProtocolError,
  type ProtocolErrorCode,
  readAnyManifest,
  toHex,
} from "@shoal/protocol";
import { handshakeFrame, HandshakeReply } from "./handshake.ts";
import { type ManifestConnLimits, openManifestConn } from "./manifest_conn.ts";
import {
  fallbackProtocol,
  FirstBytes,
  SpeaksBitTorrentError,
} from "../download/protocol_fallback.ts";

/**
 * A manifest that hashes to the file id but is not valid (a file name that
 * could leave the download folder, a bad chunk size...). The id commits to
 * those bytes, so no peer can ever send a usable manifest for it: the
 * download must stop, not try other peers.
 */
export class InvalidManifestError extends Error {
  /** Why the manifest was rejected ("bad_string" for an unsafe name). */
  readonly code: ProtocolErrorCode;

  /**
   * @param message one line for the user
   * @param cause the decoder's rejection
   */
  constructor(message: string, cause: ProtocolError) {
    super(message, { cause });
    this.name = "InvalidManifestError";
    this.code = cause.code;
  }
}

/**
 * A peer sent a manifest whose SHA-256 is not the file id (another file, or
 * a lie): the download bans that peer and asks others.
 */
export class ManifestMismatchError extends Error {
  /** For callers that test codes rather than classes. */
  readonly code = "manifest_mismatch";

  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "ManifestMismatchError";
  }
}

/**
 * The manifest arrived after another peer's had passed its checks (see
 * {@linkcode FetchManifestOptions.wanted}): it was dropped unchecked. Not the
 * peer's fault.
 */
export class ManifestNotNeededError extends Error {
  /** @param message one line */
  constructor(message = "another peer's manifest was checked first") {
    super(message);
    this.name = "ManifestNotNeededError";
  }
}

/** The raw name field of manifest bytes, for messages only (never a path). */
function rawName(bytes: Uint8Array): string {
  let raw: Uint8Array;
  try {
    const top = decodeBencode(bytes);
    const info = top instanceof Map ? dictGet(top, "info") : undefined;
    const tree = info instanceof Map ? dictGet(info, "file tree") : undefined;
    const key = tree instanceof Map ? [...tree.keys()][0] : undefined;
    if (key === undefined) return "";
    raw = bkeyBytes(key);
  } catch (error) {
    if (error instanceof ProtocolError) return "";
    throw error;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(
    raw.subarray(0, 80),
  );
  return JSON.stringify(text) + (raw.byteLength > 80 ? "…" : "");
}

/** Options for {@linkcode fetchManifest}. */
export interface FetchManifestOptions extends ManifestConnLimits {
  /** Our peer id. */
  peerId: Uint8Array;
  /** Our TCP port, or 0. @default {0} */
  listenPort?: number;
  /**
   * Called once the peer has answered the handshake, before the manifest
   * is asked for; resolves with a release function, called when this
   * request ends. Without it, both go in one write.
   *
   * So many peers can be asked to shake hands at once (a silent one costs
   * nothing but its socket) while few at a time send the manifest.
   */
  beforeAsk?: (signal: AbortSignal) => Promise<() => void>;
  /** Called with the bitfield the peer sent in its handshake reply. */
  onHandshake?: (bitfield: Uint8Array) => void;
  /**
   * Asked once the manifest has arrived, before it is checked (from a
   * BitTorrent peer: once the info dictionary has, before the piece layer
   * is asked for): false when a copy from another peer has passed its
   * checks meanwhile. This one is then dropped with a
   * {@linkcode ManifestNotNeededError}, unchecked: several copies often
   * arrive together, and each check hashes the whole piece layer on the
   * caller's thread (tens of milliseconds for a 16 GiB file) before the
   * winner's result can even be used.
   */
  wanted?: () => boolean;
  /** Called the moment this manifest has passed its checks. */
  checked?: () => void;
}

/**
 * Connects to a peer, says which file we want, asks for its manifest and
 * checks that the manifest's SHA-256 is the file id. A manifest that does
 * not match is rejected: a peer cannot substitute another file.
 *
 * @param peer where to connect
 * @param fileId the file's id
 * @param options our id, timeouts and a signal to cancel
 * @returns the manifest and its canonical bytes
 * @throws {InvalidManifestError} when the manifest matches the id but is not valid
 * @throws {ManifestMismatchError} when the manifest does not hash to the id
 * @throws {SpeaksBitTorrentError} when the peer answered the handshake with
 *   silence or a BitTorrent handshake (ask it in BitTorrent, bt_fetch_manifest.ts)
 * @throws {Error} with a one-line reason when the peer fails or lies
 * @example
 * ```ts
 * // const { manifest } = await fetchManifest({ host: "127.0.0.1", port: 7000 }, id, { peerId });
 * ```
 */
export async function fetchManifest(
  peer: { host: string; port: number },
  fileId: Uint8Array,
  options: FetchManifestOptions,
): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  // A peer that accepts and then says nothing, or trickles, is cut off
  // after seconds: other peers are being asked meanwhile.
  const link = await openManifestConn(peer, options);
  const conn = link.conn;
  let release: (() => void) | undefined;
  // What comes before the handshake reply tells a BitTorrent-only peer.
  const seen = new FirstBytes();
  const handshake = new HandshakeReply(null);
  const speaksBitTorrent = () =>
    !handshake.done && link.stopped !== "cancelled" &&
    fallbackProtocol({
        tried: "shoal",
        bytesReceived: seen.count,
        prefix: seen.prefix,
      }) === "bittorrent";
  const watched = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen.add(chunk);
      link.heard();
      controller.enqueue(chunk);
    },
  });
  try {
    const hello = handshakeFrame({
      fileId,
      peerId: options.peerId,
      listenPort: options.listenPort ?? 0,
    });
    const ask = createMessage({ kind: "get_manifest", txid: 1 });
    if (options.beforeAsk) {
      await conn.write(hello);
    } else {
      const both = new Uint8Array(hello.byteLength + ask.byteLength);
      both.set(hello);
      both.set(ask, hello.byteLength);
      await conn.write(both);
    }
    const frames = conn.readable.pipeThrough(watched).pipeThrough(
      new FrameDecoderStream({ maxBodyBytes: MAX_MANIFEST_BYTES }),
    );
    // The chunk count is not known before the manifest: the bitfield's
    // length is not checked here (HandshakeReply(null) above).
    for await (const message of frames) {
      if (!handshake.done) {
        const step = handshake.step(message);
        if (step.kind === "more") continue;
        if (step.kind !== "ready") throw new Error(step.reason);
        options.onHandshake?.(step.bitfield);
        if (!options.beforeAsk) continue;
        link.waiting();
        release = await options.beforeAsk(
          options.signal ?? new AbortController().signal,
        );
        if (link.stopped !== null) break;
        link.asked("manifest");
        await conn.write(ask);
        continue;
      }
      if (message.kind === "error") {
        throw new Error(`peer refused: ${message.text}`);
      }
      if (message.kind !== "manifest") continue;
      if (options.wanted?.() === false) throw new ManifestNotNeededError();
      if (!bytesEqual(idOrNothing(message.bytes), fileId)) {
        throw new ManifestMismatchError(
          `its manifest does not hash to ${toHex(fileId).slice(0, 16)}…`,
        );
      }
      // The decoder's own buffer for this frame: no copy (8 MiB of chunk
      // hashes for a 128 GiB file), and the hashes are views into it.
      const bytes = message.bytes;
      try {
        // A folder's manifest gives its summary (protocol's readAnyManifest).
        const { manifest } = readAnyManifest(bytes, { viewHashes: true });
        options.checked?.();
        return { manifest, bytes };
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        throw new InvalidManifestError(
          `the file ${toHex(fileId).slice(0, 16)}… has an invalid manifest${
            error.code === "bad_string" ? ` (name ${rawName(bytes)})` : ""
          }: ${error.message}${
            error.code === "bad_string"
              ? "; ask whoever shares it to share it under a plain file name"
              : ""
          }`,
          error,
        );
      }
    }
    throw new Error(
      link.stopped ??
        "the peer closed the connection before sending the manifest",
    );
  } catch (error) {
    if (error instanceof ManifestNotNeededError) throw error;
    if (speaksBitTorrent()) {
      throw new SpeaksBitTorrentError(
        "it answered the Shoal handshake as a BitTorrent peer does",
      );
    }
    if (link.stopped !== null) throw new Error(link.stopped, { cause: error });
    if (error instanceof ProtocolError) {
      throw new Error(`bad frame: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    release?.();
    link.close();
  }
}

/** The id manifest bytes claim, or nothing (no bytes) when they are not a dictionary with `info`. */
function idOrNothing(bytes: Uint8Array): Uint8Array {
  try {
    return fileIdOf(bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return new Uint8Array();
  }
}
