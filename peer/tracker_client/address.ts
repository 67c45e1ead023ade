/**
 * The tracker's address as the client writes and checks it: "host:port"
 * for messages, a host without IPv6 brackets for DNS, and whether a
 * datagram came from the tracker. Pure. The CLI reads "udp://HOST:PORT"
 * flags itself (peer/cli_flags.ts, `parseHostPort`).
 *
 * @module
 */
import { bytesEqual, ipToBytes } from "@shoal/protocol";

/**
 * The tracker as "host:port" for messages, with an IPv6 host in brackets.
 *
 * @param host the host as given, an IPv6 address with or without brackets
 * @param port the UDP port
 * @returns for example "127.0.0.1:6969" or "[::1]:6969"
 * @example
 * ```ts
 * import { trackerLabel } from "./address.ts";
 * trackerLabel("::1", 6969); // "[::1]:6969"
 * ```
 */
export function trackerLabel(host: string, port: number): string {
  const shown = host.includes(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  return `${shown}:${port}`;
}

/**
 * The host without the brackets of "[v6]".
 *
 * @param host an IP address, "[v6]" or a name
 * @returns the host to resolve
 */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Whether a datagram's sender is the tracker: same UDP port and the same IP,
 * also when a dual-stack socket reports an IPv4 sender as ::ffff:a.b.c.d.
 *
 * @param from the sender
 * @param port the tracker's port
 * @param ip the tracker's IP as bytes (4 or 16)
 * @returns true when the datagram is the tracker's
 */
export function isFromTracker(
  from: Deno.Addr,
  port: number,
  ip: Uint8Array,
): boolean {
  if (from.transport !== "udp" || from.port !== port) return false;
  let host = from.hostname;
  if (host.toLowerCase().startsWith("::ffff:") && host.includes(".")) {
    host = host.slice(7);
  }
  const bytes = ipToBytes(host);
  return bytes !== null && bytesEqual(bytes, ip);
}
