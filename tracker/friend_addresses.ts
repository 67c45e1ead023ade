/**
 * The addresses a friend can give `--tracker`: the tracker's bound address,
 * or, when it listens on every interface, each interface's address that
 * another machine could reach (not loopback, not link-local).
 *
 * @module
 */

/** What the tracker needs of `Deno.networkInterfaces()`. */
export interface InterfaceAddress {
  /** "IPv4" or "IPv6". */
  family: "IPv4" | "IPv6";
  /** The address, without brackets or zone. */
  address: string;
}

/** True for addresses no other machine can use to reach this one. */
function localOnly(address: string): boolean {
  const lower = address.toLowerCase();
  return lower === "::1" || lower === "::" || lower.startsWith("127.") ||
    lower === "0.0.0.0" || lower.startsWith("169.254.") ||
    /^fe[89ab][0-9a-f]:/.test(lower);
}

/** An address as it goes in a URL: IPv6 in brackets. */
function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/**
 * `udp://HOST:PORT` addresses a friend can use.
 *
 * @param bound the address the tracker listens on ("::" or "0.0.0.0": all)
 * @param port the UDP port
 * @param interfaces this machine's addresses, or null when unknown
 * @returns the addresses, IPv4 first; empty when only this machine can
 *   reach the tracker, or when the interfaces are unknown
 * @example
 * ```ts
 * import { friendAddresses } from "./friend_addresses.ts";
 * friendAddresses("::", 6969, [{ family: "IPv4", address: "192.168.1.20" }]);
 * // ["udp://192.168.1.20:6969"]
 * ```
 */
export function friendAddresses(
  bound: string,
  port: number,
  interfaces: readonly InterfaceAddress[] | null,
): string[] {
  const wildcard = bound === "::" || bound === "0.0.0.0";
  if (!wildcard) {
    return localOnly(bound) ? [] : [`udp://${urlHost(bound)}:${port}`];
  }
  const found = (interfaces ?? [])
    .filter((entry) => bound === "::" || entry.family === "IPv4")
    .filter((entry) => !localOnly(entry.address))
    .sort((a, b) => (a.family === b.family ? 0 : a.family === "IPv4" ? -1 : 1))
    .map((entry) => `udp://${urlHost(entry.address)}:${port}`);
  return [...new Set(found)];
}
