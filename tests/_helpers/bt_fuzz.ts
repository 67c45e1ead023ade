/**
 * Random BitTorrent peer-wire input for attack tests: well-formed messages
 * with hostile fields (indices, lengths, extension payloads, hash requests)
 * and raw frames with random ids and bodies, from a seeded generator so a
 * failing run can be replayed.
 *
 * @module
 */
import { type BtMessage, encodeBtMessage } from "@shoal/protocol";

/** A small seeded generator (xorshift32). */
export class Rand {
  #state: number;

  /** @param seed any integer but 0 */
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    let s = this.#state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#state = s >>> 0;
    return this.#state % Math.max(1, n);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A number that is often at an edge: 0, small, around 2^14, 2^31, 2^32 - 1. */
  edgy(): number {
    return this.pick([
      0,
      1,
      this.int(16),
      16_383,
      16_384,
      16_385,
      this.int(1 << 20),
      0x7fffffff,
      0xffffffff,
      this.int(0x100000000),
    ]);
  }
}

const text = new TextEncoder();

/** A bencoded payload for an extension message: well-formed, broken or deep. */
function extensionPayload(rand: Rand): Uint8Array {
  const n = () => String(rand.pick([0, 1, 2, -1, 99, 2 ** 40, rand.edgy()]));
  return text.encode(rand.pick([
    `d8:msg_typei${n()}e5:piecei${n()}ee`,
    `d8:msg_typei1e5:piecei${n()}e10:total_sizei${n()}ee${
      "x".repeat(rand.int(64))
    }`,
    `d1:md11:ut_metadatai${n()}ee13:metadata_sizei${n()}e4:reqqi${n()}e1:pi${n()}ee`,
    `d1:md11:ut_metadatad1:xi1eeee`,
    `d1:v${n().length}:${n()}e`,
    "l".repeat(rand.int(2000)) + "e".repeat(rand.int(2000)),
    "d".repeat(rand.int(500)),
    `i${"9".repeat(rand.int(40))}e`,
    "",
    `d8:msg_typei0e5:piecei0e`,
  ]));
}

/**
 * One hostile message: a BitTorrent frame with random fields, or raw bytes.
 *
 * @param rand the generator
 * @param piecesRoot the file's real `pieces root`, so that some hash
 *   messages get past the first check
 */
export function randomBtFrame(
  rand: Rand,
  piecesRoot?: Uint8Array | null,
): Uint8Array {
  const root = () =>
    piecesRoot && rand.int(2) === 0 ? piecesRoot : rand.bytes(32);
  const e = () => rand.edgy();
  const kind = rand.int(12);
  if (kind === 0) {
    // A raw frame: random id and body, length prefix right or wrong.
    const body = rand.bytes(rand.int(80));
    const out = new Uint8Array(5 + body.byteLength);
    const view = new DataView(out.buffer);
    view.setUint32(0, rand.int(4) === 0 ? e() : body.byteLength + 1);
    out[4] = rand.int(32);
    out.set(body, 5);
    return out;
  }
  if (kind === 1) return rand.bytes(rand.int(40));
  const message: BtMessage = rand.pick<BtMessage>([
    { kind: "have", index: e() },
    { kind: "request", index: e(), begin: e(), length: e() },
    { kind: "cancel", index: e(), begin: e(), length: e() },
    { kind: "reject", index: e(), begin: e(), length: e() },
    { kind: "piece", index: e(), begin: e(), block: rand.bytes(rand.int(64)) },
    { kind: "bitfield", bits: rand.bytes(rand.int(8)) },
    { kind: "suggest", index: e() },
    { kind: "allowed_fast", index: e() },
    { kind: "port", port: rand.int(65536) },
    { kind: "interested" },
    { kind: "not_interested" },
    { kind: "have_all" },
    { kind: "have_none" },
    { kind: "choke" },
    { kind: "unchoke" },
    {
      kind: "extended",
      id: rand.pick([0, 1, 2, 3, rand.int(256)]),
      payload: extensionPayload(rand),
    },
    {
      kind: "hash_request",
      piecesRoot: root(),
      baseLayer: e(),
      index: e(),
      length: e(),
      proofLayers: e(),
    },
    {
      kind: "hashes",
      piecesRoot: root(),
      baseLayer: e(),
      index: e(),
      length: e(),
      proofLayers: e(),
      hashes: rand.bytes(32 * rand.int(4)),
    },
  ]);
  try {
    return encodeBtMessage(message);
  } catch {
    // The encoder refuses some fields: send its raw form instead.
    return rand.bytes(rand.int(20));
  }
}
