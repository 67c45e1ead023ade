// deno-lint-ignore-file no-console
/**
 * The benchmarks' test files: random bytes, made once per size in the work
 * folder, with their SHA-256.
 *
 * @module
 */
import { createHash, randomFillSync } from "node:crypto";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { runToEnd, which } from "./_proc.ts";
import { sizeLabel } from "./_stats.ts";

/** A test file. */
export interface BenchFile {
  path: string;
  name: string;
  size: number;
  /** SHA-256, hex. */
  sha256: string;
}

/**
 * Writes `size` random bytes to `WORKDIR/files/shoal-bench-SIZE.bin`, unless
 * a file of that size is there already.
 *
 * @param workDir the work folder
 * @param size bytes
 * @returns the file and its SHA-256
 */
export async function makeFile(
  workDir: string,
  size: number,
): Promise<BenchFile> {
  const name = `shoal-bench-${sizeLabel(size)}.bin`;
  const path = join(workDir, "files", name);
  await Deno.mkdir(dirname(path), { recursive: true });
  let exists = false;
  try {
    exists = (await Deno.stat(path)).size === size;
  } catch {
    exists = false;
  }
  if (!exists) {
    console.error(
      `[bench] writing ${sizeLabel(size)} of random bytes to ${path}`,
    );
    const file = await open(path, "w");
    const block = new Uint8Array(4 * 1024 * 1024);
    try {
      for (let done = 0; done < size; done += block.byteLength) {
        randomFillSync(block);
        const n = Math.min(block.byteLength, size - done);
        await file.write(block, 0, n);
      }
    } finally {
      await file.close();
    }
  }
  return { path, name, size, sha256: await sha256File(path) };
}

/**
 * A file's SHA-256, by `openssl dgst` where installed, else node:crypto.
 *
 * @param path the file
 * @returns the digest, hex
 */
export async function sha256File(path: string): Promise<string> {
  if (which("openssl")) {
    const r = await runToEnd(
      "openssl",
      ["dgst", "-sha256", "-r", path],
      120_000,
    );
    const hex = r.output.match(/^([0-9a-f]{64})/m)?.[1];
    if (r.code === 0 && hex) return hex;
  }
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  try {
    for await (const chunk of file.readable) hash.update(chunk);
  } catch (error) {
    throw new Error(`Cannot hash ${path}`, { cause: error });
  }
  return hash.digest("hex");
}

/**
 * Checks a download's bytes (after the clock stopped): its size and SHA-256.
 *
 * @param path the downloaded file
 * @param file what it must equal
 * @throws {Error} naming what differs
 */
export async function checkDownload(
  path: string,
  file: BenchFile,
): Promise<void> {
  const info = await Deno.stat(path);
  if (info.size !== file.size) {
    throw new Error(`${path} has ${info.size} bytes, expected ${file.size}`);
  }
  const sha256 = await sha256File(path);
  if (sha256 !== file.sha256) {
    throw new Error(`${path} has SHA-256 ${sha256}, expected ${file.sha256}`);
  }
}

/** Removes a folder and what it holds; one that is not there is fine. */
export async function removeDir(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
