/**
 * One peer process per download folder. Two peers with the same `--out`
 * would share its state folder: both would write the same resume and part
 * files when they fetch the same file (one then fails halfway, or both
 * place it), and each would overwrite the other's list of seeded files.
 * So a peer holds an exclusive advisory lock (flock) on `OUT/.shoal/lock`
 * while it runs; the system drops it when the process ends, however it
 * ends, so a crash never leaves the folder locked. The file holds the
 * holder's process id, for the message the next one gives.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { diskProblem } from "./disk_errors.ts";

/** Another peer process holds the state folder. */
export class StateInUseError extends Error {
  /**
   * @param stateDir the state folder
   * @param pid the process id the holder wrote, if it could be read
   */
  constructor(readonly stateDir: string, readonly pid: number | null) {
    super(
      `Another Shoal peer${
        pid === null ? "" : ` (process ${pid})`
      } is using the download folder ${
        dirname(stateDir)
      }; stop it, or give this one another --out`,
    );
    this.name = "StateInUseError";
  }
}

/** The state folder (or the download folder) cannot be created or used. */
export class StateFolderError extends Error {
  /**
   * @param stateDir the state folder
   * @param cause the system's error
   */
  constructor(stateDir: string, cause: unknown) {
    super(`Cannot create ${dirname(stateDir)}: ${diskProblem(cause)}`, {
      cause,
    });
    this.name = "StateFolderError";
  }
}

/** A held lock on a state folder. */
export interface StateLock {
  /**
   * Lets the next peer in (closing the file drops the lock). A state folder
   * this run created and left empty but for the lock goes too, and so does
   * a download folder it created and left empty: a peer that wrote nothing
   * (a name no tracker knows, a refused manifest) leaves nothing behind.
   */
  release(): void;
}

/** Tries to open and lock the lock file this many times (see below). */
const LOCK_TRIES = 3;

/**
 * Takes the lock on a state folder, creating the folder if needed.
 *
 * @param stateDir the peer's state folder (`OUT/.shoal`)
 * @returns the held lock
 * @throws {StateInUseError} when another process holds it
 * @throws {StateFolderError} when the folders cannot be created or used
 * @example
 * ```ts
 * import { lockStateDir } from "./state_lock.ts";
 * const lock = await lockStateDir("downloads/.shoal");
 * // ... run the peer ...
 * lock.release();
 * ```
 */
export async function lockStateDir(stateDir: string): Promise<StateLock> {
  try {
    return await takeLock(stateDir);
  } catch (error) {
    if (error instanceof StateInUseError) throw error;
    throw new StateFolderError(stateDir, error);
  }
}

async function takeLock(stateDir: string): Promise<StateLock> {
  const created = await missingFolders(stateDir);
  const path = join(stateDir, "lock");
  for (let attempt = 1;; attempt++) {
    await Deno.mkdir(stateDir, { recursive: true });
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
    }).catch((error) => {
      // The folder went with a peer that left just now: make it again.
      if (error instanceof Deno.errors.NotFound && attempt < LOCK_TRIES) {
        return null;
      }
      throw error;
    });
    if (file === null) continue;
    try {
      if (!await file.tryLock(true)) {
        throw new StateInUseError(stateDir, await holderPid(file));
      }
      // A peer that left just now may have removed the file we opened: a
      // lock on it would keep no one out. Then open the new one.
      if (!await sameFile(file, path) && attempt < LOCK_TRIES) {
        file.close();
        continue;
      }
      await file.truncate(0);
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch (error) {
      file.close();
      throw error;
    }
    return {
      release() {
        if (created.length > 0) tidyUp(path, created);
        file.close();
      },
    };
  }
}

/**
 * Removes the lock, then the folders this run created, deepest first, while
 * they are empty (best effort).
 */
function tidyUp(lockPath: string, created: string[]) {
  try {
    const stateDir = dirname(lockPath);
    const names = [...Deno.readDirSync(stateDir)].map((entry) => entry.name);
    if (names.length !== 1 || names[0] !== "lock") return;
    // Removed while still locked: a peer that opened it meanwhile sees
    // that it is gone (sameFile) and makes a new one.
    Deno.removeSync(lockPath);
    for (const folder of created) Deno.removeSync(folder);
  } catch {
    // Something else is there now, or was never ours to remove.
  }
}

/** `folder` and those of its parents that do not exist, deepest first. */
async function missingFolders(folder: string): Promise<string[]> {
  const missing: string[] = [];
  for (let at = folder; at !== dirname(at); at = dirname(at)) {
    if (await Deno.lstat(at).then(() => true, () => false)) break;
    missing.push(at);
  }
  return missing;
}

/** Whether `path` is still the open file. */
async function sameFile(file: Deno.FsFile, path: string): Promise<boolean> {
  const [open, named] = await Promise.all([
    file.stat(),
    Deno.lstat(path).catch(() => null),
  ]);
  return named !== null && named.ino === open.ino && named.dev === open.dev;
}

/** The process id in a lock file (a few digits), or null. */
async function holderPid(file: Deno.FsFile): Promise<number | null> {
  const bytes = new Uint8Array(16);
  const n = await file.read(bytes).catch(() => null);
  const text = new TextDecoder().decode(bytes.subarray(0, n ?? 0)).trim();
  return /^\d{1,10}$/.test(text) ? Number(text) : null;
}
