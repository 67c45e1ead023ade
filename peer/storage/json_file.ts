/**
 * Small JSON files in the peer's state folder: read with a size bound (a
 * missing, oversized or damaged file reads as null, never an error the user
 * must fix), written through a temporary file and a rename, so a crash
 * leaves the old file or the new one, readable by its user only.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Reads a JSON file of at most `maxBytes`.
 *
 * @param path the file
 * @param maxBytes a larger file is not read
 * @returns the parsed value, or null when the file is missing, too large or not JSON
 * @throws other I/O errors (a folder we may not read)
 */
export async function readJsonFile(
  path: string,
  maxBytes: number,
): Promise<unknown> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > maxBytes) return null;
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof SyntaxError
    ) return null;
    throw error;
  }
}

/**
 * Replaces a JSON file at once (temporary file, then rename), mode 0600.
 * Callers that may save twice at once chain their saves: both would write
 * the same temporary file.
 *
 * @param path the file
 * @param value what to write
 */
export async function writeJsonFile(
  path: string,
  value: unknown,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(value, null, 1), {
    mode: 0o600,
  });
  await Deno.rename(temporary, path);
}
