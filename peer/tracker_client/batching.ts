/**
 * Splits a peer's files into REGISTER datagrams: each holds at most 255
 * files (the count is one byte) and fits {@linkcode MAX_DATAGRAM_BYTES}.
 * Pure.
 *
 * @module
 */
import {
  COOKIE_BYTES,
  type FileAnnouncement,
  fileAnnouncementBytes,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  PEER_ID_BYTES,
} from "@shoal/protocol";

/** Bytes of a REGISTER before its file entries: header, cookie, peer id, port, count. */
const REGISTER_BASE_BYTES = HEADER_BYTES + COOKIE_BYTES + PEER_ID_BYTES + 2 + 1;
/** REGISTER's file count is one byte. */
export const MAX_FILES_PER_REGISTER = 255;

/**
 * Splits files into groups that each fit one REGISTER datagram, in order.
 * No files give one empty group: a REGISTER that announces the peer alone.
 *
 * @param files the files to announce
 * @returns the groups, at least one
 * @example
 * ```ts
 * import { registerBatches } from "./batching.ts";
 * registerBatches([]).length; // 1
 * ```
 */
export function registerBatches(
  files: readonly FileAnnouncement[],
): FileAnnouncement[][] {
  const batches: FileAnnouncement[][] = [];
  let batch: FileAnnouncement[] = [];
  let bytes = REGISTER_BASE_BYTES;
  for (const file of files) {
    const size = fileAnnouncementBytes(file);
    if (
      batch.length === MAX_FILES_PER_REGISTER ||
      bytes + size > MAX_DATAGRAM_BYTES
    ) {
      batches.push(batch);
      batch = [];
      bytes = REGISTER_BASE_BYTES;
    }
    batch.push(file);
    bytes += size;
  }
  batches.push(batch);
  return batches;
}
