/**
 * Where a file named by the network may be written: only directly inside
 * the download folder, whatever the name says.
 *
 * @module
 */
import { resolve, sep } from "node:path";
import { fileNameProblem } from "@shoal/protocol";

/** A name that cannot be used as a file name inside the download folder. */
export class UnsafeNameError extends Error {
  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "UnsafeNameError";
  }
}

/**
 * Joins a name from the network to the download folder, refusing any name
 * that is not one safe path component or that would resolve elsewhere.
 *
 * @param folder the download folder (absolute or relative)
 * @param name a file name from a manifest
 * @returns the absolute path inside `folder`
 * @throws {UnsafeNameError} when the name is not safe
 * @example
 * ```ts
 * import { pathInFolder } from "./safe_path.ts";
 * pathInFolder("/srv/downloads", "movie.mkv"); // "/srv/downloads/movie.mkv"
 * ```
 */
export function pathInFolder(folder: string, name: string): string {
  const problem = fileNameProblem(name);
  if (problem) {
    throw new UnsafeNameError(
      `Cannot save ${JSON.stringify(name)}: the file name ${problem}`,
    );
  }
  const root = resolve(folder);
  const target = resolve(root, name);
  if (
    !target.startsWith(root + sep) ||
    target.slice(root.length + 1).includes(sep)
  ) {
    throw new UnsafeNameError(
      `Cannot save ${JSON.stringify(name)}: it would leave ${root}`,
    );
  }
  return target;
}
