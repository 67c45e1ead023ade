/**
 * Long fuzzing of the decoders of untrusted bytes: `parseMessage` on
 * datagram-sized inputs, `FrameDecoder` on byte streams, the BEP 52
 * manifest (`parseManifest`, `fileIdOf`), folder manifests and their file
 * trees (`parseFolderManifest`), `.torrent` files (`parseTorrent`)
 * and magnet links (`parseMagnet`), the download path's pull-based
 * `FrameReader` (peer/wire/frame_reader.ts) on streams cut into random
 * reads, `decodeResume` (peer/storage/resume.ts) on damaged resume files,
 * the BitTorrent peer wire (`BtFrameDecoder` on streams, the BEP 10 and
 * BEP 9 payload decoders, the BEP 52 hash-request math on random requests),
 * the tracker's in-place readers (protocol/tracker_fast.ts) against
 * `parseMessage`, the whole tracker handler, `decodeBencode`
 * (re-encoding what it accepts must give back the same bytes) and BEP 15
 * requests (`parseBep15Request`, checked against the tracker's in-place
 * check and re-encoded to the same bytes), and the MSE/PE handshake a
 * BitTorrent client opens with (`MseResponder`, on real handshakes cut,
 * flipped and padded, and on noise; every input costs two 768-bit modular
 * powers, so it gets a tenth of `--iterations`, at least 100). Each parser
 * gets `--iterations` random and mutated inputs (random bytes, byte and
 * structure-aware mutations of valid encodings, valid headers with random
 * bodies), built by the same generators as the unit tests
 * (bench/_protocol_inputs.ts).
 *
 * The only allowed outcomes are a decoded value or a `ProtocolError` (for
 * `decodeResume`, which is total: a state or null); the
 * script exits with status 1 if anything else escapes, printing the seed,
 * iteration and input so the case can be replayed.
 *
 * ```sh
 * deno run bench/fuzz.ts [--iterations 1000000] [--seed N]
 * ```
 *
 * @module
 */
import { benchArgs } from "./_cli.ts";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import {
  answerHashRequest,
  type BDict,
  Bitfield,
  blockHashesOf,
  type BtFrame,
  BtFrameDecoder,
  type BValue,
  bytesEqual,
  createMessage,
  datagramDialect,
  decodeBencode,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  decodePexMessage,
  dictGet,
  encodeBencode,
  encodeBep15Request,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeFolderManifest,
  encodeManifest,
  encodeMetadataMessage,
  encodePexMessage,
  encodeTorrent,
  type ExtendedHandshake,
  fileIdOf,
  fileMerkle,
  FileMerkleTree,
  type FolderManifest,
  FrameDecoder,
  type FrameDecoderOptions,
  hashRequestPiece,
  hashRequestProblem,
  type MagnetLink,
  magnetLink,
  type Manifest,
  MAX_DATAGRAM_BYTES,
  MAX_MSE_HANDSHAKE_BYTES,
  MAX_MSE_PAD_BYTES,
  MAX_PEX_PEERS,
  type Message,
  type MetadataMessage,
  MSE_KEY_BYTES,
  MseResponder,
  type MseStep,
  parseBep15Reply,
  parseBep15Request,
  parseFolderManifest,
  parseMagnet,
  parseManifest,
  parseMessage,
  parseTorrent,
  type PexMessage,
  ProtocolError,
  sha256,
  toHex,
  type Torrent,
  verifyHashes,
} from "@shoal/protocol";
import { MseInitiator } from "./_mse_initiator.ts";
import {
  bencodeBytesArb,
  bencodeNoise,
  bep15DatagramArb,
  bep15Outcome,
  datagramArb,
  fastPathOutcome,
  folderManifestBytesArb,
  headerWithRandomBody,
  magnetArb,
  magnetNoise,
  manifestBytesArb,
  mutate,
  mutateBencode,
  mutateText,
  outcomeOf,
  randomInput,
  Rng,
  torrentBytesArb,
  trackerHotDatagramArb,
} from "./_protocol_inputs.ts";
import { FrameReader } from "../peer/wire/frame_reader.ts";
import { btCorpus, btStreamInput, extendedPayloadArb } from "./_bt_inputs.ts";
import {
  decodeResume,
  encodeLegacyResumeSlot,
  encodeResume,
} from "../peer/storage/resume.ts";
import { TrackerHandler } from "../tracker/handler.ts";

/** Options for {@linkcode runFuzz}. */
export interface FuzzOptions {
  /**
   * Inputs per parser.
   * @default {1_000_000}
   */
  iterations?: number;
  /**
   * Seed for every generator; the same seed replays the same inputs.
   * @default {1}
   */
  seed?: number;
  /**
   * Called with each progress or summary line.
   * @default {no output}
   */
  log?: (line: string) => void;
}

/** What one parser did with its inputs. */
export interface ParserReport {
  /** Parser name. */
  name: string;
  /** Inputs fed. */
  inputs: number;
  /** Bytes fed. */
  bytes: number;
  /** Wall time in milliseconds. */
  elapsedMs: number;
  /** Outcome label (message kind, "manifest", "error:<code>") to count. */
  outcomes: Map<string, number>;
  /** Extra counts that are not outcomes (frames decoded per stream). */
  details: Map<string, number>;
  /** Inputs that threw something other than a ProtocolError. */
  escapeCount: number;
  /** The first few of them. */
  escapes: Escape[];
}

/** An input that made a decoder throw something other than a ProtocolError. */
export interface Escape {
  /** Iteration number. */
  iteration: number;
  /** The input, as hex (at most 4 KiB shown). */
  inputHex: string;
  /** What was thrown. */
  error: string;
}

const CORPUS_SIZE = 2_000;
const MAX_ESCAPES_KEPT = 10;
const UTF8 = new TextEncoder();

function recordEscape(
  report: ParserReport,
  iteration: number,
  input: Uint8Array | string,
  error: unknown,
): void {
  if (typeof input === "string") input = UTF8.encode(input);
  report.escapeCount++;
  if (report.escapes.length >= MAX_ESCAPES_KEPT) return;
  report.escapes.push({
    iteration,
    inputHex: toHex(input.subarray(0, 4096)),
    error: error instanceof Error
      ? (error.stack ?? error.message)
      : String(error),
  });
}

/** An input made a parser throw something other than a ProtocolError. */
function escaped(
  report: ParserReport,
  i: number,
  input: Uint8Array | string,
  error: unknown,
): void {
  count(report.outcomes, "ESCAPED");
  recordEscape(report, i, input, error);
}

/** The detail line for a stream that decoded `frames` frames. */
function framesLabel(frames: number): string {
  return `streams with ${frames < 4 ? frames : "4+"} frames decoded`;
}

function count(outcomes: Map<string, number>, label: string): void {
  outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
}

function newReport(name: string): ParserReport {
  return {
    name,
    inputs: 0,
    bytes: 0,
    elapsedMs: 0,
    outcomes: new Map(),
    details: new Map(),
    escapeCount: 0,
    escapes: [],
  };
}

/** Decodes a datagram; a decoded message must survive re-encoding. */
function datagramOutcome(bytes: Uint8Array): string {
  return outcomeOf(() => parseMessage(bytes), (message: Message) => {
    const again = createMessage(message);
    const twice = parseMessage(again);
    if (twice.kind !== message.kind || again.byteLength > bytes.byteLength) {
      throw new Error(
        `Cannot re-encode ${message.kind}: got ${twice.kind}, ${again.byteLength} bytes from ${bytes.byteLength}`,
      );
    }
    return message.kind;
  });
}

/**
 * Feeds `iterations` inputs from `nextInput` to `outcome`, counting what
 * each gave; anything but a value or a ProtocolError is an escape.
 */
function fuzzEach<T extends Uint8Array | string>(
  report: ParserReport,
  iterations: number,
  nextInput: () => T,
  outcome: (input: T) => string,
): ParserReport {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const input = nextInput();
    report.inputs++;
    report.bytes += typeof input === "string" ? input.length : input.byteLength;
    try {
      count(report.outcomes, outcome(input));
    } catch (error) {
      escaped(report, i, input, error);
    }
  }
  report.elapsedMs = performance.now() - start;
  return report;
}

/** The valid inputs the mutations start from, sampled once per run. */
interface Corpora {
  datagrams: Uint8Array[];
  /** REGISTER, KEEPALIVE and REQUEST by id, which the tracker reads in place. */
  hot: Uint8Array[];
  manifests: Uint8Array[];
  folders: Uint8Array[];
  bencodes: Uint8Array[];
  torrents: Uint8Array[];
  magnets: string[];
  btMessages: Uint8Array[];
  btExtended: Uint8Array[];
  bep15: Uint8Array[];
}

function sampleCorpora(seed: number): Corpora {
  const sample = <T>(arb: fc.Arbitrary<T>, numRuns: number) =>
    fc.sample(arb, { seed, numRuns });
  return {
    datagrams: sample(datagramArb, CORPUS_SIZE),
    hot: sample(trackerHotDatagramArb, CORPUS_SIZE / 2),
    manifests: sample(manifestBytesArb, CORPUS_SIZE / 4),
    folders: sample(folderManifestBytesArb, CORPUS_SIZE / 4),
    bencodes: sample(bencodeBytesArb, CORPUS_SIZE / 4),
    torrents: sample(torrentBytesArb, CORPUS_SIZE / 4),
    magnets: sample(magnetArb, CORPUS_SIZE / 4),
    btMessages: btCorpus(seed, CORPUS_SIZE),
    btExtended: sample(extendedPayloadArb, CORPUS_SIZE / 4),
    bep15: sample(bep15DatagramArb, CORPUS_SIZE / 2),
  };
}

/** A generator and the rolls (0 to 99) it takes: those below `below` and not taken by a band before it. */
type Band<T> = readonly [below: number, make: () => T];

/** Rolls 0 to 99 once and makes an input with the band the roll falls in. */
function pickBand<T>(rng: Rng, bands: readonly Band<T>[]): T {
  const roll = rng.int(100);
  for (const [below, make] of bands) if (roll < below) return make();
  throw new RangeError(`Cannot make an input: no band takes roll ${roll}`);
}

/** A decoder fed one input at a time from a mix of generators (fuzzTarget). */
interface Target<T extends Uint8Array | string> {
  /** The report's name. */
  name: string;
  /** XORed into the seed, so each target draws its own inputs. */
  salt: number;
  /** The generators over the corpora, each with its band of rolls. */
  bands: (rng: Rng, corpora: Corpora) => Band<T>[];
  /** Decodes one input and names what it gave; throws where a rule breaks. */
  outcome: (input: T) => string;
}

function fuzzTarget<T extends Uint8Array | string>(
  target: Target<T>,
  iterations: number,
  seed: number,
  corpora: Corpora,
): ParserReport {
  const rng = new Rng(seed ^ target.salt);
  const bands = target.bands(rng, corpora);
  return fuzzEach(
    newReport(target.name),
    iterations,
    () => pickBand(rng, bands),
    target.outcome,
  );
}

/**
 * Inputs for the bencoded formats (manifests, .torrent files): byte
 * mutations (which mostly stop at the bencode decoder), structure-aware
 * mutations (valid bencode, damaged meaning), bencode-alphabet noise behind
 * a plausible start, random bytes, and the valid inputs themselves.
 */
function bencodedBands(rng: Rng, corpus: Uint8Array[]): Band<Uint8Array>[] {
  return [
    [35, () => mutate(rng, rng.pick(corpus))],
    [75, () => mutateBencode(rng, rng.pick(corpus))],
    [85, () => {
      const noise = bencodeNoise(rng, 600);
      if (!rng.chance(0.7)) return noise;
      const start = UTF8.encode(rng.pick(["d4:infod", "d4:infod9:file treed"]));
      return concat2(start, noise);
    }],
    [92, () => rng.bytes(rng.int(1200))],
    [100, () => rng.pick(corpus)],
  ];
}

/** The decoders fuzzTarget feeds, in no particular order (runFuzz orders them). */
const TARGETS = {
  datagrams: {
    name: "parseMessage (datagrams)",
    salt: 0,
    bands: (rng, { datagrams }) => [
      [50, () => mutate(rng, rng.pick(datagrams))],
      [75, () => headerWithRandomBody(rng, 1600)],
      [95, () => randomInput(rng)],
      [100, () => rng.pick(datagrams)],
    ],
    outcome: datagramOutcome,
  },
  /**
   * The tracker's in-place readers of REGISTER, KEEPALIVE and REQUEST by id
   * must take exactly the datagrams parseMessage accepts as those and read
   * the same fields: fed mostly mutations of those requests, so every path
   * (taken, refused, left to parseMessage) is reached.
   */
  trackerFast: {
    name: "tracker in-place readers (vs parseMessage)",
    salt: 0x2d2d_2d2d,
    bands: (rng, { hot, datagrams }) => {
      const corpus = [...hot, ...datagrams];
      return [
        [70, () => mutate(rng, rng.pick(corpus))],
        [85, () => headerWithRandomBody(rng, 600)],
        [100, () => rng.pick(corpus)],
      ];
    },
    outcome: fastPathOutcome,
  },
  /**
   * BEP 15 requests (`parseBep15Request`): what it accepts the tracker's
   * in-place check accepts as the same kind, and encodes back to the same
   * bytes. Fed mutations of valid connects, announces and scrapes, random
   * bytes, and Shoal datagrams (which the tracker tells apart first, but the
   * decoder must refuse cleanly too).
   */
  bep15: {
    name: "parseBep15Request (datagrams)",
    salt: 0x0b15_0b15,
    bands: (rng, { bep15, datagrams }) => [
      [60, () => mutate(rng, rng.pick(bep15))],
      [75, () => randomInput(rng)],
      [85, () => rng.pick(datagrams)],
      [100, () => rng.pick(bep15)],
    ],
    outcome: bep15Outcome,
  },
  /**
   * `parseManifest`: what it accepts must encode again to a manifest that
   * parses to the same thing, and must have an id (`fileIdOf` accepts it).
   */
  manifests: {
    name: "parseManifest",
    salt: 0x3c3c_3c3c,
    bands: (rng, { manifests }) => bencodedBands(rng, manifests),
    outcome: (input) =>
      outcomeOf(() => parseManifest(input), (manifest: Manifest) => {
        const again = parseManifest(encodeManifest(manifest));
        if (!isDeepStrictEqual(again, manifest)) {
          throw new Error("Cannot re-encode an accepted manifest");
        }
        fileIdOf(input);
        return manifest.chunkCount === 0
          ? "manifest (empty file)"
          : manifest.chunkCount === 1
          ? "manifest (one chunk)"
          : "manifest";
      }),
  },
  /**
   * `parseFolderManifest` (and `decodeFileTree` in it): what it accepts
   * encodes again to a manifest that parses to the same thing, and
   * `parseManifest` agrees: it takes the same bytes when they hold one file,
   * and names them a folder otherwise.
   */
  folderManifests: {
    name: "parseFolderManifest",
    salt: 0x464f_4c44,
    bands: (rng, { folders, manifests }) =>
      bencodedBands(rng, [...folders, ...manifests]),
    outcome: (input) =>
      outcomeOf(() => parseFolderManifest(input), (folder: FolderManifest) => {
        const again = parseFolderManifest(encodeFolderManifest(folder));
        if (!isDeepStrictEqual(again, folder)) {
          throw new Error("Cannot re-encode an accepted folder manifest");
        }
        const single = folder.files.length === 1 &&
          folder.files[0]!.path.length === 1;
        const asFile = outcomeOf(() => parseManifest(input), () => "file");
        if (asFile !== (single ? "file" : "error:folder")) {
          throw new Error(
            `parseManifest says ${asFile} of a folder of ${folder.files.length} files`,
          );
        }
        return single ? "one file" : "folder";
      }),
  },
  /**
   * `fileIdOf`: the id it gives must be the SHA-256 of the canonical
   * encoding of the decoded `info` value (the span it hashed is that value).
   */
  fileIds: {
    name: "fileIdOf",
    salt: 0x4d4d_4d4d,
    bands: (rng, { manifests, torrents }) =>
      bencodedBands(rng, [...manifests, ...torrents]),
    outcome: (input) =>
      outcomeOf(() => fileIdOf(input), (id) => {
        const top = decodeBencode(input) as BDict;
        const info = dictGet(top, "info")!;
        if (!bytesEqual(sha256(encodeBencode(info)), id)) {
          throw new Error("Cannot agree on an id: fileIdOf hashed other bytes");
        }
        return "id";
      }),
  },
  /**
   * `parseTorrent`: the id of what it accepts is the id of the file itself,
   * and writing it again keeps the id and the trackers.
   */
  torrents: {
    name: "parseTorrent",
    salt: 0x5e5e_5e5e,
    bands: (rng, { torrents }) => bencodedBands(rng, torrents),
    outcome: (input) =>
      outcomeOf(() => parseTorrent(input), (torrent: Torrent) => {
        const again = parseTorrent(
          encodeTorrent(torrent.manifestBytes, torrent.trackers),
        );
        if (
          !bytesEqual(fileIdOf(input), torrent.id) ||
          !bytesEqual(again.id, torrent.id) ||
          !isDeepStrictEqual(again.trackers, torrent.trackers)
        ) {
          throw new Error("Cannot write an accepted torrent again as it was");
        }
        return torrent.trackers.length > 0
          ? "torrent with trackers"
          : "torrent";
      }),
  },
  /**
   * `decodeBencode` on mutated canonical encodings and bencode-alphabet
   * noise: what it accepts must re-encode to the very same bytes (the
   * canonical form is the only form), or an infohash could differ from the
   * bytes hashed.
   */
  bencode: {
    name: "decodeBencode",
    salt: 0x6b6b_6b6b,
    bands: (rng, { bencodes }) => [
      [70, () => mutate(rng, rng.pick(bencodes))],
      [90, () => bencodeNoise(rng)],
      [100, () => rng.pick(bencodes)],
    ],
    outcome: (input) =>
      outcomeOf(() => decodeBencode(input), (value) => {
        if (!bytesEqual(encodeBencode(value), input)) {
          throw new Error("Cannot re-encode accepted bencode to its bytes");
        }
        return bencodeKind(value);
      }),
  },
  /**
   * The BEP 10 extension handshake and BEP 9 `ut_metadata` decoders on
   * mutated valid payloads and bencode noise: what they accept must encode
   * again to the same fields.
   */
  btExtended: {
    name: "BitTorrent extended payloads",
    salt: 0x4254_4558,
    bands: (rng, { btExtended }) => [
      [45, () => mutate(rng, rng.pick(btExtended))],
      [75, () => mutateBencode(rng, rng.pick(btExtended))],
      [90, () => bencodeNoise(rng, 300)],
      [100, () => rng.pick(btExtended)],
    ],
    outcome: btExtendedOutcome,
  },
} satisfies Record<string, Target<Uint8Array>>;

/** `parseMagnet`: what it accepts, magnetLink writes back the same. */
const MAGNETS: Target<string> = {
  name: "parseMagnet",
  salt: 0x6d6d_6d6d,
  bands: (rng, { magnets }) => [
    [70, () => mutateText(rng, rng.pick(magnets))],
    [90, () => magnetNoise(rng)],
    [100, () => rng.pick(magnets)],
  ],
  outcome: (input) =>
    outcomeOf(() => parseMagnet(input), (link: MagnetLink) => {
      const again = parseMagnet(
        magnetLink(link.id, link.name ?? "x", link.trackers),
      );
      if (
        !bytesEqual(again.id, link.id) ||
        !isDeepStrictEqual(again.trackers, link.trackers) ||
        (link.name !== null && again.name !== link.name)
      ) {
        throw new Error("Cannot write an accepted magnet link again");
      }
      return link.name === null ? "link without name" : "link";
    }),
};

/**
 * The tracker's own fast-path decoders (REGISTER, KEEPALIVE, REQUEST read in
 * place, BEP 15 announces and scrapes) sit behind the cookie check, so
 * random bytes never reach them: here every tracker command carries the
 * real cookie (or BEP 15 connection id) of its source before it is
 * mutated, and the whole handler must answer or drop, never throw.
 */
function fuzzTrackerHandler(
  iterations: number,
  seed: number,
  corpus: Uint8Array[],
  bep15: Uint8Array[],
): ParserReport {
  const rng = new Rng(seed);
  const handler = new TrackerHandler({ rateLimit: false });
  const sources = [
    { hostname: "127.0.0.1", port: 4000 },
    { hostname: "127.0.0.2", port: 4001 },
    { hostname: "::1", port: 4002 },
  ];
  let nowMs = 1_000_000;
  const cookieOf = (source: { hostname: string; port: number }): bigint => {
    const reply = handler.handle(
      createMessage({ kind: "connect", txid: 1 }),
      source,
      nowMs,
    );
    const message = reply ? parseMessage(reply) : null;
    if (message?.kind !== "cookie") {
      throw new Error("Cannot fuzz the tracker: no cookie for CONNECT");
    }
    return message.cookie;
  };
  // BEP 15 requests carry the source's connection id in their first 8 bytes.
  const withConnectionId = (
    source: { hostname: string; port: number },
  ): Uint8Array[] => {
    const reply = handler.handle(
      encodeBep15Request({ action: "connect", txid: 1 }),
      source,
      nowMs,
    );
    const connect = reply ? parseBep15Reply(reply) : null;
    if (connect?.action !== "connect") {
      throw new Error("Cannot fuzz the tracker: no BEP 15 connection id");
    }
    const id = new Uint8Array(8);
    new DataView(id.buffer).setBigUint64(0, connect.connectionId);
    return bep15.map((bytes) => {
      const out = bytes.slice();
      if (parseBep15Request(bytes).action !== "connect") out.set(id);
      return out;
    });
  };
  const seeds = sources.map((source) => {
    const cookie = cookieOf(source);
    return [
      ...corpus.flatMap((bytes) => {
        const message = parseMessage(bytes);
        return "cookie" in message
          ? [createMessage({ ...message, cookie })]
          : [];
      }),
      ...withConnectionId(source),
    ];
  });
  // Cookies expire as time moves: take fresh ones, as a client would.
  const refreshSeeds = () =>
    seeds.forEach((list, k) => {
      const cookie = cookieOf(sources[k]!);
      seeds[k] = [
        ...list.flatMap((bytes) => {
          if (datagramDialect(bytes) === "bep15") return [];
          try {
            const message = parseMessage(bytes);
            return "cookie" in message
              ? [createMessage({ ...message, cookie })]
              : [bytes];
          } catch {
            return [bytes];
          }
        }),
        ...withConnectionId(sources[k]!),
      ];
    });
  let sent = 0;
  let which = 0;
  return fuzzEach(
    newReport("TrackerHandler (datagrams with real cookies)"),
    iterations,
    () => {
      if (sent > 0 && sent % 50_000 === 0) refreshSeeds();
      sent++;
      which = rng.int(sources.length);
      const roll = rng.int(100);
      const input = roll < 70
        ? mutate(rng, rng.pick(seeds[which]!))
        : rng.pick(seeds[which]!);
      // Time moves so expiry, sweeps and cookie windows all come into play.
      nowMs += rng.int(50);
      return input;
    },
    (input) => {
      const reply = handler.respond(input, sources[which]!, nowMs);
      if (reply && reply.byteLength > MAX_DATAGRAM_BYTES) {
        throw new Error(
          `Reply of ${reply.byteLength} bytes is larger than a datagram`,
        );
      }
      return reply ? "answered" : "dropped";
    },
  );
}

/** One stream to decode: its bytes, and how to feed them to a fresh decoder, calling `frame` per frame it gives. */
interface Stream {
  bytes: Uint8Array;
  decode: (frame: () => void) => void | Promise<void>;
}

/**
 * Feeds `iterations` streams from `nextStream` to their decoders, counting
 * how each ended (a clean end or a ProtocolError's code) and how many frames
 * it gave; anything else thrown is an escape.
 */
async function fuzzStreams(
  report: ParserReport,
  iterations: number,
  nextStream: () => Stream,
): Promise<ParserReport> {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const { bytes, decode } = nextStream();
    report.inputs++;
    report.bytes += bytes.byteLength;
    let frames = 0;
    try {
      await decode(() => frames++);
      count(report.outcomes, frames === 0 ? "empty stream" : "clean end");
    } catch (error) {
      if (error instanceof ProtocolError) {
        count(report.outcomes, `error:${error.code}`);
      } else escaped(report, i, bytes, error);
    }
    count(report.details, framesLabel(frames));
  }
  report.elapsedMs = performance.now() - start;
  return report;
}

/** Pushes `bytes` in reads of 1 to 16 or 1 to `largest` bytes, as a socket would. */
function pushInReads(
  rng: Rng,
  bytes: Uint8Array,
  largest: number,
  push: (read: Uint8Array) => void,
): void {
  let at = 0;
  while (at < bytes.byteLength) {
    const next = at + 1 + rng.int(rng.chance(0.5) ? 16 : largest);
    push(bytes.subarray(at, next));
    at = next;
  }
}

function streamInput(rng: Rng, corpus: Uint8Array[]): Uint8Array {
  const frames = 1 + rng.int(4);
  const parts: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const roll = rng.int(100);
    parts.push(
      roll < 55
        ? rng.pick(corpus)
        : roll < 85
        ? mutate(rng, rng.pick(corpus))
        : roll < 95
        ? headerWithRandomBody(rng, 600)
        : randomInput(rng, 64),
    );
  }
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  // Sometimes cut the stream short, so it ends inside a frame.
  return rng.chance(0.1) ? out.subarray(0, rng.int(out.byteLength + 1)) : out;
}

function fuzzFrames(
  iterations: number,
  seed: number,
  corpus: Uint8Array[],
): Promise<ParserReport> {
  const rng = new Rng(seed ^ 0x5f5f_5f5f);
  return fuzzStreams(newReport("FrameDecoder (streams)"), iterations, () => {
    const bytes = streamInput(rng, corpus);
    const options: FrameDecoderOptions = {};
    if (rng.chance(0.2)) options.maxBodyBytes = rng.int(2048);
    const decoder = new FrameDecoder(options);
    return {
      bytes,
      decode: (frame) => {
        pushInReads(rng, bytes, 512, (read) => decoder.push(read, frame));
        decoder.finish();
      },
    };
  });
}

/** Feeds `input` to a reader in random-sized reads, like a socket would. */
class PiecewiseSource {
  readonly #input: Uint8Array;
  readonly #rng: Rng;
  #at = 0;

  constructor(input: Uint8Array, rng: Rng) {
    this.#input = input;
    this.#rng = rng;
  }

  read(into: Uint8Array): Promise<number | null> {
    if (this.#at >= this.#input.byteLength) return Promise.resolve(null);
    const n = Math.min(
      into.byteLength,
      this.#input.byteLength - this.#at,
      1 + this.#rng.int(this.#rng.chance(0.5) ? 16 : 2048),
    );
    into.set(this.#input.subarray(this.#at, this.#at + n));
    this.#at += n;
    return Promise.resolve(n);
  }
}

function fuzzFrameReader(
  iterations: number,
  seed: number,
  corpus: Uint8Array[],
): Promise<ParserReport> {
  const rng = new Rng(seed ^ 0x1e1e_1e1e);
  return fuzzStreams(newReport("FrameReader (reads)"), iterations, () => {
    const bytes = streamInput(rng, corpus);
    const maxBodyBytes = rng.chance(0.2) ? rng.int(2048) : 8 * 1024 * 1024;
    const reader = new FrameReader(new PiecewiseSource(bytes, rng), {
      maxBodyBytes,
    });
    return {
      bytes,
      decode: async (frame) => {
        // Bounded: every frame consumes at least a header's worth of input.
        while ((await reader.next()) !== null) frame();
      },
    };
  });
}

/**
 * `BtFrameDecoder` on BitTorrent byte streams (handshake or not, whole,
 * damaged and random frames, cut into random reads); every message it
 * emits must encode again to a message that decodes the same.
 */
function fuzzBtFrames(
  iterations: number,
  seed: number,
  corpus: Uint8Array[],
): Promise<ParserReport> {
  const rng = new Rng(seed ^ 0x4254_4254);
  return fuzzStreams(newReport("BtFrameDecoder (streams)"), iterations, () => {
    const { bytes, handshake } = btStreamInput(rng, corpus);
    const decoder = new BtFrameDecoder({
      handshake,
      views: rng.chance(0.5),
      ...(rng.chance(0.2) ? { maxBitfieldBytes: rng.int(64) } : {}),
    });
    if (rng.chance(0.2)) decoder.expectPieces(1 + rng.int(300));
    const reEncodes = (frame: BtFrame) => {
      if (frame.kind === "handshake") return;
      const again = encodeBtMessage(frame);
      const twice = new BtFrameDecoder({ handshake: false });
      let back: BtFrame | null = null;
      twice.push(again, (m) => (back = m));
      if (!isDeepStrictEqual(back as BtFrame | null, { ...frame })) {
        throw new Error(`Cannot re-encode BitTorrent ${frame.kind}`);
      }
    };
    return {
      bytes,
      decode: (frame) => {
        const emit = (message: BtFrame) => {
          frame();
          reEncodes(message);
        };
        pushInReads(rng, bytes, 2048, (read) => decoder.push(read, emit));
        decoder.finish();
      },
    };
  });
}

function fuzzResume(
  iterations: number,
  seed: number,
  manifests: Uint8Array[],
): ParserReport {
  const rng = new Rng(seed ^ 0x7a7a_7a7a);
  // Valid resume files (the current layout, and the previous one with one or
  // two slots) for the corpus.
  const files = manifests.slice(0, 200).map((manifestBytes) => {
    const manifest = parseManifest(manifestBytes);
    const bits = new Uint8Array(Math.ceil(manifest.chunkCount / 8));
    for (let c = 0; c < manifest.chunkCount; c++) {
      if (rng.chance(0.5)) bits[c >> 3]! |= 0x80 >> (c & 7);
    }
    const have = new Bitfield(manifest.chunkCount, bits);
    const current = encodeResume({ manifestBytes, have }, BigInt(rng.int(9)));
    const one = encodeLegacyResumeSlot(
      { manifestBytes, have },
      BigInt(rng.int(9)),
    );
    const two = concat2(
      one,
      encodeLegacyResumeSlot({ manifestBytes, have }, 99n),
    );
    return { id: fileIdOf(manifestBytes), variants: [current, one, two] };
  });
  let file = files[0]!;
  return fuzzEach(newReport("decodeResume"), iterations, () => {
    file = rng.pick(files);
    const base = rng.pick(file.variants);
    return pickBand(rng, [
      [75, () => mutate(rng, base)],
      [90, () => randomInput(rng, 600)],
      [100, () => base],
    ]);
  }, (input) => decodeResume(input, file.id) ? "state" : "null");
}

/** The kind of a decoded bencode value, for the outcome table. */
function bencodeKind(value: BValue): string {
  return typeof value === "bigint"
    ? "integer"
    : value instanceof Uint8Array
    ? "string"
    : Array.isArray(value)
    ? "list"
    : "dictionary";
}

/** Decodes an extended payload as each BEP 10 / BEP 9 / BEP 11 message; what one accepts must encode again the same. */
function btExtendedOutcome(input: Uint8Array): string {
  const handshake = outcomeOf(
    () => decodeExtendedHandshake(input),
    (decoded: ExtendedHandshake) => {
      const again = decodeExtendedHandshake(
        encodeExtendedHandshake(decoded),
      );
      if (!isDeepStrictEqual(again, decoded)) {
        throw new Error("Cannot re-encode an extension handshake");
      }
      return "extension handshake";
    },
  );
  const metadata = outcomeOf(
    () => decodeMetadataMessage(input),
    (decoded: MetadataMessage) => {
      const again = decodeMetadataMessage(encodeMetadataMessage(decoded));
      if (!isDeepStrictEqual(again, decoded)) {
        throw new Error("Cannot re-encode a ut_metadata message");
      }
      return decoded.kind;
    },
  );
  const pex = outcomeOf(
    () => decodePexMessage(input),
    (decoded: PexMessage) => {
      // Up to MAX_BT_PEX_ADDED are read; the encoder writes BEP 11's 50.
      if (
        decoded.added.length <= MAX_PEX_PEERS &&
        decoded.dropped.length <= MAX_PEX_PEERS
      ) {
        const again = decodePexMessage(encodePexMessage(decoded));
        if (!isDeepStrictEqual(again, decoded)) {
          throw new Error("Cannot re-encode a ut_pex message");
        }
      }
      return "ut_pex";
    },
  );
  if (!metadata.startsWith("error:")) return metadata;
  return pex.startsWith("error:") ? handshake : pex;
}

/**
 * `verifyHashes` and `answerHashRequest` on hash requests and `hashes`
 * messages with random fields, for files of random shapes: a request
 * either has a problem or an answer that verifies when it reaches the root;
 * random hashes never verify, and nothing throws.
 */
function fuzzBtHashes(iterations: number, seed: number): ParserReport {
  const rng = new Rng(seed ^ 0x4254_4853);
  const report = newReport("BEP 52 hash requests (answer, verify)");
  const trees = [1, 2, 3, 5, 9, 40].map((pieces) => {
    const pieceBytes = 16 * 1024 * 2 ** rng.int(3);
    const data = rng.bytes((pieces - 1) * pieceBytes + 1 + rng.int(pieceBytes));
    const shape = { fileBytes: data.byteLength, pieceBytes };
    const built = fileMerkle(data, pieceBytes)!;
    const layer = new Uint8Array(32 * built.pieceHashes.length);
    built.pieceHashes.forEach((hash, k) => layer.set(hash, 32 * k));
    return { data, shape, tree: FileMerkleTree.fromPieceLayer(layer, shape) };
  });
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const { data, shape, tree } = rng.pick(trees);
    const top = tree.layers.treeLayers;
    const small = (max: number) => rng.chance(0.9) ? rng.int(max) : rng.u32();
    // Half well formed (so answers are reached), half random fields.
    const base = rng.chance(0.5) ? rng.int(Math.max(top, 1)) : small(top + 2);
    const length = rng.chance(0.8)
      ? 2 ** (1 + rng.int(Math.max(top - base, 1)))
      : small(600);
    const request = {
      piecesRoot: tree.root,
      baseLayer: base,
      index: rng.chance(0.7)
        ? length * rng.int(Math.max(2 ** (top - base) / length, 1))
        : small(64),
      length,
      proofLayers: rng.chance(0.5)
        ? Math.max(top - base - 1, 0)
        : small(top + 2),
    };
    report.inputs++;
    report.bytes += 48;
    try {
      const problem = hashRequestProblem(request, shape);
      if (problem !== null) {
        count(report.outcomes, "refused");
        continue;
      }
      const piece = hashRequestPiece(request, shape);
      const blocks = piece === null
        ? undefined
        : rng.chance(0.7)
        ? blockHashesOf(
          data.subarray(
            piece * shape.pieceBytes,
            (piece + 1) * shape.pieceBytes,
          ),
        )
        : rng.bytes(32 * (1 + rng.int(4)));
      const answer = answerHashRequest(request, tree, blocks);
      if (answer === null) {
        count(report.outcomes, "blocks do not match");
        continue;
      }
      const noise = rng.bytes(answer.byteLength);
      if (verifyHashes({ ...request, hashes: noise }, shape, tree.root)) {
        throw new Error("Random hashes verified");
      }
      count(
        report.outcomes,
        verifyHashes({ ...request, hashes: answer }, shape, tree.root)
          ? "answered, verified"
          : "answered, proof short of the root",
      );
    } catch (error) {
      escaped(report, i, new Uint8Array(0), error);
    }
  }
  report.elapsedMs = performance.now() - start;
  return report;
}

/**
 * Runs the seventeen fuzzers and returns one report per parser.
 *
 * @param options iterations, seed and where to log
 * @returns the reports, in the order run
 * @example
 * ```ts
 * import { runFuzz } from "./fuzz.ts";
 * const reports = await runFuzz({ iterations: 1000, seed: 7 });
 * reports.every((r) => r.escapeCount === 0); // true
 * ```
 */
export async function runFuzz(
  options: FuzzOptions = {},
): Promise<ParserReport[]> {
  const iterations = options.iterations ?? 1_000_000;
  const seed = options.seed ?? 1;
  const log = options.log ?? (() => {});
  const corpora = sampleCorpora(seed);
  const each = <T extends Uint8Array | string>(target: Target<T>) => () =>
    fuzzTarget(target, iterations, seed, corpora);
  const reports: ParserReport[] = [];
  for (
    const run of [
      each(TARGETS.datagrams),
      () => fuzzFrames(iterations, seed, corpora.datagrams),
      each(TARGETS.manifests),
      each(TARGETS.folderManifests),
      each(TARGETS.fileIds),
      each(TARGETS.torrents),
      each(MAGNETS),
      () => fuzzFrameReader(iterations, seed, corpora.datagrams),
      () => fuzzResume(iterations, seed, corpora.manifests),
      each(TARGETS.trackerFast),
      () =>
        fuzzTrackerHandler(iterations, seed, corpora.datagrams, corpora.bep15),
      each(TARGETS.bencode),
      () => fuzzBtFrames(iterations, seed, corpora.btMessages),
      each(TARGETS.btExtended),
      () => fuzzBtHashes(iterations, seed),
      each(TARGETS.bep15),
      () => fuzzMse(mseIterations(iterations), seed),
    ]
  ) {
    const report = await run();
    log(formatReport(report));
    reports.push(report);
  }
  return reports;
}

/** MSE inputs for `iterations`: each costs two modular powers (0.3 ms to 3 ms on a busy machine). */
export function mseIterations(iterations: number): number {
  return Math.min(iterations, Math.max(100, Math.ceil(iterations / 10)));
}

/**
 * `MseResponder` (protocol/bt_wire/mse.ts) on what a BitTorrent client
 * could open with: real handshakes (for one of two torrents) with bytes
 * flipped, cut, inserted or dropped, PadA or PadC past their bounds, noise
 * after a real key, and random bytes, each fed in random-sized reads. The
 * responder's private key is fixed, so a handshake made once stays valid
 * for every fresh responder. Each step must be one it documents, its
 * bytes within bounds; a "done" hands on an infohash it serves.
 */
function fuzzMse(iterations: number, seed: number): ParserReport {
  const rng = new Rng(seed ^ 0x4d53_4550);
  const served = [
    Uint8Array.from({ length: 20 }, (_, i) => i + 1),
    Uint8Array.from({ length: 20 }, (_, i) => 200 - i),
  ];
  const fixedKey = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (i * 37 + 11) & 0xff;
    return bytes;
  };
  const responder = () =>
    new MseResponder({ infoHashes: () => served, random: fixedKey });
  // A few real handshakes: step 1, and step 3 once B's key is known.
  const real = Array.from({ length: 6 }, (_, k) => {
    const a = new MseInitiator(served[k % 2]!);
    const padA = new Uint8Array(rng.int(MAX_MSE_PAD_BYTES + 1));
    const step1 = a.step1(padA);
    const first = responder().push(step1);
    if (first.kind !== "send") throw new Error(`MSE step 2: ${first.kind}`);
    a.takeYb(first.bytes);
    const ia = new Uint8Array(rng.int(100));
    const padC = new Uint8Array(rng.int(MAX_MSE_PAD_BYTES + 1));
    return { step1, step3: a.step3(ia, { padC }) };
  });
  const noise = (n: number) =>
    Uint8Array.from({ length: n }, () => rng.int(256));
  return fuzzEach(newReport("MseResponder (handshakes)"), iterations, () => {
    const { step1, step3 } = rng.pick(real);
    return pickBand(rng, [
      [40, () => concat2(step1, mutate(rng, step3))],
      [55, () => mutate(rng, concat2(step1, step3))],
      [
        65,
        () => concat2(step1.subarray(0, MSE_KEY_BYTES), noise(rng.int(1200))),
      ],
      [
        75,
        () =>
          concat2(step1, step3).subarray(0, rng.int(step1.byteLength + 200)),
      ],
      [
        90,
        () =>
          noise(rng.int(rng.chance(0.5) ? 200 : MAX_MSE_HANDSHAKE_BYTES + 50)),
      ],
      [100, () => concat2(step1, step3)],
    ]);
  }, (input) => {
    const r = responder();
    let at = 0;
    while (at < input.byteLength) {
      const next = at + 1 + rng.int(rng.chance(0.5) ? 64 : 1500);
      const step = r.push(input.subarray(at, next));
      at = next;
      const problem = mseStepProblem(step, served);
      if (problem) throw new Error(problem);
      if (step.kind === "done" || step.kind === "decline") return step.kind;
      if (step.kind === "fail") {
        return `fail: ${step.reason.replace(/\d+/g, "N")}`;
      }
    }
    return "more (cut short)";
  });
}

/** Bytes of MSE step 4 as Shoal sends it: VC, crypto_select, len(PadD) = 0. */
const MSE_STEP4_BYTES = 8 + 4 + 2;

/** What is wrong with a step the responder returned, or null. */
function mseStepProblem(
  step: MseStep,
  served: readonly Uint8Array[],
): string | null {
  switch (step.kind) {
    case "more":
    case "fail":
    case "decline":
      return null;
    case "send": {
      // Step 2 (Yb, PadB), step 4 (VC, crypto_select, len(PadD)), or both.
      const n = step.bytes.byteLength;
      return n === MSE_STEP4_BYTES ||
          (n >= MSE_KEY_BYTES &&
            n <= MSE_KEY_BYTES + MAX_MSE_PAD_BYTES + MSE_STEP4_BYTES)
        ? null
        : `MSE step 2 or 4 of ${n} bytes`;
    }
    case "done":
      return served.some((hash) => bytesEqual(hash, step.infoHash))
        ? null
        : "MSE done for a torrent not served";
    default:
      return `unknown MSE step ${(step as { kind: string }).kind}`;
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function formatReport(report: ParserReport): string {
  const seconds = report.elapsedMs / 1000;
  const lines = [
    "",
    `${report.name}: ${report.inputs.toLocaleString("en-US")} inputs, ${
      (report.bytes / 1e6).toFixed(1)
    } MB in ${seconds.toFixed(2)} s = ${
      Math.round(report.inputs / seconds).toLocaleString("en-US")
    } inputs/s, ${(report.bytes / 1e6 / seconds).toFixed(1)} MB/s`,
  ];
  const rows = [...report.outcomes].sort((a, b) => b[1] - a[1]);
  const width = Math.max(...rows.map(([label]) => label.length), 7);
  lines.push(`  ${"outcome".padEnd(width)}  ${"count".padStart(9)}  share`);
  for (const [label, n] of rows) {
    lines.push(
      `  ${label.padEnd(width)}  ${n.toString().padStart(9)}  ${
        ((100 * n) / report.inputs).toFixed(2).padStart(5)
      }%`,
    );
  }
  const details = [...report.details].sort();
  for (const [label, n] of details) {
    lines.push(`  (${label}: ${n})`);
  }
  return lines.join("\n");
}

function usage(): string {
  return [
    "Usage: deno run bench/fuzz.ts [--iterations N] [--seed N]",
    "",
    "  --iterations N  inputs per parser (default 1000000)",
    "  --seed N        seed for every generator (default 1)",
  ].join("\n");
}

/**
 * CLI entry: parses flags, runs the fuzzers, prints a summary.
 *
 * @param args command-line arguments
 * @returns the exit status: 0, or 1 when a decoder threw something else
 */
export async function main(args: string[]): Promise<number> {
  const values = benchArgs(args, {
    iterations: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
  }, usage());
  if (!values) return 0;
  const iterations = Number(values.iterations);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(
      `Cannot fuzz: --iterations "${values.iterations}" is not a positive integer`,
    );
  }
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(
      `Cannot fuzz: --seed "${values.seed}" is not an integer`,
    );
  }
  print(
    `Fuzzing protocol decoders: ${
      iterations.toLocaleString("en-US")
    } inputs per parser, seed ${seed}`,
  );
  const start = performance.now();
  const reports = await runFuzz({ iterations, seed, log: print });
  const escapes = reports.flatMap((report) =>
    report.escapes.map((escape) => ({ parser: report.name, ...escape }))
  );
  const escaped = reports.reduce((sum, report) => sum + report.escapeCount, 0);
  print(`\nTotal time ${((performance.now() - start) / 1000).toFixed(1)} s`);
  if (escaped === 0) {
    print("OK: every input gave a value or a ProtocolError");
    return 0;
  }
  print(`FAIL: ${escaped} inputs escaped with other errors`);
  for (const escape of escapes.slice(0, MAX_ESCAPES_KEPT)) {
    print(
      `\n${escape.parser}, seed ${seed}, iteration ${escape.iteration}\ninput ${escape.inputHex}\n${escape.error}`,
    );
  }
  return 1;
}

function print(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
