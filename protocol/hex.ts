/**
 * Hex text for ids and hashes, as users see them on the command line.
 *
 * @module
 */

/**
 * Formats bytes as lowercase hex.
 *
 * @param bytes any bytes
 * @returns hex text, two characters per byte
 * @example
 * ```ts
 * import { toHex } from "@shoal/protocol";
 * toHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Parses hex text, or returns null when it is not even-length hex.
 *
 * @param text hex text, either case
 * @returns the bytes, or null
 * @example
 * ```ts
 * import { fromHex } from "@shoal/protocol";
 * fromHex("01ff"); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/**
 * Constant-shape byte comparison.
 *
 * @param a first bytes
 * @param b second bytes
 * @returns true when both hold the same bytes
 * @example
 * ```ts
 * import { bytesEqual } from "@shoal/protocol";
 * bytesEqual(new Uint8Array([1]), new Uint8Array([1])); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
