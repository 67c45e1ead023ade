/**
 * Resume state: which chunks of a `.part` file were checked and written.
 * Two checksummed slots overwritten in turn, so a crash at any moment leaves
 * either the old state or the new one, and saving needs no new disk space
 * once the file exists; on start every listed chunk is checked again before
 * it is trusted.
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
  sha256,
  toHex,
} from "@shoal/protocol";

const RESUME_MAGIC = 0x53485253; // "SHRS"
/** Version 1: one record, replaced by a rename. */
const RESUME_VERSION_RENAMED = 1;
/** Version 2: two fixed-size slots overwritten in place, each with a checksum. */
const RESUME_VERSION_SLOTS = 2;
/** magic u32, version u8, sequence u64, payload length u32. */
const SLOT_HEADER_BYTES = 4 + 1 + 8 + 4;
/** SHA-256 of the slot's header and payload. */
const SLOT_CHECK_BYTES = 32;

/** What a resume file holds. */
export interface ResumeState {
  /** Canonical manifest bytes. */
  manifestBytes: Uint8Array;
  /** Chunks written and checked. */
  have: Bitfield;
}

function payloadOf(state: ResumeState): Uint8Array {
  const bits = state.have.toBytes();
  const out = new Uint8Array(
    4 + state.manifestBytes.byteLength + bits.byteLength,
  );
  new DataView(out.buffer).setUint32(0, state.manifestBytes.byteLength);
  out.set(state.manifestBytes, 4);
  out.set(bits, 4 + state.manifestBytes.byteLength);
  return out;
}

/**
 * Encodes resume state as one slot: a header with a sequence number, the
 * manifest and bitfield, and a SHA-256 over all of it, so a slot torn by a
 * crash in the middle of a write is recognised and ignored.
 *
 * @param state manifest and bitfield
 * @param sequence higher is newer
 * @returns the slot's bytes
 * @example
 * ```ts
 * // const slot = encodeResume({ manifestBytes, have }, 1n);
 * ```
 */
export function encodeResume(state: ResumeState, sequence = 0n): Uint8Array {
  const payload = payloadOf(state);
  const out = new Uint8Array(
    SLOT_HEADER_BYTES + payload.byteLength + SLOT_CHECK_BYTES,
  );
  const view = new DataView(out.buffer);
  view.setUint32(0, RESUME_MAGIC);
  view.setUint8(4, RESUME_VERSION_SLOTS);
  view.setBigUint64(5, sequence);
  view.setUint32(13, payload.byteLength);
  out.set(payload, SLOT_HEADER_BYTES);
  out.set(
    sha256(out.subarray(0, SLOT_HEADER_BYTES + payload.byteLength)),
    SLOT_HEADER_BYTES + payload.byteLength,
  );
  return out;
}

/** The state in a payload, or null when it is not for `fileId`. */
function statePayload(
  payload: Uint8Array,
  fileId: Uint8Array,
): ResumeState | null {
  if (payload.byteLength < 4) return null;
  const view = new DataView(
    payload.buffer,
    payload.byteOffset,
    payload.byteLength,
  );
  const manifestLength = view.getUint32(0);
  if (4 + manifestLength > payload.byteLength) return null;
  const manifestBytes = payload.slice(4, 4 + manifestLength);
  if (!bytesEqual(fileIdOf(manifestBytes), fileId)) return null;
  try {
    const manifest = parseManifest(manifestBytes);
    const have = new Bitfield(
      manifest.chunkCount,
      payload.subarray(4 + manifestLength),
    );
    return { manifestBytes, have };
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
}

/** A whole, checked slot at `offset`, or null. */
function readSlot(
  bytes: Uint8Array,
  offset: number,
): { sequence: bigint; payload: Uint8Array; bytes: number } | null {
  if (bytes.byteLength - offset < SLOT_HEADER_BYTES + SLOT_CHECK_BYTES) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (
    view.getUint32(0) !== RESUME_MAGIC ||
    view.getUint8(4) !== RESUME_VERSION_SLOTS
  ) return null;
  const payloadLength = view.getUint32(13);
  const total = SLOT_HEADER_BYTES + payloadLength + SLOT_CHECK_BYTES;
  if (total > bytes.byteLength - offset) return null;
  const body = bytes.subarray(offset, offset + total - SLOT_CHECK_BYTES);
  const check = bytes.subarray(
    offset + total - SLOT_CHECK_BYTES,
    offset + total,
  );
  if (!bytesEqual(sha256(body), check)) return null;
  return {
    sequence: view.getBigUint64(5),
    payload: body.subarray(SLOT_HEADER_BYTES),
    bytes: total,
  };
}

/** Both slots of a version-2 file (either may be missing or torn). */
function readSlots(
  bytes: Uint8Array,
): { sequence: bigint; payload: Uint8Array; bytes: number }[] {
  const first = readSlot(bytes, 0);
  // Both slots have the same size; a torn first slot still tells it by its
  // length field, which the second slot must then confirm with its checksum.
  let size = first?.bytes ?? 0;
  if (!first && bytes.byteLength >= SLOT_HEADER_BYTES) {
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(13);
    size = SLOT_HEADER_BYTES + length + SLOT_CHECK_BYTES;
  }
  const second = size > 0 && size <= bytes.byteLength
    ? readSlot(bytes, size)
    : null;
  return [first, second].filter((slot) => slot !== null);
}

/**
 * Decodes resume state for `fileId`: the newest whole slot, or a version-1
 * file. Returns null when nothing valid for that file is there. Total: never
 * throws on any input.
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
  if (view.getUint32(0) !== RESUME_MAGIC) return null;
  if (view.getUint8(4) === RESUME_VERSION_RENAMED) {
    return statePayload(bytes.subarray(5), fileId);
  }
  const slots = readSlots(bytes).sort((a, b) =>
    a.sequence > b.sequence ? -1 : a.sequence < b.sequence ? 1 : 0
  );
  for (const slot of slots) {
    const state = statePayload(slot.payload, fileId);
    if (state) return state;
  }
  return null;
}

/** Where the resume file of `fileId` lives under a peer's state folder. */
export function resumePath(stateDir: string, fileId: Uint8Array): string {
  return join(stateDir, "resume", `${toHex(fileId)}.resume`);
}

/**
 * Writes resume state so that a crash at any moment leaves a valid state:
 * the file holds two slots of fixed size, and each save overwrites the
 * older slot in place. A torn slot fails its checksum and the other one is
 * used. Overwriting in place needs no new disk space after the first save,
 * so the state can still be saved when the disk has just filled up.
 *
 * @param path the resume file
 * @param state what to record
 */
export async function saveResume(
  path: string,
  state: ResumeState,
): Promise<void> {
  let existing: Uint8Array | null = null;
  try {
    existing = await Deno.readFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const slots = existing ? readSlots(existing) : [];
  const newest = slots.reduce(
    (best, slot) => (slot.sequence > best ? slot.sequence : best),
    -1n,
  );
  const slot = encodeResume(state, newest + 1n);
  const sameShape = existing !== null &&
    existing.byteLength === 2 * slot.byteLength &&
    slots.every((s) => s.bytes === slot.byteLength);
  if (!sameShape) {
    // First save (or another file's layout): write both slots to a new file
    // and rename it into place, so every later save is in place.
    const both = new Uint8Array(2 * slot.byteLength);
    both.set(slot);
    both.set(slot, slot.byteLength);
    const temporary = `${path}.tmp`;
    await Deno.writeFile(temporary, both);
    await Deno.rename(temporary, path);
    return;
  }
  // Overwrite the slot that does not hold the newest state.
  const newestAt = readSlot(existing!, 0)?.sequence === newest ? 0 : 1;
  using file = await Deno.open(path, { write: true });
  await file.seek((1 - newestAt) * slot.byteLength, Deno.SeekMode.Start);
  let written = 0;
  while (written < slot.byteLength) {
    written += await file.write(slot.subarray(written));
  }
}

/**
 * Reads resume state, or null when there is none, it is not valid, or it
 * cannot be read (a folder in the way, no permission): the download then
 * starts afresh and any real disk problem surfaces with a clear message
 * when the download folder is prepared.
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
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.IsADirectory
    ) return null;
    throw error;
  }
}
