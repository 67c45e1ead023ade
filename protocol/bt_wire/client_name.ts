/**
 * The name of a BitTorrent peer's program, for a peer list: from the `v`
 * string of its BEP 10 extension handshake when it sent one, else from an
 * Azureus-style peer id ("-LT2080-" is libtorrent 2.0.8), else
 * "BitTorrent". Both come from the network: the result is at most
 * {@linkcode MAX_CLIENT_NAME_CHARS} characters with no control, format or
 * direction characters, so it cannot reorder or break a line or a page.
 *
 * @module
 */

/** The longest client name kept, in characters (code points). */
export const MAX_CLIENT_NAME_CHARS = 48;

/** The name for a BitTorrent peer whose program is not known. */
export const UNKNOWN_BT_CLIENT = "BitTorrent";

/**
 * Two-letter Azureus-style codes of common programs. "SH" is Shoal: its
 * digits are its protocol version, not a program version.
 */
const AZUREUS_CODES: Record<string, string> = {
  AG: "Ares",
  AZ: "Vuze",
  BC: "BitComet",
  BI: "BiglyBT",
  BT: "BitTorrent",
  DE: "Deluge",
  FD: "Free Download Manager",
  FW: "FrostWire",
  KT: "KTorrent",
  LT: "libtorrent",
  lt: "rTorrent",
  PI: "PicoTorrent",
  qB: "qBittorrent",
  SD: "Thunder",
  SH: "Shoal",
  TR: "Transmission",
  UM: "µTorrent Mac",
  UT: "µTorrent",
  UW: "µTorrent Web",
  WD: "WebTorrent Desktop",
  WW: "WebTorrent",
};

/**
 * Control (C0, C1, DEL), format (zero-width, bidi embeddings, overrides and
 * isolates, marks) and line or paragraph separator characters, and lone
 * surrogates: none of them is shown.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;

/**
 * Makes a string from the network safe to show: hidden characters are
 * dropped, runs of white space become one space, and the result is cut to
 * `max` characters (never inside a character).
 *
 * @param text untrusted text
 * @param max the most characters kept
 * @returns the cleaned text ("" when nothing printable is left)
 * @example
 * ```ts
 * import { displayText } from "@shoal/protocol";
 * displayText("evil\u202Egpj.exe", 48); // "evilgpj.exe"
 * ```
 */
export function displayText(text: string, max: number): string {
  // Bounded work: a longer input is cut before it is scanned.
  const head = text.length > max * 4 ? text.slice(0, max * 4) : text;
  const cleaned = head.replace(/\s+/gu, " ").replace(HIDDEN, "")
    .replace(/ {2,}/g, " ").trim();
  const chars = [...cleaned];
  return chars.length <= max ? cleaned : chars.slice(0, max).join("").trim();
}

/** One Azureus version character: 0-9, then A-Z for 10-35, a-z for 36-61. */
function versionDigit(code: number): number | null {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x5a) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 36;
  return null;
}

/**
 * The program named by an Azureus-style peer id ("-XXvvvv-"), or null when
 * the id is not in that style or its code is not known.
 *
 * @param peerId the 20-byte peer id from the BitTorrent handshake
 * @returns e.g. "libtorrent 2.0.8", "qBittorrent 4.5.0", "Transmission 3.00"
 * @example
 * ```ts
 * import { clientFromPeerId } from "@shoal/protocol";
 * clientFromPeerId(new TextEncoder().encode("-LT2080-abcdefghijkl")); // "libtorrent 2.0.8"
 * ```
 */
export function clientFromPeerId(peerId: Uint8Array): string | null {
  if (peerId.byteLength < 8 || peerId[0] !== 0x2d || peerId[7] !== 0x2d) {
    return null;
  }
  const code = String.fromCharCode(peerId[1]!, peerId[2]!);
  const name = AZUREUS_CODES[code];
  if (name === undefined) return null;
  if (code === "SH") return "Shoal";
  const digits: number[] = [];
  for (let i = 3; i < 7; i++) {
    const digit = versionDigit(peerId[i]!);
    if (digit === null) return name;
    digits.push(digit);
  }
  const [a, b, c, d] = digits as [number, number, number, number];
  // Transmission up to 3 writes major, two-digit minor, then a build mark
  // ("-TR3000-" is 3.00); from 4 on, major, minor, patch ("-TR4060-": 4.0.6).
  if (code === "TR") {
    return a >= 4 ? `${name} ${a}.${b}.${c}` : `${name} ${a}.${b}${c}`;
  }
  return `${name} ${a}.${b}.${c}${d === 0 ? "" : `.${d}`}`;
}

/**
 * What a peer list shows for a BitTorrent peer.
 *
 * @param peerId its 20-byte peer id, or null when not known
 * @param version the `v` of its extension handshake, or null when it sent none
 * @returns a safe, bounded name; "BitTorrent" when nothing tells more
 * @example
 * ```ts
 * import { btClientName } from "@shoal/protocol";
 * btClientName(null, "qBittorrent/4.5.0"); // "qBittorrent/4.5.0"
 * btClientName(new TextEncoder().encode("-XX0000-abcdefghijkl"), null); // "BitTorrent"
 * ```
 */
export function btClientName(
  peerId: Uint8Array | null,
  version: string | null,
): string {
  const fromVersion = version === null
    ? ""
    : displayText(version, MAX_CLIENT_NAME_CHARS);
  if (fromVersion !== "") return fromVersion;
  return (peerId === null ? null : clientFromPeerId(peerId)) ??
    UNKNOWN_BT_CLIENT;
}
