/**
 * The rate limits and upload slots set on the page: checked the same way
 * whether they come from the page or from the state folder, where they are
 * kept (`STATE/web-limits.json`) so that a restart keeps them.
 *
 * @module
 */
import { join } from "node:path";
import type { PeerLimits } from "../node.ts";
import { readJsonFile, writeJsonFile } from "../storage/json_file.ts";

/** The file's name inside the state folder. */
export const SAVED_LIMITS_FILE = "web-limits.json";
/** Largest rate limit accepted: 100 GB/s. */
export const MAX_RATE = 100e9;
/** Smallest rate limit accepted: 1 kB/s (0 or null: none). */
export const MIN_RATE = 1024;
/** Most upload slots the page accepts. */
export const MAX_SLOTS = 64;
/** A larger file was never written by us: it is not read. */
const MAX_FILE_BYTES = 4096;

/** A limit out of range; the message is one line for the page. */
export class LimitsError extends Error {
  /** @param message what to give instead */
  constructor(message: string) {
    super(message);
    this.name = "LimitsError";
  }
}

/**
 * The limits in a request body or a saved file; a field left out is not
 * changed.
 *
 * @param body the parsed object
 * @returns the limits it sets
 * @throws {LimitsError} a rate that is not none or from 1 kB/s to 100 GB/s,
 *   slots that are not a whole number from 1 to 64
 * @example
 * ```ts
 * import { parseLimits } from "./saved_limits.ts";
 * parseLimits({ maxUploadBytesPerSecond: 0, uploadSlots: 3 }); // { maxUploadBytesPerSecond: null, uploadSlots: 3 }
 * ```
 */
export function parseLimits(
  body: Record<string, unknown>,
): Partial<PeerLimits> {
  const rate = (name: string): number | null | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (value === null || value === 0) return null;
    if (
      typeof value !== "number" || !Number.isFinite(value) ||
      value < MIN_RATE || value > MAX_RATE
    ) {
      throw new LimitsError(
        "Cannot set the limit: give a rate of at least 1 kB/s, or none",
      );
    }
    return Math.floor(value);
  };
  const limits: Partial<PeerLimits> = {};
  const up = rate("maxUploadBytesPerSecond");
  if (up !== undefined) limits.maxUploadBytesPerSecond = up;
  const down = rate("maxDownloadBytesPerSecond");
  if (down !== undefined) limits.maxDownloadBytesPerSecond = down;
  const slots = body.uploadSlots;
  if (slots !== undefined) {
    if (
      typeof slots !== "number" || !Number.isInteger(slots) || slots < 1 ||
      slots > MAX_SLOTS
    ) {
      throw new LimitsError(
        `Cannot set the upload slots: give a whole number from 1 to ${MAX_SLOTS}`,
      );
    }
    limits.uploadSlots = slots;
  }
  return limits;
}

/**
 * Reads the limits the page saved; a missing, damaged or out-of-range file
 * gives none (the peer starts with its command line's limits).
 *
 * @param stateDir the peer's state folder
 * @returns the limits to set
 */
export async function loadSavedLimits(
  stateDir: string,
): Promise<Partial<PeerLimits>> {
  const value = await readJsonFile(
    join(stateDir, SAVED_LIMITS_FILE),
    MAX_FILE_BYTES,
  );
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {};
  }
  try {
    return parseLimits(value as Record<string, unknown>);
  } catch (error) {
    if (error instanceof LimitsError) return {};
    throw error;
  }
}

/**
 * Saves the limits now in force (slots only when this peer serves).
 *
 * @param stateDir the peer's state folder
 * @param limits the peer's limits
 */
export async function saveLimits(
  stateDir: string,
  limits: PeerLimits,
): Promise<void> {
  await writeJsonFile(join(stateDir, SAVED_LIMITS_FILE), {
    version: 1,
    maxUploadBytesPerSecond: limits.maxUploadBytesPerSecond,
    maxDownloadBytesPerSecond: limits.maxDownloadBytesPerSecond,
    ...(limits.uploadSlots > 0 ? { uploadSlots: limits.uploadSlots } : {}),
  });
}
