/**
 * BEP 11 peer exchange (`ut_pex`): the payload of the BEP 10 extended
 * message a BitTorrent peer sends, at most once a minute, with the peers it
 * connected to (`added`, `added6`, one flags byte each in `added.f`,
 * `added6.f`) and those it no longer is (`dropped`, `dropped6`), in compact
 * form (4 or 16 address bytes, then a 2-byte port). See docs/PROTOCOL.md,
 * "BitTorrent peer wire".
 *
 * @module
 */
import {
  type BDict,
  type BValue,
  decodeBencode,
  dictGet,
  encodeBencode,
} from "../bencode.ts";
import { bytesToIp, ipToBytes } from "../address.ts";
import { ProtocolError } from "../errors.ts";
import { MAX_PEX_PEERS } from "../constants.ts";
import { MAX_BT_EXTENDED_BYTES } from "./constants.ts";

/** The name BEP 11 registers in the extension handshake's `m` dictionary. */
export const UT_PEX = "ut_pex";
/**
 * Most added peers (both families) one received `ut_pex` may carry:
 * libtorrent sends up to 100 (BEP 11 says 50); more is refused (`too_long`).
 */
export const MAX_BT_PEX_ADDED = 100;
/** BEP 11 `added.f` bit: the peer is a seed. */
export const PEX_FLAG_SEED = 0x02;
/** BEP 11 `added.f` bit: we connected to it (its address is reachable). */
export const PEX_FLAG_REACHABLE = 0x10;

/** Bounds for a `ut_pex` dictionary: one level, a few keys. */
const LIMITS = { maxDepth: 2, maxItems: 32 } as const;

/** A peer in a `ut_pex` message. */
export interface PexPeer {
  /** IPv4 dotted quad or IPv6 text. */
  host: string;
  /** TCP port (0 is kept: the receiver's address policy refuses it). */
  port: number;
  /** BEP 11 flags (`added.f`); 0 for dropped peers. */
  flags: number;
}

/** A decoded `ut_pex` message. */
export interface PexMessage {
  /** Peers the sender connected to since its last message. */
  added: PexPeer[];
  /** Peers the sender disconnected from since its last message. */
  dropped: PexPeer[];
}

function fail(what: string, code: ProtocolError["code"] = "bad_value"): never {
  throw new ProtocolError(code, `Cannot decode ut_pex: ${what}`);
}

/** A compact list (`added`, `dropped6`...): empty when absent. */
function compact(dict: BDict, name: string, entryBytes: number): Uint8Array {
  const value = dictGet(dict, name);
  if (value === undefined) return new Uint8Array();
  if (!(value instanceof Uint8Array)) fail(`"${name}" is not a string`);
  if (value.byteLength % entryBytes !== 0) {
    fail(
      `"${name}" has ${value.byteLength} bytes, not a multiple of ${entryBytes}`,
      "bad_length",
    );
  }
  return value;
}

function readPeers(
  list: Uint8Array,
  entryBytes: number,
  flags: Uint8Array | null,
): PexPeer[] {
  const peers: PexPeer[] = [];
  const ipBytes = entryBytes - 2;
  for (let i = 0; i * entryBytes < list.byteLength; i++) {
    const at = i * entryBytes;
    peers.push({
      host: bytesToIp(list.subarray(at, at + ipBytes)),
      port: (list[at + ipBytes]! << 8) | list[at + ipBytes + 1]!,
      flags: flags?.[i] ?? 0,
    });
  }
  return peers;
}

/** The flags of an added list: as many bytes as peers, or none at all. */
function flagsOf(dict: BDict, name: string, count: number): Uint8Array | null {
  const value = dictGet(dict, name);
  if (value === undefined) return null;
  if (!(value instanceof Uint8Array)) fail(`"${name}" is not a string`);
  if (value.byteLength !== count) {
    fail(
      `"${name}" has ${value.byteLength} bytes for ${count} peers`,
      "bad_length",
    );
  }
  return value;
}

/**
 * Decodes a `ut_pex` payload (after its extended id). Keys BEP 11 does not
 * define are ignored; those it does must be strings of whole entries.
 * Total: any input gives a message or a {@linkcode ProtocolError}.
 *
 * @param payload untrusted bytes
 * @returns the added and dropped peers
 * @throws {ProtocolError} on bad bencode, a wrong type, a list that is not
 *   whole entries, flags that do not match their list, or more than
 *   {@linkcode MAX_BT_PEX_ADDED} added peers or a payload above
 *   {@linkcode MAX_BT_EXTENDED_BYTES} (`too_long`)
 * @example
 * ```ts
 * import { decodePexMessage, encodePexMessage } from "@shoal/protocol";
 * const bytes = encodePexMessage({
 *   added: [{ host: "10.0.0.1", port: 6881, flags: 0 }],
 *   dropped: [],
 * });
 * decodePexMessage(bytes).added[0]?.port; // 6881
 * ```
 */
export function decodePexMessage(payload: Uint8Array): PexMessage {
  if (payload.byteLength > MAX_BT_EXTENDED_BYTES) {
    fail(`${payload.byteLength} bytes`, "too_long");
  }
  const value = decodeBencode(payload, LIMITS);
  if (!(value instanceof Map)) fail("not a dictionary", "bad_type");
  const added4 = compact(value, "added", 6);
  const added6 = compact(value, "added6", 18);
  const count4 = added4.byteLength / 6;
  const count6 = added6.byteLength / 18;
  if (count4 + count6 > MAX_BT_PEX_ADDED) {
    fail(
      `${count4 + count6} added peers, at most ${MAX_BT_PEX_ADDED}`,
      "too_long",
    );
  }
  return {
    added: [
      ...readPeers(added4, 6, flagsOf(value, "added.f", count4)),
      ...readPeers(added6, 18, flagsOf(value, "added6.f", count6)),
    ],
    dropped: [
      ...readPeers(compact(value, "dropped", 6), 6, null),
      ...readPeers(compact(value, "dropped6", 18), 18, null),
    ],
  };
}

/**
 * Encodes a `ut_pex` payload: every list and both flag strings are written,
 * empty or not (libtorrent reads `added` only with a matching `added.f`).
 *
 * @param message at most {@linkcode MAX_PEX_PEERS} added and as many dropped
 * @returns the bencoded dictionary
 * @throws {RangeError} on a longer list
 * @throws {TypeError} on a host that is not an IP address
 * @example
 * ```ts
 * import { encodePexMessage } from "@shoal/protocol";
 * encodePexMessage({ added: [], dropped: [] });
 * // "d5:added0:7:added.f0:6:added60:8:added6.f0:7:dropped0:8:dropped60:e"
 * ```
 */
export function encodePexMessage(message: PexMessage): Uint8Array {
  for (const list of [message.added, message.dropped]) {
    if (list.length > MAX_PEX_PEERS) {
      throw new RangeError(
        `Cannot encode ut_pex: ${list.length} peers in a list, at most ${MAX_PEX_PEERS}`,
      );
    }
  }
  const split = (peers: PexPeer[]) => {
    const v4: number[] = [];
    const v6: number[] = [];
    const f4: number[] = [];
    const f6: number[] = [];
    for (const peer of peers) {
      const ip = ipToBytes(peer.host);
      if (!ip) {
        throw new TypeError(
          `Cannot encode ut_pex: "${peer.host}" is not an IP address`,
        );
      }
      const entry = [...ip, (peer.port >> 8) & 0xff, peer.port & 0xff];
      if (ip.byteLength === 4) {
        v4.push(...entry);
        f4.push(peer.flags & 0xff);
      } else {
        v6.push(...entry);
        f6.push(peer.flags & 0xff);
      }
    }
    return [v4, v6, f4, f6].map((bytes) => new Uint8Array(bytes));
  };
  const [added4, added6, flags4, flags6] = split(message.added) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const [dropped4, dropped6] = split(message.dropped) as [
    Uint8Array,
    Uint8Array,
  ];
  const dict: BDict = new Map<string, BValue>([
    ["added", added4],
    ["added.f", flags4],
    ["added6", added6],
    ["added6.f", flags6],
    ["dropped", dropped4],
    ["dropped6", dropped6],
  ]);
  return encodeBencode(dict);
}
