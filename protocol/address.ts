/**
 * Peer addresses on the wire: a family byte (4 or 6), the address bytes and
 * a port. Text forms are the ones Deno's sockets report ("127.0.0.1", "::1").
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import type { ByteReader, ByteWriter } from "./bytes.ts";

/** A peer's TCP endpoint as the tracker saw it. */
export interface PeerAddress {
  /** IPv4 dotted quad or IPv6 text. */
  host: string;
  /** TCP port the peer listens on. */
  port: number;
}

/**
 * Parses an IPv4 or IPv6 address into 4 or 16 bytes, or returns null.
 *
 * @param host address text
 * @returns the address bytes, or null when it is not an IP address
 * @example
 * ```ts
 * import { ipToBytes } from "@shoal/protocol";
 * ipToBytes("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * ```
 */
export function ipToBytes(host: string): Uint8Array | null {
  const v4 = parseIPv4(host);
  if (v4) return v4;
  return parseIPv6(host);
}

function parseIPv4(host: string): Uint8Array | null {
  const parts = host.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  let host = text;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const zone = host.indexOf("%");
  if (zone >= 0) host = host.slice(0, zone);
  const words: number[] = [];
  let tail = host;
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last two words.
  const lastColon = host.lastIndexOf(":");
  let v4Tail: Uint8Array | null = null;
  if (lastColon >= 0 && host.includes(".", lastColon)) {
    v4Tail = parseIPv4(host.slice(lastColon + 1));
    if (!v4Tail) return null;
    tail = host.slice(0, lastColon + 1) + "0:0";
  }
  const halves = tail.split("::");
  if (halves.length > 2) return null;
  const parseWords = (part: string): number[] | null => {
    if (part === "") return [];
    const result: number[] = [];
    for (const word of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(word)) return null;
      result.push(parseInt(word, 16));
    }
    return result;
  };
  const head = parseWords(halves[0]!);
  const rest = halves.length === 2 ? parseWords(halves[1]!) : [];
  if (!head || !rest) return null;
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    words.push(...head, ...new Array<number>(missing).fill(0), ...rest);
  } else {
    if (head.length !== 8) return null;
    words.push(...head);
  }
  const out = new Uint8Array(16);
  words.forEach((word, i) => {
    out[i * 2] = word >> 8;
    out[i * 2 + 1] = word & 0xff;
  });
  if (v4Tail) out.set(v4Tail, 12);
  return out;
}

/**
 * Formats 4 or 16 address bytes as text (IPv6 in its shortest form).
 *
 * @param bytes address bytes
 * @returns the address text
 * @example
 * ```ts
 * import { bytesToIp } from "@shoal/protocol";
 * bytesToIp(new Uint8Array([127, 0, 0, 1])); // "127.0.0.1"
 * ```
 */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.byteLength === 4) return Array.from(bytes).join(".");
  if (bytes.byteLength !== 16) {
    throw new RangeError(
      `Cannot format address: ${bytes.byteLength} bytes, expected 4 or 16`,
    );
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of zero words (at least two) becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((word) => word.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}

/** Bytes a peer address takes on the wire. */
export function peerAddressBytes(address: PeerAddress): number {
  return 1 + (ipToBytes(address.host)?.byteLength ?? 4) + 2;
}

/** Writes family, address and port. */
export function writePeerAddress(
  writer: ByteWriter,
  address: PeerAddress,
): void {
  const ip = ipToBytes(address.host);
  if (!ip) {
    throw new TypeError(
      `Cannot encode address: "${address.host}" is not an IP address`,
    );
  }
  writer.u8(ip.byteLength === 4 ? 4 : 6).bytes(ip).u16(address.port);
}

/** Reads family, address and port. */
export function readPeerAddress(reader: ByteReader): PeerAddress {
  const at = reader.offset;
  const family = reader.u8("address family");
  if (family !== 4 && family !== 6) {
    throw new ProtocolError(
      "bad_value",
      `Cannot read address: family ${family} is not 4 or 6`,
      at,
    );
  }
  const host = bytesToIp(reader.bytes(family === 4 ? 4 : 16, "address"));
  const port = reader.u16("port");
  if (port === 0) {
    throw new ProtocolError("bad_value", "Cannot read address: port 0", at);
  }
  return { host, port };
}
