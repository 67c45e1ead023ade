/**
 * Resume state: which chunks of a `.part` file were checked and written.
 * Written atomically (temporary file, then rename) so a crash leaves either
 * the old state or the new one; on start every listed chunk is checked
 * again before it is trusted.
 *
 * @module
 */
import { join } from "node:path";
import {
  Bitfield,
  bytesEqual,
  fileIdOf,
  parseManifest,
  ProtocolError,
  toHex,
} from "@shoal/protocol";

const RESUME_MAGIC = 0x53485253; // "SHRS"
const RESUME_VERSION = 1;

/** What a resume file holds. */
export interface ResumeState {
  /** Canonical manifest bytes. */
  manifestBytes: Uint8Array;
  /** Chunks written and checked. */
  have: Bitfield;
}

/**
 * Encodes resume state.
 *
 * @param state manifest and bitfield
 * @returns the file's bytes
 * @example
 * ```ts
 * // await Deno.writeFile(path, encodeResume({ manifestBytes, have }));
 * ```
 */
export function encodeResume(state: ResumeState): Uint8Array {
  const bits = state.have.toBytes();
  const out = new Uint8Array(
    4 + 1 + 4 + state.manifestBytes.byteLength + bits.byteLength,
  );
  const view = new DataView(out.buffer);
  view.setUint32(0, RESUME_MAGIC);
  view.setUint8(4, RESUME_VERSION);
  view.setUint32(5, state.manifestBytes.byteLength);
  out.set(state.manifestBytes, 9);
  out.set(bits, 9 + state.manifestBytes.byteLength);
  return out;
}

/**
 * Decodes resume state for `fileId`, or returns null when the bytes are not
 * valid resume state for that file.
 *
 * @param bytes file contents
 * @param fileId the id the manifest must hash to
 * @returns the state, or null
 * @example
 * ```ts
 * // const state = decodeResume(await Deno.readFile(path), fileId);
 * ```
 */
export function decodeResume(
  bytes: Uint8Array,
  fileId: Uint8Array,
): ResumeState | null {
  if (bytes.byteLength < 9) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    view.getUint32(0) !== RESUME_MAGIC || view.getUint8(4) !== RESUME_VERSION
  ) return null;
  const manifestLength = view.getUint32(5);
  if (9 + manifestLength > bytes.byteLength) return null;
  const manifestBytes = bytes.slice(9, 9 + manifestLength);
  if (!bytesEqual(fileIdOf(manifestBytes), fileId)) return null;
  try {
    const manifest = parseManifest(manifestBytes);
    const have = new Bitfield(
      manifest.chunkCount,
      bytes.subarray(9 + manifestLength),
    );
    return { manifestBytes, have };
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
}

/** Where the resume file of `fileId` lives under a peer's state folder. */
export function resumePath(stateDir: string, fileId: Uint8Array): string {
  return join(stateDir, "resume", `${toHex(fileId)}.resume`);
}

/**
 * Writes resume state atomically.
 *
 * @param path the resume file
 * @param state what to record
 */
export async function saveResume(
  path: string,
  state: ResumeState,
): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.writeFile(temporary, encodeResume(state));
  await Deno.rename(temporary, path);
}

/**
 * Reads resume state, or null when there is none (or it is not valid).
 *
 * @param path the resume file
 * @param fileId the file the state must be for
 */
export async function loadResume(
  path: string,
  fileId: Uint8Array,
): Promise<ResumeState | null> {
  try {
    return decodeResume(await Deno.readFile(path), fileId);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
