/**
 * Protocol numbers, sizes and limits. Every limit a decoder enforces lives
 * here, with its unit in its name. See docs/PROTOCOL.md, "Limits".
 *
 * @module
 */

/** "SH": the first two bytes of every message. */
export const MAGIC = 0x5348;
/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 2;
/** Bytes in the common header (docs/PROTOCOL.md, "Header"). */
export const HEADER_BYTES = 14;

/** Largest datagram a tracker or client sends or accepts (fits an IPv6 path MTU of 1500). */
export const MAX_DATAGRAM_BYTES = 1452;
/** Zero padding a CONNECT carries, so the COOKIE answer is never larger than the request. */
export const CONNECT_PADDING_BYTES = 16;

/** Length of a file id (SHA-256 of the manifest). */
export const FILE_ID_BYTES = 32;
/** Length of a random peer id. */
export const PEER_ID_BYTES = 16;
/** Length of a SHA-256 digest. */
export const HASH_BYTES = 32;
/** Length of a tracker cookie. */
export const COOKIE_BYTES = 8;

/** Default chunk size: 512 KiB. */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;
/** Smallest chunk size a manifest may declare. */
export const MIN_CHUNK_BYTES = 16 * 1024;
/** Largest chunk size a manifest may declare. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Most chunks one file may have (8 MiB of hashes). */
export const MAX_CHUNK_COUNT = 262_144;
/** Largest file size (2^50 bytes, well inside a safe integer). */
export const MAX_FILE_BYTES = 2 ** 50;
/** BEP 52 Merkle leaf size: each leaf is the SHA-256 of one 16 KiB block. */
export const BLOCK_BYTES = 16 * 1024;
/** Most levels of a Merkle tree: 2^36 leaves of 16 KiB cover MAX_FILE_BYTES. */
export const MAX_MERKLE_LEVELS = 36;
/** Longest file name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Most path components of a file in a folder (BEP 52 file tree depth). */
export const MAX_TREE_DEPTH = 32;
/** Most files in one folder torrent. */
export const MAX_TREE_FILES = 100_000;
/** Longest path of a file in a folder, its components joined by "/", in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;
/** Longest error text, in UTF-8 bytes. */
export const MAX_ERROR_TEXT_BYTES = 200;
/**
 * Largest manifest (a bencoded info dictionary and piece layer): every chunk
 * hash, plus 16 KiB for keys, the name twice and what other BitTorrent tools
 * add to an info dictionary.
 */
export const MAX_MANIFEST_BYTES = 16 * 1024 + HASH_BYTES * MAX_CHUNK_COUNT;
/** Largest bitfield: one bit per chunk. */
export const MAX_BITFIELD_BYTES = MAX_CHUNK_COUNT / 8;
/** Largest TCP frame body (a manifest; a chunk is smaller). */
export const MAX_FRAME_BODY_BYTES = MAX_MANIFEST_BYTES;
/** Most peers one PEER_LIST may carry. */
export const MAX_PEERS_PER_LIST = 200;
/** Default number of peers a client asks for. */
export const DEFAULT_WANTED_PEERS = 50;
/**
 * Most peers in each list of one PEX message (added, dropped): BEP 11's
 * limit of 50 per message, which Shoal's own PEX keeps too.
 */
export const MAX_PEX_PEERS = 50;
