/**
 * How many connections one source address may hold on a peer's server.
 * Pure policy: the server asks before it serves a connection and says when
 * the connection ends.
 *
 * One IPv6 host usually has a whole /64 to pick addresses from, so IPv6
 * addresses count per /64; an IPv4-mapped address counts as its IPv4 one.
 *
 * @module
 */

/**
 * Default connections one address may hold at once: several downloads from
 * one host (one connection per file, plus a short one for each manifest),
 * or a few hosts behind one NAT, yet only a small share of the 128 a server
 * takes in all.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 8;

/**
 * The key an address is counted under: the IPv4 address, or the first 64
 * bits of an IPv6 one.
 *
 * @param hostname a remote address as Deno reports it
 * @returns "1.2.3.4" or "2001:db8:0:1::/64"
 * @example
 * ```ts
 * import { addressKey } from "./address_limit.ts";
 * addressKey("::ffff:10.0.0.1"); // "10.0.0.1"
 * addressKey("2001:db8::1"); // "2001:db8:0:0::/64"
 * ```
 */
export function addressKey(hostname: string): string {
  let host = hostname.replace(/^\[|\]$/g, "").replace(/%.*$/, "")
    .toLowerCase();
  if (host.startsWith("::ffff:") && host.includes(".")) host = host.slice(7);
  if (!host.includes(":")) return host;
  const [head = "", tail] = host.split("::");
  const left = head === "" ? [] : head.split(":");
  // A dotted IPv4 tail fills two groups; only the first four matter here.
  const right = tail === undefined || tail === ""
    ? []
    : tail.split(":").flatMap((g) => g.includes(".") ? ["0", "0"] : [g]);
  const groups = tail === undefined ? left : [
    ...left,
    ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"),
    ...right,
  ];
  const prefix = groups.slice(0, 4).map((
    g,
  ) => (g.replace(/^0+(?=.)/, "") || "0"));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}

/**
 * Counts connections per address and refuses those over the cap.
 *
 * @example
 * ```ts
 * import { AddressLimit } from "./address_limit.ts";
 * const limit = new AddressLimit(2);
 * limit.tryAdd("10.0.0.1"); // true
 * limit.remove("10.0.0.1");
 * ```
 */
export class AddressLimit {
  readonly #max: number;
  readonly #counts = new Map<string, number>();

  /** @param max connections one address may hold */
  constructor(max: number = MAX_CONNECTIONS_PER_ADDRESS) {
    this.#max = Math.max(1, max);
  }

  /** The cap. */
  get max(): number {
    return this.#max;
  }

  /** Counts a new connection from `hostname`; false (and not counted) when over the cap. */
  tryAdd(hostname: string): boolean {
    const key = addressKey(hostname);
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  /** A connection counted by {@linkcode tryAdd} ended. */
  remove(hostname: string): void {
    const key = addressKey(hostname);
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) this.#counts.delete(key);
    else this.#counts.set(key, count - 1);
  }

  /** Addresses holding connections now. */
  get addresses(): number {
    return this.#counts.size;
  }
}
