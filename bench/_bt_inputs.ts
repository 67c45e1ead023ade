/**
 * Inputs for the BitTorrent peer-wire decoders (protocol/bt_wire/): valid
 * messages (fast-check arbitraries, for round trips and as a fuzzing
 * corpus), valid extension payloads, and streams of whole, damaged and
 * random frames. Shared by the unit tests and bench/fuzz.ts.
 *
 * @module
 */
import fc from "fast-check";
import {
  type BtMessage,
  encodeBtHandshake,
  encodeBtMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  encodePexMessage,
  MAX_PEX_PEERS,
  type MetadataMessage,
  type PexMessage,
} from "@shoal/protocol";
import { mutateOnce, pexPeerArb, Rng } from "./_protocol_inputs.ts";
import { concatBytes } from "./_bytes.ts";

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const smallIndex = fc.oneof(fc.integer({ min: 0, max: 2048 }), u32);
const blockLength = fc.oneof(
  fc.constant(16384),
  fc.integer({ min: 1, max: 16384 }),
);
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const range = fc.record({
  index: smallIndex,
  begin: fc.oneof(fc.integer({ min: 0, max: 32 }).map((b) => b * 16384), u32),
  length: blockLength,
});
const hashRequest = fc.record({
  piecesRoot: hash,
  baseLayer: fc.integer({ min: 0, max: 40 }),
  index: smallIndex,
  length: fc.oneof(fc.constantFrom(2, 4, 512), u32),
  proofLayers: fc.integer({ min: 0, max: 40 }),
});

/** Any BitTorrent message the codec can encode, with realistic and edge values. */
export const btMessageArb: fc.Arbitrary<BtMessage> = fc.oneof(
  fc.constantFrom<BtMessage>(
    { kind: "keepalive" },
    { kind: "choke" },
    { kind: "unchoke" },
    { kind: "interested" },
    { kind: "not_interested" },
    { kind: "have_all" },
    { kind: "have_none" },
  ),
  smallIndex.map((index): BtMessage => ({ kind: "have", index })),
  smallIndex.map((index): BtMessage => ({ kind: "suggest", index })),
  smallIndex.map((index): BtMessage => ({ kind: "allowed_fast", index })),
  fc.integer({ min: 0, max: 65535 }).map((port): BtMessage => ({
    kind: "port",
    port,
  })),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bits): BtMessage => ({
    kind: "bitfield",
    bits,
  })),
  range.map((r): BtMessage => ({ kind: "request", ...r })),
  range.map((r): BtMessage => ({ kind: "cancel", ...r })),
  range.map((r): BtMessage => ({ kind: "reject", ...r })),
  fc.record({
    index: smallIndex,
    begin: u32,
    block: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  }).map((p): BtMessage => ({ kind: "piece", ...p })),
  fc.record({
    id: fc.integer({ min: 0, max: 255 }),
    payload: fc.uint8Array({ maxLength: 300 }),
  }).map((e): BtMessage => ({ kind: "extended", ...e })),
  hashRequest.map((r): BtMessage => ({ kind: "hash_request", ...r })),
  hashRequest.map((r): BtMessage => ({ kind: "hash_reject", ...r })),
  fc.tuple(hashRequest, fc.integer({ min: 0, max: 20 })).map((
    [r, n],
  ): BtMessage => ({
    kind: "hashes",
    ...r,
    hashes: new Uint8Array(32 * n).fill(n),
  })),
  fc.record({
    id: fc.constantFrom(10, 11, 12, 18, 19, 24, 99, 255),
    payload: fc.uint8Array({ maxLength: 100 }),
  }).map((u): BtMessage => ({ kind: "unknown", ...u })),
);

/** Valid `ut_metadata` messages. */
export const metadataMessageArb: fc.Arbitrary<MetadataMessage> = fc.oneof(
  fc.integer({ min: 0, max: 15 }).map((piece): MetadataMessage => ({
    kind: "metadata_request",
    piece,
  })),
  fc.integer({ min: 0, max: 15 }).map((piece): MetadataMessage => ({
    kind: "metadata_reject",
    piece,
  })),
  fc.tuple(
    fc.integer({ min: 1, max: 16 * 16384 }),
    fc.nat(),
  ).map(([totalSize, n]): MetadataMessage => {
    const pieces = Math.ceil(totalSize / 16384);
    const piece = n % pieces;
    const size = Math.min(16384, totalSize - piece * 16384);
    return {
      kind: "metadata_data",
      piece,
      totalSize,
      data: new Uint8Array(size).fill(piece),
    };
  }),
);

const pexListArb = fc.array(
  fc.tuple(pexPeerArb, fc.integer({ min: 0, max: 255 })).map((
    [peer, flags],
  ) => ({ host: peer.host, port: peer.port, flags })),
  { maxLength: MAX_PEX_PEERS },
  // IPv4 peers first, as a decoder returns them (BEP 11 keeps them apart).
).map((peers) => [
  ...peers.filter((peer) => !peer.host.includes(":")),
  ...peers.filter((peer) => peer.host.includes(":")),
]);

/** A BEP 11 `ut_pex` message (dropped peers carry no flags). */
export const pexMessageArb: fc.Arbitrary<PexMessage> = fc.record({
  added: pexListArb,
  dropped: pexListArb.map((peers) =>
    peers.map((peer) => ({ ...peer, flags: 0 }))
  ),
});

/** Valid extension-handshake, ut_metadata and ut_pex payloads, as bytes. */
export const extendedPayloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.record({
    ut: fc.integer({ min: 0, max: 255 }),
    client: fc.option(fc.string({ maxLength: 40 })),
    port: fc.option(fc.integer({ min: 0, max: 65535 })),
    reqq: fc.option(fc.integer({ min: 0, max: 5000 })),
    size: fc.option(fc.integer({ min: 0, max: 16 * 16384 })),
  }).map(({ ut, client, port, reqq, size }) =>
    encodeExtendedHandshake({
      extensions: new Map([["ut_metadata", ut], ["lt_donthave", 7]]),
      client,
      port,
      requestQueue: reqq,
      metadataSize: size,
    })
  ),
  metadataMessageArb.map(encodeMetadataMessage),
  pexMessageArb.map(encodePexMessage),
);

/**
 * A stream of 1 to 6 frames: whole messages, mutated ones, headers with
 * random bodies, random bytes; half the time led by a handshake (sometimes
 * damaged), and sometimes cut short.
 *
 * @param rng the random source
 * @param corpus valid encoded messages
 * @returns the stream and whether it starts with a handshake
 */
export function btStreamInput(
  rng: Rng,
  corpus: Uint8Array[],
): { bytes: Uint8Array; handshake: boolean } {
  const parts: Uint8Array[] = [];
  const handshake = rng.chance(0.5);
  if (handshake) {
    const hs = encodeBtHandshake({
      infoHash: rng.bytes(20),
      peerId: rng.bytes(20),
      reserved: rng.bytes(8),
    });
    parts.push(rng.chance(0.8) ? hs : mutateOnce(rng, hs));
  }
  const frames = 1 + rng.int(6);
  for (let f = 0; f < frames; f++) {
    const roll = rng.int(100);
    if (roll < 50) parts.push(rng.pick(corpus));
    else if (roll < 80) parts.push(mutateOnce(rng, rng.pick(corpus)));
    else if (roll < 95) {
      // A header for a random id with a plausible length and random body.
      const body = rng.bytes(rng.int(rng.chance(0.1) ? 17000 : 80));
      const head = new Uint8Array(5);
      new DataView(head.buffer).setUint32(0, body.byteLength + 1);
      head[4] = rng.chance(0.8) ? rng.int(24) : rng.int(256);
      parts.push(concatBytes(head, body));
    } else parts.push(rng.bytes(rng.int(64)));
  }
  const out = concatBytes(...parts);
  return {
    bytes: rng.chance(0.1) ? out.subarray(0, rng.int(out.byteLength + 1)) : out,
    handshake,
  };
}

/** Encodes a sample of {@linkcode btMessageArb} for a fuzzing corpus. */
export function btCorpus(seed: number, count: number): Uint8Array[] {
  return fc.sample(btMessageArb, { seed, numRuns: count }).map(
    encodeBtMessage,
  );
}

export { Rng };
