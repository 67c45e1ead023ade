/**
 * `--only GLOB`: which files of a folder a download fetches. A glob is
 * matched against each file's path below the folder, `/`-separated: `*`
 * and `?` stay within one name, `**` crosses folders, and a glob that names
 * a folder takes every file in it. Pure.
 *
 * @module
 */
import type { FolderManifest } from "@shoal/protocol";

/**
 * A glob as a regular expression over whole `/`-separated paths.
 *
 * @param glob e.g. `disc/*.flac`, `**\/README*`
 * @returns the expression
 * @example
 * ```ts
 * import { globRegExp } from "./only_files.ts";
 * globRegExp("*.txt").test("a.txt"); // true
 * globRegExp("*.txt").test("docs/a.txt"); // false
 * ```
 */
export function globRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      // "**/" also matches no folder at all.
      if (glob[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else source += ".*";
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u");
}

/**
 * Which files of a folder the globs choose: a file is chosen when a glob
 * matches its path or a folder it is in. No globs choose every file.
 *
 * @param folder the folder manifest
 * @param globs the `--only` values
 * @returns one flag per file, or the glob that matches nothing
 * @example
 * ```ts
 * import { chosenFiles } from "./only_files.ts";
 * // chosenFiles(folder, ["disc/a.bin"]) -> [true, false] or { unmatched }
 * ```
 */
export function chosenFiles(
  folder: FolderManifest,
  globs: readonly string[],
): boolean[] | { unmatched: string } {
  if (globs.length === 0) return folder.files.map(() => true);
  const chosen = folder.files.map(() => false);
  for (const glob of globs) {
    // Leading and trailing slashes say nothing more: "disc/" is "disc".
    const pattern = globRegExp(glob.replace(/^\/+|\/+$/g, ""));
    let matched = false;
    folder.files.forEach((file, i) => {
      for (let depth = file.path.length; depth > 0; depth--) {
        if (!pattern.test(file.path.slice(0, depth).join("/"))) continue;
        chosen[i] = true;
        matched = true;
        return;
      }
    });
    if (!matched) return { unmatched: glob };
  }
  return chosen;
}

/**
 * The files `--only` picks of a download, or the one line that says why it
 * cannot: a single file, or a glob that matches nothing.
 *
 * @param folder the folder manifest, or null for a single file
 * @param globs the `--only` values
 * @param name the file's or folder's name, for the line
 * @returns one flag per file (null: every file, no globs), or the problem
 * @example
 * ```ts
 * import { pickOnly } from "./only_files.ts";
 * pickOnly(null, [], "a.iso"); // { chosen: null }
 * ```
 */
export function pickOnly(
  folder: FolderManifest | null,
  globs: readonly string[],
  name: string,
): { chosen: boolean[] | null } | { problem: string } {
  if (globs.length === 0) return { chosen: null };
  if (!folder) {
    return {
      problem:
        `Cannot download ${name} with --only: it is a single file, not a folder; leave out --only`,
    };
  }
  const chosen = chosenFiles(folder, globs);
  if ("unmatched" in chosen) {
    return {
      problem:
        `--only ${chosen.unmatched} matches no file of ${name}; give a path below the folder, such as ${
          JSON.stringify(folder.files[0]!.path.join("/"))
        }`,
    };
  }
  return { chosen };
}

/**
 * The pieces of the files not chosen (nothing of them is fetched: in BEP 52
 * no piece is shared by two files).
 *
 * @param folder the folder manifest
 * @param chosen from {@linkcode chosenFiles}
 * @returns their piece indices, in order
 */
export function unchosenPieces(
  folder: FolderManifest,
  chosen: readonly boolean[],
): number[] {
  const pieces: number[] = [];
  folder.files.forEach((file, i) => {
    if (chosen[i]) return;
    for (let k = 0; k < file.chunkCount; k++) pieces.push(file.firstChunk + k);
  });
  return pieces;
}
