/**
 * How a checked folder download takes its place: its parts folder is
 * renamed to the first free name in the download folder (`NAME`, else
 * `NAME (2)`, ...), never replacing anything. The name is claimed first by
 * creating an empty folder there (which fails if anything, even a link, has
 * that name); the rename then replaces only that empty folder of ours, and
 * fails, leaving everything as it is, if something was put into it meanwhile.
 *
 * @module
 */
import { join } from "node:path";
import { numberedName } from "./part_file.ts";

/** How many names are tried before giving up (`NAME (2)` to `NAME (999)`). */
const MAX_NAME_TRIES = 999;

/**
 * Moves a checked parts folder into the download folder under the first
 * free name.
 *
 * @param root the parts folder (folder_parts.ts), every wanted file checked
 * @param outDir the download folder
 * @param name the folder's name from its manifest (already checked as safe)
 * @returns the path the folder now has
 * @throws {Deno.errors.AlreadyExists} when every candidate name is taken
 * @throws {Error} the system's error (EXDEV: the state folder is on another
 *   file system)
 */
export async function placeFolder(
  root: string,
  outDir: string,
  name: string,
): Promise<string> {
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    // A folder's name has no extension: "album.v2 (2)", not "album (2).v2".
    const target = join(outDir, n === 1 ? name : numberedName(`${name}.`, n))
      .replace(/\.$/, "");
    try {
      await Deno.mkdir(target);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    try {
      await Deno.rename(root, target);
      return target;
    } catch (error) {
      // Filled meanwhile by someone else: theirs now; try the next name.
      if (isNotEmpty(error)) continue;
      await Deno.remove(target).catch(() => {});
      throw error;
    }
  }
  throw new Deno.errors.AlreadyExists(
    `${name} and ${MAX_NAME_TRIES - 1} numbered names are taken`,
  );
}

function isNotEmpty(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "ENOTEMPTY" || code === "EEXIST";
}
