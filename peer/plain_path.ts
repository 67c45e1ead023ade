/**
 * The few path operations the launcher needs (`resolve`, `dirname`,
 * `basename`, `join`), as `node:path` does them. On POSIX they are done
 * here: the first `node:` module a Deno process loads costs it 20-40 ms
 * (Node's compatibility layer starts), and the launcher stands between
 * `deno task peer` and the peer. On Windows `node:path` does them.
 *
 * @module
 */
const windows = Deno.build.os === "windows" ? await import("node:path") : null;

/** `path` with `.`, `..`, repeated and trailing slashes resolved (POSIX, absolute). */
function normalizeAbsolute(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * The absolute path of `path` seen from the folder `base`, normalised.
 *
 * @param base an absolute folder
 * @param path absolute, or relative to `base`
 * @returns the absolute path
 * @example
 * ```ts
 * import { resolvePath } from "./plain_path.ts";
 * resolvePath("/home/me", "../data/./a.iso"); // "/home/data/a.iso"
 * ```
 */
export function resolvePath(base: string, path: string): string {
  if (windows) return windows.resolve(base, path);
  return normalizeAbsolute(path.startsWith("/") ? path : `${base}/${path}`);
}

/**
 * The folder that holds `path` ("/" for "/").
 *
 * @param path an absolute path
 * @returns its parent folder
 * @example
 * ```ts
 * import { parentPath } from "./plain_path.ts";
 * parentPath("/home/me/a.iso"); // "/home/me"
 * ```
 */
export function parentPath(path: string): string {
  if (windows) return windows.dirname(path);
  const normal = normalizeAbsolute(path);
  const slash = normal.lastIndexOf("/");
  return slash <= 0 ? "/" : normal.slice(0, slash);
}

/**
 * The last component of `path` ("" for "/").
 *
 * @param path a path
 * @returns its last component
 * @example
 * ```ts
 * import { lastComponent } from "./plain_path.ts";
 * lastComponent("/home/me/a.iso/"); // "a.iso"
 * ```
 */
export function lastComponent(path: string): string {
  if (windows) return windows.basename(path);
  const parts = path.split("/").filter((part) => part !== "");
  return parts.at(-1) ?? "";
}

/**
 * `base` with `parts` appended, normalised.
 *
 * @param base an absolute path
 * @param parts components below it
 * @returns the joined path
 * @example
 * ```ts
 * import { joinPath } from "./plain_path.ts";
 * joinPath("/srv/data", "new", "folder"); // "/srv/data/new/folder"
 * ```
 */
export function joinPath(base: string, ...parts: string[]): string {
  if (windows) return windows.join(base, ...parts);
  return normalizeAbsolute([base, ...parts].join("/"));
}
