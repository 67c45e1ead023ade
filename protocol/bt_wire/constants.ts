/**
 * Numbers and limits of the BitTorrent peer wire as Shoal speaks it (BEP 3,
 * 6, 9, 10, 52). Every limit the BitTorrent decoders enforce lives here,
 * with its unit in its name. See docs/PROTOCOL.md, "BitTorrent".
 *
 * @module
 */
import {
  BLOCK_BYTES,
  HASH_BYTES,
  MAX_BITFIELD_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_MERKLE_LEVELS,
} from "../constants.ts";

/** The handshake's protocol name, after its length byte (19). */
export const BT_PROTOCOL_NAME = "BitTorrent protocol";
/** Bytes of a handshake: 1 + 19 + 8 reserved + 20 infohash + 20 peer id. */
export const BT_HANDSHAKE_BYTES = 68;
/** Bytes of the reserved field in the handshake. */
export const BT_RESERVED_BYTES = 8;
/** A BitTorrent infohash on the wire: the first 20 bytes of the v2 (SHA-256) infohash. */
export const BT_INFOHASH_BYTES = 20;
/** Bytes of a BitTorrent peer id. */
export const BT_PEER_ID_BYTES = 20;
/** Bytes of a message's length prefix. */
export const BT_LENGTH_PREFIX_BYTES = 4;

/** The block every v2 client requests: 16 KiB, one Merkle leaf. */
export const BT_BLOCK_BYTES = BLOCK_BYTES;
/** A BEP 9 metadata piece: 16 KiB (the last one may be shorter). */
export const BT_METADATA_PIECE_BYTES = 16 * 1024;
/**
 * Largest info dictionary fetched over BEP 9: the largest manifest Shoal
 * takes. A v2 info dictionary of one file carries no piece hashes (they are
 * in the piece layers) and stays small, but a folder's lists every file:
 * 10,000 small files make one of about 800 KB.
 */
export const MAX_BT_METADATA_BYTES = MAX_MANIFEST_BYTES;
/**
 * Largest BEP 10 extended payload (after the id byte and the extension id):
 * one metadata piece and its bencoded header, with room to spare.
 */
export const MAX_BT_EXTENDED_BYTES = BT_METADATA_PIECE_BYTES + 1024;
/** Largest bitfield: one bit per piece, as many pieces as a manifest may have. */
export const MAX_BT_BITFIELD_BYTES = MAX_BITFIELD_BYTES;
/**
 * Most base-layer hashes one BEP 52 hash request may ask for (BEP 52: "SHOULD
 * NOT be greater than 512"; libtorrent asks for 512 at most).
 */
export const MAX_BT_HASHES_PER_REQUEST = 512;
/** Most hashes one `hashes` message may carry: the base layer plus one uncle per level. */
export const MAX_BT_HASHES_PER_MESSAGE = MAX_BT_HASHES_PER_REQUEST +
  MAX_MERKLE_LEVELS;
/** Bytes of a hash request (and hash reject, and a hashes header): root + 4 × u32. */
export const BT_HASH_REQUEST_BYTES = HASH_BYTES + 16;
/**
 * Largest body of a message whose id Shoal does not know. Such messages are
 * skipped (BEP 3 says to ignore them), so their size is capped tightly.
 */
export const MAX_BT_UNKNOWN_BYTES = 1024;

/** Message ids (BEP 3, BEP 5, BEP 6, BEP 10, BEP 52). */
export const BtMessageId = {
  CHOKE: 0,
  UNCHOKE: 1,
  INTERESTED: 2,
  NOT_INTERESTED: 3,
  HAVE: 4,
  BITFIELD: 5,
  REQUEST: 6,
  PIECE: 7,
  CANCEL: 8,
  PORT: 9,
  SUGGEST: 13,
  HAVE_ALL: 14,
  HAVE_NONE: 15,
  REJECT: 16,
  ALLOWED_FAST: 17,
  EXTENDED: 20,
  HASH_REQUEST: 21,
  HASHES: 22,
  HASH_REJECT: 23,
} as const;

/** The BEP 10 extended message id of the extension handshake. */
export const BT_EXTENDED_HANDSHAKE_ID = 0;
/** The name BEP 9 registers in the extension handshake's `m` dictionary. */
export const UT_METADATA = "ut_metadata";
