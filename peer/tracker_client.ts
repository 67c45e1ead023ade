/**
 * The peer's tracker client. Kept as the import path its users know; the
 * code is in `peer/tracker_client/` (see its `mod.ts`).
 *
 * @module
 */
export * from "./tracker_client/mod.ts";
