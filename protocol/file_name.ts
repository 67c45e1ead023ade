/**
 * Which file names a manifest may carry. A name from the network is a single
 * path component that is safe on Linux, macOS and Windows, so joining it to
 * the download folder can never leave that folder.
 *
 * @module
 */
import { MAX_NAME_BYTES } from "./constants.ts";
import { utf8 } from "./bytes.ts";

/**
 * Windows device names, which open the device whatever the extension, also
 * with spaces before it (`CON .txt`) and with superscript digits (`COM¹`).
 */
const WINDOWS_RESERVED =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\..*)?$/i;
// deno-lint-ignore no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f<>:"/\\|?*]/;
/**
 * Characters that change how a name looks without being seen: direction
 * overrides (`invoice\u202Efdp.exe` shows as "invoiceexe.pdf"), zero-width
 * and other format characters, C1 controls, line and paragraph separators.
 */
const INVISIBLE_CHARACTERS = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}]/u;

/**
 * Returns why `name` is not a safe file name, or `null` when it is.
 *
 * @param name a candidate file name
 * @returns a short reason, or null
 * @example
 * ```ts
 * import { fileNameProblem } from "@shoal/protocol";
 * fileNameProblem("../etc/passwd"); // "contains a forbidden character"
 * ```
 */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0) return "is empty";
  // A lone surrogate would be sent as U+FFFD, so the name would not survive
  // the trip to another peer.
  if (!name.isWellFormed()) return "is not well-formed Unicode";
  // At most 3 bytes per UTF-16 unit: most names need no encoding to tell.
  if (
    name.length * 3 > MAX_NAME_BYTES && utf8(name).byteLength > MAX_NAME_BYTES
  ) {
    return `is longer than ${MAX_NAME_BYTES} bytes`;
  }
  if (name === "." || name === "..") return "is a relative folder";
  if (FORBIDDEN_CHARACTERS.test(name)) return "contains a forbidden character";
  const invisible = INVISIBLE_CHARACTERS.exec(name);
  if (invisible) {
    const code = invisible[0].codePointAt(0)!.toString(16).toUpperCase();
    return `contains an invisible or direction-changing character (U+${
      code.padStart(4, "0")
    })`;
  }
  if (/[. ]$/.test(name)) return "ends with a dot or a space";
  if (name.startsWith(".")) {
    return "starts with a dot (hidden files are not shared)";
  }
  if (WINDOWS_RESERVED.test(name)) return "is a reserved device name";
  if (name.normalize("NFC") !== name) return "is not in Unicode NFC form";
  return null;
}

/**
 * True when `name` is a safe single-component file name.
 *
 * @param name a candidate file name
 * @returns whether the name is safe to use inside a download folder
 * @example
 * ```ts
 * import { isSafeFileName } from "@shoal/protocol";
 * isSafeFileName("movie.mkv"); // true
 * ```
 */
export function isSafeFileName(name: string): boolean {
  return fileNameProblem(name) === null;
}
