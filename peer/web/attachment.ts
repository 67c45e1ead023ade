/**
 * The `Content-Disposition` of a file the page hands out. The name comes from
 * a manifest (a peer wrote it), so it is written twice: a plain ASCII
 * `filename` with anything unusual replaced, for old browsers, and the exact
 * name as RFC 5987 `filename*`, where every byte outside the RFC's safe set is
 * %-encoded (no quote, backslash, semicolon or line break can break out).
 *
 * @module
 */

/** Characters kept as they are in the ASCII fallback name. */
const PLAIN = /[A-Za-z0-9._ +,()=@&!~-]/;

/**
 * The `Content-Disposition` header value that saves a download as `name`.
 *
 * @param name the file name, untrusted
 * @returns `attachment; filename="..."; filename*=UTF-8''...`
 * @example
 * ```ts
 * import { attachmentDisposition } from "./attachment.ts";
 * attachmentDisposition('a "b".torrent');
 * // `attachment; filename="a _b_.torrent"; filename*=UTF-8''a%20%22b%22.torrent`
 * ```
 */
export function attachmentDisposition(name: string): string {
  let plain = "";
  for (const char of name) plain += PLAIN.test(char) ? char : "_";
  // RFC 5987 attr-chars: encodeURIComponent leaves ' ( ) * and ! as they are.
  const exact = encodeURIComponent(name).replace(
    /['()*!]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${plain}"; filename*=UTF-8''${exact}`;
}
