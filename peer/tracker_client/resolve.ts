/**
 * The tracker's host to one IP address: an IP as is, "localhost" as
 * 127.0.0.1, a name by DNS (A first, then AAAA). The lookup is injected so
 * tests fail it without a network.
 *
 * @module
 */
import { ipToBytes } from "@shoal/protocol";
import { bareHost } from "./address.ts";
import { TrackerError } from "./errors.ts";

/** A DNS lookup of A or AAAA records, as {@linkcode Deno.resolveDns}. */
export type DnsLookup = (name: string, type: "A" | "AAAA") => Promise<string[]>;

function systemLookup(name: string, type: "A" | "AAAA"): Promise<string[]> {
  return Deno.resolveDns(name, type);
}

/**
 * Resolves the tracker's host.
 *
 * @param host an IP address (IPv6 with or without brackets), "localhost" or a name
 * @param lookup the DNS lookup
 * @returns the IP address to send to
 * @throws {TrackerError} "resolve" when the name has no address; the CLI
 *   exits 7
 * @example
 * ```ts
 * import { resolveTrackerHost } from "./resolve.ts";
 * await resolveTrackerHost("[::1]"); // "::1"
 * ```
 */
export async function resolveTrackerHost(
  host: string,
  lookup: DnsLookup = systemLookup,
): Promise<string> {
  const bare = bareHost(host);
  if (ipToBytes(bare)) return bare;
  if (bare === "localhost") return "127.0.0.1";
  let cause: unknown;
  for (const type of ["A", "AAAA"] as const) {
    try {
      const [first] = await lookup(bare, type);
      if (first) return first;
    } catch (error) {
      cause = error;
    }
  }
  throw new TrackerError(
    "resolve",
    `Cannot resolve tracker host "${host}": no address found; check the name`,
    { cause },
  );
}
