/**
 * Shoal's wire protocol: the message vocabulary (MessageType, CommandType,
 * ControlType, DataType), the binary codec (`createHeader`, `createMessage`,
 * `parseMessage`), TCP framing, manifests and file ids. Pure: no sockets,
 * timers or files. The format is specified in docs/PROTOCOL.md.
 *
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "connect", txid: 1 });
 * parseMessage(bytes).kind; // "connect"
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
export {
  CommandType,
  ControlType,
  DataType,
  ErrorCode,
  HeaderFlag,
  MessageType,
} from "./vocabulary.ts";
export {
  type FileAnnouncement,
  type FileQuery,
  type FileSummary,
  type ListedPeer,
  type Message,
  type MessageKind,
  type MessageOf,
  MIN_ID_PREFIX_DIGITS,
  type RequestQuery,
} from "./message_types.ts";
export { createHeader, type Header, kindInfo, parseHeader } from "./header.ts";
export { createMessage, parseBody, parseMessage } from "./messages.ts";
export {
  fileAnnouncementBytes,
  fileSummaryBytes,
  PEER_BITTORRENT,
  PEER_COMPLETE,
  peerListBaseBytes,
} from "./tracker_messages.ts";
export { createChunkDataPrefix } from "./peer_messages.ts";
export {
  ANNOUNCE_PEER_ID_AT,
  announcePort,
  cookieHigh,
  cookieLow,
  datagramTxid,
  type FastRequestKind,
  fastRequestKind,
  registeredFiles,
  REQUEST_FILE_ID_AT,
  requestWanted,
  writeAck,
  writeReplyCopy,
} from "./tracker_fast.ts";
export {
  peerListEntryBytes,
  type PeerListFields,
  PeerListPeers,
  writePeerList,
} from "./peer_list_writer.ts";
export {
  FrameDecoder,
  type FrameDecoderOptions,
  FrameDecoderStream,
} from "./frame_stream.ts";
export {
  chunkCountFor,
  chunkDigest,
  chunkHash,
  chunkLength,
  chunkMatches,
  chunkSizeFor,
  encodeManifest,
  fileIdOf,
  infoDictionary,
  type Manifest,
  ManifestBuilder,
  manifestBytesOf,
  META_VERSION,
  parseManifest,
} from "./manifest.ts";
export { sha256, sha256Into } from "./sha256.ts";
export { bytesToIp, ipToBytes, type PeerAddress } from "./address.ts";
export {
  BEP15_ANNOUNCE_BYTES,
  BEP15_ANNOUNCE_REPLY_BYTES,
  BEP15_CONNECT_BYTES,
  BEP15_CONNECTION_ID_MARK,
  BEP15_ERROR_REPLY_BYTES,
  BEP15_EVENTS,
  BEP15_INFOHASH_AT,
  BEP15_INFOHASH_BYTES,
  BEP15_MAX_REQUEST_BYTES,
  BEP15_MAX_SCRAPE_HASHES,
  BEP15_PEER_ID_AT,
  BEP15_PEER_ID_BYTES,
  BEP15_PROTOCOL_ID,
  BEP15_SCRAPE_ENTRY_BYTES,
  Bep15Action,
  type Bep15Announce,
  type Bep15AnnounceFields,
  bep15AnnounceReplyBytes,
  type Bep15Connect,
  bep15ConnectionHigh,
  bep15ConnectionLow,
  type Bep15Event,
  bep15EventCode,
  bep15NumWant,
  bep15Port,
  type Bep15Reply,
  type Bep15Request,
  type Bep15RequestKind,
  type Bep15Scrape,
  bep15ScrapeCount,
  type Bep15ScrapeEntry,
  bep15Seeding,
  bep15Txid,
  checkBep15Request,
  datagramDialect,
  encodeBep15Reply,
  encodeBep15Request,
  parseBep15Reply,
  parseBep15Request,
  writeBep15Announce,
  writeBep15Connect,
  writeBep15Error,
  writeBep15ScrapeEntry,
  writeBep15ScrapeHeader,
} from "./bep15.ts";
export { fileNameProblem, isSafeFileName } from "./file_name.ts";
export {
  decodeFileTree,
  encodeFileTree,
  fileTreeProblem,
  foldedName,
  type TreeFile,
} from "./file_tree.ts";
export {
  encodeFolderManifest,
  type FolderFile,
  folderInfoDictionary,
  folderLayout,
  type FolderManifest,
  isFolderManifest,
  parseFolderManifest,
} from "./folder_manifest.ts";
export {
  folderChunkLength,
  folderChunkMatches,
  folderFileAt,
} from "./folder_chunks.ts";
export { folderProblem } from "./manifest.ts";
export { bytesEqual, fromHex, toHex } from "./hex.ts";
export { concatBytes } from "./bytes.ts";
export { Bitfield } from "./bitfield.ts";
export {
  type BDict,
  BENCODE_MAX_DEPTH,
  BENCODE_MAX_ITEMS,
  type BencodeLimits,
  bkey,
  bkeyBytes,
  type BValue,
  type ByteSpan,
  decodeBencode,
  decodeBencodePrefix,
  dictGet,
  encodeBencode,
  findDictValueSpan,
} from "./bencode.ts";
export {
  blockHash,
  fileMerkle,
  merkleRoot,
  merkleRootInPlace,
  nodeHash,
  padHash,
  pieceHash,
  PieceHasher,
  pieceLeafCount,
  pieceRoot,
  piecesRootFromLayer,
  ZERO_HASH,
} from "./merkle.ts";
export {
  encodeTorrent,
  folderSummary,
  MAX_TORRENT_BYTES,
  MAX_TORRENT_TRACKERS,
  MAX_TRACKER_URL_BYTES,
  parseTorrent,
  readAnyManifest,
  type Torrent,
} from "./torrent.ts";
export {
  isMagnetLink,
  type MagnetLink,
  magnetLink,
  MAX_MAGNET_CHARS,
  parseMagnet,
} from "./magnet.ts";
export * from "./bt_wire/constants.ts";
export {
  type BtHandshake,
  type BtHandshakeFields,
  checkBtHandshakeStart,
  decodeBtHandshake,
  detectWireProtocol,
  encodeBtHandshake,
  WIRE_DETECT_BYTES,
  type WireProtocol,
} from "./bt_wire/handshake.ts";
export {
  BT_PIECE_PREFIX_BYTES,
  type BtBlockRange,
  btBodyLimits,
  type BtHashRequest,
  type BtMessage,
  type BtMessageKind,
  type BtMessageOf,
  checkBtBodyLength,
  decodeBtBody,
  encodeBtMessage,
  encodeBtRanges,
  writeBtPiecePrefix,
} from "./bt_wire/messages.ts";
export {
  type BtFrame,
  BtFrameDecoder,
  type BtFrameDecoderOptions,
} from "./bt_wire/frame_decoder.ts";
export {
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  type ExtendedHandshake,
  type MetadataMessage,
  metadataPieceCount,
} from "./bt_wire/extension.ts";
export {
  btClientName,
  clientFromPeerId,
  displayText,
  MAX_CLIENT_NAME_CHARS,
  UNKNOWN_BT_CLIENT,
} from "./bt_wire/client_name.ts";
export {
  decodePexMessage,
  encodePexMessage,
  MAX_BT_PEX_ADDED,
  PEX_FLAG_REACHABLE,
  PEX_FLAG_SEED,
  type PexMessage,
  type PexPeer,
  UT_PEX,
} from "./bt_wire/pex.ts";
export {
  answerHashRequest,
  blockHashesOf,
  FileMerkleTree,
  hashRequestPiece,
  hashRequestProblem,
  type MerkleShape,
  pieceLayerRequests,
  type TreeLayers,
  treeLayersOf,
  uncleCount,
  verifyHashes,
} from "./bt_wire/hash_proof.ts";
export {
  MAX_MSE_HANDSHAKE_BYTES,
  MAX_MSE_IA_BYTES,
  MAX_MSE_PAD_BYTES,
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_KEY_BYTES,
  MSE_PRIME,
  MSE_PRIVATE_KEY_BYTES,
  mseHash,
  msePublicKey,
  MseResponder,
  type MseResponderOptions,
  mseSecret,
  type MseStep,
  Rc4,
} from "./bt_wire/mse.ts";
