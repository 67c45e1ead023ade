/**
 * The opening most seeder attacks share: make a pseudo-random file, work
 * out its manifest (for the file id an attacker names), and start a real
 * seeder of it.
 *
 * @module
 */
import { join } from "node:path";
import { type BuiltFile, manifestOf } from "./fake_seeder.ts";
import {
  makeFile,
  type RunningProcess,
  startSeeder,
  type TrackerArg,
} from "./peers.ts";

/** A file made by {@linkcode seedNewFile} and the seeder serving it. */
export interface SeededFile {
  /** The file's path. */
  source: string;
  /** Its bytes. */
  data: Uint8Array;
  /** Its manifest, manifest bytes, file id and SHA-256. */
  built: BuiltFile;
  /** The seeder process (stop it when done). */
  seeder: RunningProcess & { port: number };
  /** The seeder's state folder (`--out`). */
  state: string;
}

/**
 * Writes `size` seeded pseudo-random bytes to `dir`/`name` and starts a
 * seeder of it (state in `dir`/seed) listed on `tracker`.
 *
 * @param tracker the tracker the seeder registers with
 * @param dir the test's temporary folder
 * @param name the file's name
 * @param size its size in bytes
 * @param seed the generator's seed (another seed, other bytes)
 * @param extraArgs more seeder flags (`--host 127.0.0.1`)
 */
export async function seedNewFile(
  tracker: TrackerArg,
  dir: string,
  name: string,
  size: number,
  seed: number,
  extraArgs: string[] = [],
): Promise<SeededFile> {
  const { source, data, built } = await makeBuiltFile(dir, name, size, seed);
  const state = join(dir, "seed");
  const seeder = await startSeeder(tracker, [source], state, extraArgs);
  return { source, data, built, seeder, state };
}

/**
 * Writes `size` seeded pseudo-random bytes to `dir`/`name` and builds its
 * manifest, as a seeder of it would.
 *
 * @param dir the test's temporary folder
 * @param name the file's name
 * @param size its size in bytes
 * @param seed the generator's seed (another seed, other bytes)
 */
export async function makeBuiltFile(
  dir: string,
  name: string,
  size: number,
  seed: number,
): Promise<{ source: string; data: Uint8Array; built: BuiltFile }> {
  const source = join(dir, name);
  await makeFile(source, size, seed);
  const data = await Deno.readFile(source);
  return { source, data, built: manifestOf(data, name) };
}
