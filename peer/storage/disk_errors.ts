/**
 * One line for the user from a file-system error: its real cause and what
 * to do, so that "free some space" is said only when the disk is full.
 *
 * @module
 */

/**
 * Describes a file-system error and what the user can do about it.
 *
 * @param error what a `Deno.*` file call threw
 * @param options the flag that picks another place (omitted on the web page)
 * @returns e.g. `no space left on the disk; free some space`
 * @example
 * ```ts
 * import { diskProblem } from "./disk_errors.ts";
 * diskProblem(new Deno.errors.PermissionDenied("open")); // "permission denied; ..."
 * ```
 */
export function diskProblem(
  error: unknown,
  options: { otherPlace?: string } = {},
): string {
  const elsewhere = options.otherPlace ?? "choose another --out";
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOSPC":
      return "no space left on the disk; free some space";
    case "EDQUOT":
      return "the disk quota is used up; free some space";
    case "ENAMETOOLONG":
      return `the name is too long for this file system; ${elsewhere}`;
    case "EROFS":
      return `the file system is read-only; ${elsewhere}`;
    case "EIO":
      return "an input/output error; the disk may be failing";
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `this peer was not given access to it; ${elsewhere}`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `permission denied; ${elsewhere}`;
  }
  if (error instanceof Deno.errors.NotFound) {
    return `a folder on the way is missing; ${elsewhere}`;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return `${
    typeof message === "string" ? message.split("\n")[0] : String(error)
  }; ${elsewhere}`;
}
