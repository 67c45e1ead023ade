/**
 * The web page's token, kept in the peer's state folder so that it survives
 * a restart: an open page reconnects and a bookmark keeps working.
 *
 * The file (`STATE/web-token`) is created exclusively with mode 0600 (only
 * the peer's user can read it); a missing, unreadable-as-token or too-open
 * file is replaced by a fresh token.
 *
 * @module
 */
import { join } from "node:path";
import { newToken } from "./guard.ts";

/** The token file's name inside the state folder. */
export const TOKEN_FILE = "web-token";

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Reads the saved token, or makes, saves and returns a new one.
 *
 * @param stateDir the peer's state folder (`OUT/.shoal`)
 * @returns the token the page uses from now on
 * @example
 * ```ts
 * // const token = await loadOrCreateToken("downloads/.shoal");
 * ```
 */
export async function loadOrCreateToken(stateDir: string): Promise<string> {
  const path = join(stateDir, TOKEN_FILE);
  const saved = await readToken(path);
  if (saved !== null) return saved;
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const token = newToken();
  // createNew: another process (or a link planted meanwhile) never gets our token.
  const file = await Deno.open(path, {
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    await file.write(new TextEncoder().encode(`${token}\n`));
  } finally {
    file.close();
  }
  return token;
}

async function readToken(path: string): Promise<string | null> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.size > 256) return null;
    // Readable by others (copied, or made by hand): not a secret any more.
    if (info.mode !== null && (info.mode & 0o077) !== 0) return null;
    const text = (await Deno.readTextFile(path)).trim();
    return TOKEN_SHAPE.test(text) ? text : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
