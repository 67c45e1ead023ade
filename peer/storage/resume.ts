/**
 * Resume state: which chunks of a `.part` file were checked and written.
 * The file holds the manifest once, then two checksummed slots with the
 * bitfield, overwritten in turn: a crash at any moment leaves either the old
 * state or the new one, saving needs no new disk space once the file exists,
 * and a save writes only the bitfield (the manifest of a 16 GiB file is 1
 * MiB, its bitfield 4 KiB). On start every listed chunk is checked again
 * before it is trusted.
 *
 * @module
 */
import { join } from "node:path";
import {
  Bitfield,
  bytesEqual,
  fileIdOf,
  isFolderManifest,
  parseFolderManifest,
  parseManifest,
  ProtocolError,
  sha256,
  toHex,
} from "@shoal/protocol";

const RESUME_MAGIC = 0x53485253; // "SHRS"
/** Version 1: one record, replaced by a rename. */
const RESUME_VERSION_RENAMED = 1;
/**
 * Version 2: two fixed-size slots overwritten in place, each with a checksum
 * and a copy of the manifest. Still read; no longer written.
 */
const RESUME_VERSION_SLOTS = 2;
/**
 * Version 3: the manifest once (it hashes to the file id, so it checks
 * itself), then two fixed-size slots holding only the bitfield.
 */
const RESUME_VERSION_MANIFEST_ONCE = 3;
/** Version 3 file header: magic u32, version u8, manifest length u32. */
const FILE_HEADER_BYTES = 4 + 1 + 4;
/** A slot's header: magic u32, version u8, sequence u64, payload length u32. */
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
 * Encodes resume state in the version-2 layout (one slot with a copy of the
 * manifest), which `decodeResume` still reads. Kept for the tests and the
 * fuzzer; Shoal writes version 3 ({@linkcode encodeResume}).
 *
 * @param state manifest and bitfield
 * @param sequence higher is newer
 * @returns one slot's bytes
 */
export function encodeLegacyResumeSlot(
  state: ResumeState,
  sequence = 0n,
): Uint8Array {
  return encodeSlot(payloadOf(state), sequence, RESUME_VERSION_SLOTS);
}

function encodeSlot(
  payload: Uint8Array,
  sequence: bigint,
  version: number,
): Uint8Array {
  const out = new Uint8Array(
    SLOT_HEADER_BYTES + payload.byteLength + SLOT_CHECK_BYTES,
  );
  const view = new DataView(out.buffer);
  view.setUint32(0, RESUME_MAGIC);
  view.setUint8(4, version);
  view.setBigUint64(5, sequence);
  view.setUint32(13, payload.byteLength);
  out.set(payload, SLOT_HEADER_BYTES);
  out.set(
    sha256(out.subarray(0, SLOT_HEADER_BYTES + payload.byteLength)),
    SLOT_HEADER_BYTES + payload.byteLength,
  );
  return out;
}

/** Bytes of one version-3 slot for a file of `chunkCount` chunks. */
function slotBytes(chunkCount: number): number {
  return SLOT_HEADER_BYTES + Bitfield.byteLength(chunkCount) +
    SLOT_CHECK_BYTES;
}

/**
 * Encodes a whole version-3 resume file: the manifest once, then two slots
 * that both hold `state.have` at `sequence`.
 *
 * @param state manifest and bitfield
 * @param sequence higher is newer
 * @returns the file's bytes
 * @example
 * ```ts
 * // await Deno.writeFile(path, encodeResume({ manifestBytes, have }));
 * ```
 */
export function encodeResume(state: ResumeState, sequence = 0n): Uint8Array {
  const manifestLength = state.manifestBytes.byteLength;
  const slot = encodeSlot(
    state.have.toBytes(),
    sequence,
    RESUME_VERSION_MANIFEST_ONCE,
  );
  const out = new Uint8Array(
    FILE_HEADER_BYTES + manifestLength + 2 * slot.byteLength,
  );
  out.set(fileHeader(manifestLength));
  out.set(state.manifestBytes, FILE_HEADER_BYTES);
  out.set(slot, FILE_HEADER_BYTES + manifestLength);
  out.set(slot, FILE_HEADER_BYTES + manifestLength + slot.byteLength);
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
  try {
    if (!bytesEqual(fileIdOf(manifestBytes), fileId)) return null;
    const manifest = parseManifest(manifestBytes, { viewHashes: true });
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
  version = RESUME_VERSION_SLOTS,
): { sequence: bigint; payload: Uint8Array; bytes: number } | null {
  if (bytes.byteLength - offset < SLOT_HEADER_BYTES + SLOT_CHECK_BYTES) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  if (
    view.getUint32(0) !== RESUME_MAGIC ||
    view.getUint8(4) !== version
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
  if (view.getUint8(4) === RESUME_VERSION_MANIFEST_ONCE) {
    return decodeManifestOnce(bytes, fileId);
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

/** Decodes a version-3 file: the manifest, then the newest whole slot. */
function decodeManifestOnce(
  bytes: Uint8Array,
  fileId: Uint8Array,
): ResumeState | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const manifestLength = view.getUint32(5);
  if (FILE_HEADER_BYTES + manifestLength > bytes.byteLength) return null;
  const manifestBytes = bytes.slice(
    FILE_HEADER_BYTES,
    FILE_HEADER_BYTES + manifestLength,
  );
  let chunkCount: number;
  try {
    if (!bytesEqual(fileIdOf(manifestBytes), fileId)) return null;
    chunkCount = chunkCountOf(manifestBytes);
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
  const first = FILE_HEADER_BYTES + manifestLength;
  const size = slotBytes(chunkCount);
  const [a, b] = [first, first + size].map((offset) => {
    const slot = readSlot(bytes, offset, RESUME_VERSION_MANIFEST_ONCE);
    return slot && slot.bytes === size ? slot : null;
  });
  const newest = a && (!b || a.sequence >= b.sequence) ? a : b;
  if (!newest) return null;
  return { manifestBytes, have: new Bitfield(chunkCount, newest.payload) };
}

/** The chunks of a file's manifest, or of a folder's (BEP 52 numbering). */
function chunkCountOf(manifestBytes: Uint8Array): number {
  return isFolderManifest(manifestBytes)
    ? parseFolderManifest(manifestBytes).chunkCount
    : parseManifest(manifestBytes, { viewHashes: true }).chunkCount;
}

/** Where the resume file of `fileId` lives under a peer's state folder. */
export function resumePath(stateDir: string, fileId: Uint8Array): string {
  return join(stateDir, "resume", `${toHex(fileId)}.resume`);
}

/**
 * Writes resume state so that a crash at any moment leaves a valid state:
 * the file holds the manifest and two bitfield slots of fixed size, and each
 * save reads the two slots and overwrites the older one in place, leaving
 * the manifest alone. A torn slot fails its checksum and the other one is
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
  const manifestLength = state.manifestBytes.byteLength;
  const size = slotBytes(state.have.size);
  const slotsAt = FILE_HEADER_BYTES + manifestLength;
  let file: Deno.FsFile | null = null;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    // In place when the file already has this layout: read the two small
    // slots (not the manifest) and overwrite the older one.
    const slots = file && await readSlotsInPlace(file, manifestLength, size);
    if (file && slots) {
      const [a, b] = slots;
      // Overwrite the slot that does not hold the newest whole state.
      const aIsNewest = a !== null && (b === null || a.sequence >= b.sequence);
      const newestSequence = (aIsNewest ? a.sequence : b?.sequence) ?? -1n;
      const target = aIsNewest ? 1 : 0;
      const slot = encodeSlot(
        state.have.toBytes(),
        newestSequence + 1n,
        RESUME_VERSION_MANIFEST_ONCE,
      );
      await file.seek(slotsAt + target * size, Deno.SeekMode.Start);
      await writeAll(file, slot);
      return;
    }
  } finally {
    file?.close();
  }
  // First save (or an older layout): write the whole file under a temporary
  // name and rename it into place, so every later save is in place. Written
  // piece by piece, as encodeResume lays it out, without a copy of the
  // manifest in between.
  const temporary = `${path}.tmp`;
  const slot = encodeSlot(
    state.have.toBytes(),
    0n,
    RESUME_VERSION_MANIFEST_ONCE,
  );
  {
    using out = await Deno.open(temporary, {
      write: true,
      create: true,
      truncate: true,
    });
    await writeAll(out, fileHeader(manifestLength));
    await writeAll(out, state.manifestBytes);
    await writeAll(out, slot);
    await writeAll(out, slot);
  }
  await Deno.rename(temporary, path);
}

/** The header of a version-3 file whose manifest is `manifestLength` bytes. */
function fileHeader(manifestLength: number): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, RESUME_MAGIC);
  view.setUint8(4, RESUME_VERSION_MANIFEST_ONCE);
  view.setUint32(5, manifestLength);
  return header;
}

/**
 * The two slots of a version-3 file whose manifest is `manifestLength`
 * bytes and whose slots are `size` bytes (each null when torn), or null when
 * the file has another layout.
 */
async function readSlotsInPlace(
  file: Deno.FsFile,
  manifestLength: number,
  size: number,
): Promise<[SlotRead | null, SlotRead | null] | null> {
  const { size: fileBytes } = await file.stat();
  if (fileBytes !== FILE_HEADER_BYTES + manifestLength + 2 * size) return null;
  const header = new Uint8Array(FILE_HEADER_BYTES);
  if (!(await readAll(file, header))) return null;
  const view = new DataView(header.buffer);
  if (
    view.getUint32(0) !== RESUME_MAGIC ||
    view.getUint8(4) !== RESUME_VERSION_MANIFEST_ONCE ||
    view.getUint32(5) !== manifestLength
  ) return null;
  const slots = new Uint8Array(2 * size);
  await file.seek(FILE_HEADER_BYTES + manifestLength, Deno.SeekMode.Start);
  if (!(await readAll(file, slots))) return null;
  const read = (offset: number) => {
    const slot = readSlot(slots, offset, RESUME_VERSION_MANIFEST_ONCE);
    return slot && slot.bytes === size ? slot : null;
  };
  return [read(0), read(size)];
}

type SlotRead = { sequence: bigint; payload: Uint8Array; bytes: number };

async function readAll(file: Deno.FsFile, into: Uint8Array): Promise<boolean> {
  let filled = 0;
  while (filled < into.byteLength) {
    const n = await file.read(into.subarray(filled));
    if (n === null) return false;
    filled += n;
  }
  return true;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await file.write(bytes.subarray(written));
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
