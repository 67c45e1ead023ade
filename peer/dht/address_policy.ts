/**
 * Which addresses the DHT may talk to and which peers it may hand on: pure
 * rules, used by the DHT worker on every datagram it sends and every peer
 * it finds. Everything the DHT learns comes from strangers.
 *
 * - Loopback mode (every bootstrap node is on loopback: tests, benchmarks,
 *   the demo): nothing but 127.0.0.0/8 is sent to or handed on, whatever a
 *   node says.
 * - Otherwise: never to or of an address that is not a host's (0.0.0.0/8,
 *   multicast, reserved, broadcast) nor of this machine (loopback: a
 *   stranger could point us at our own services), nor port 0.
 *
 * @module
 */

/**
 * The four bytes of an IPv4 dotted quad, or null when it is not one.
 *
 * @param host text
 * @returns the bytes, or null
 * @example
 * ```ts
 * import { ipv4Bytes } from "./address_policy.ts";
 * ipv4Bytes("10.0.0.1"); // [10, 0, 0, 1]
 * ipv4Bytes("::1"); // null
 * ```
 */
export function ipv4Bytes(host: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return null;
  const bytes = match.slice(1).map(Number);
  return bytes.every((byte) => byte <= 255) ? bytes : null;
}

/**
 * Whether a host is this machine's loopback: 127.0.0.0/8, "localhost" or ::1.
 *
 * @param host a host name or address
 * @returns true for loopback
 * @example
 * ```ts
 * import { isLoopbackHost } from "./address_policy.ts";
 * isLoopbackHost("127.0.0.2"); // true
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  return lower === "localhost" || lower === "::1" ||
    ipv4Bytes(host)?.[0] === 127;
}

/**
 * Whether the DHT runs on loopback only: every bootstrap node is a loopback
 * address (and there is at least one).
 *
 * @param bootstrap the bootstrap nodes
 * @returns true for loopback mode
 * @example
 * ```ts
 * import { isLoopbackOnly } from "./address_policy.ts";
 * isLoopbackOnly([{ host: "127.0.0.1", port: 6881 }]); // true
 * ```
 */
export function isLoopbackOnly(
  bootstrap: readonly { host: string; port: number }[],
): boolean {
  return bootstrap.length > 0 &&
    bootstrap.every((node) => isLoopbackHost(node.host));
}

/**
 * Why the DHT must not send to, or hand on, an address; null when it may.
 * Only IPv4 is spoken (the library implements BEP 5, not BEP 32).
 *
 * @param address host (an IPv4 address) and port
 * @param loopbackOnly loopback mode (see the module notes)
 * @returns the reason, or null
 * @example
 * ```ts
 * import { dhtAddressProblem } from "./address_policy.ts";
 * dhtAddressProblem({ host: "224.0.0.1", port: 1 }, false); // "not a host address"
 * dhtAddressProblem({ host: "127.0.0.1", port: 7000 }, true); // null
 * ```
 */
export function dhtAddressProblem(
  address: { host: string; port: number },
  loopbackOnly: boolean,
): string | null {
  const { port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return "bad port";
  const bytes = ipv4Bytes(address.host);
  if (!bytes) return "not an IPv4 address";
  const [a] = bytes as [number];
  if (loopbackOnly) return a === 127 ? null : "not loopback (loopback mode)";
  if (a === 0 || a >= 224) return "not a host address";
  if (a === 127) return "loopback";
  return null;
}
