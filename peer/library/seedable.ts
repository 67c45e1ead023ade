/**
 * Whether a path on disk is a file Shoal can describe: a regular file with a
 * shareable name and a size within the protocol's limits. Checked before a
 * single byte is hashed, for seeding and for `--make-torrent` alike.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import {
  chunkSizeFor,
  fileNameProblem,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_COUNT,
} from "@shoal/protocol";

/** A file that cannot be seeded; the message is one line for the user. */
export class SeedError extends Error {
  /** @param message one line for the user */
  constructor(message: string) {
    super(message);
    this.name = "SeedError";
  }
}

/** A file that passed {@linkcode checkSeedable}. */
export interface SeedableFile {
  /** Its absolute path. */
  absolute: string;
  /** Its name, as peers will see it. */
  name: string;
  /** What `stat` said. */
  info: Deno.FileInfo;
  /** The chunk size for its size (null: too large). */
  chunkSize: number | null;
}

/**
 * Checks that `path` is a regular file whose name can be shared.
 *
 * @param path the file
 * @param action what the user asked for, for the error text ("seed")
 * @returns the file's path, name, stat and chunk size
 * @throws {SeedError} with one line saying what to do
 * @example
 * ```ts
 * import { checkSeedable } from "./seedable.ts";
 * // const { name, chunkSize } = await checkSeedable("/data/a.iso", "seed");
 * ```
 */
export async function checkSeedable(
  path: string,
  action: string,
): Promise<SeedableFile> {
  const absolute = resolve(path);
  const name = basename(absolute);
  const cannot = `Cannot ${action} ${absolute}`;
  const problem = fileNameProblem(name);
  if (problem) {
    throw new SeedError(`${cannot}: the file name ${problem}; rename it first`);
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SeedError(`${cannot}: no such file`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new SeedError(`${cannot}: permission denied`);
    }
    if (error instanceof Deno.errors.NotCapable) {
      // Deno's sandbox, not the file system: this run may not read it.
      throw new SeedError(
        `${cannot}: this peer was not given read access to it (start it with --seed ${absolute})`,
      );
    }
    throw error;
  }
  if (info.isDirectory) {
    // Callers share folders before they get here: this one just became one.
    throw new SeedError(`${cannot}: it became a folder meanwhile; try again`);
  }
  if (!info.isFile) {
    throw new SeedError(`${cannot}: it is not a regular file`);
  }
  return { absolute, name, info, chunkSize: chunkSizeFor(info.size) };
}

/**
 * The one line said when a file is too large to share, before hashing it
 * (the largest chunks hold 1 TiB).
 *
 * @param absolute the file
 * @param size its size in bytes
 * @param action what the user asked for ("seed")
 * @returns the error to throw
 */
export function tooLargeError(
  absolute: string,
  size: number,
  action: string,
): SeedError {
  return new SeedError(
    `Cannot ${action} ${absolute}: it is ${size} bytes, and Shoal shares files of up to ${
      MAX_CHUNK_COUNT * MAX_CHUNK_BYTES
    } bytes (1 TiB); split it first`,
  );
}
