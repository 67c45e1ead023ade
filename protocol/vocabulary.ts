/**
 * The Shoal message vocabulary: the numbers a header carries
 * (`MessageType`, and the `CommandType`, `DataType` or `ControlType` code
 * within it) and the `ErrorCode` an ERROR carries. These are the user's
 * names; docs/PROTOCOL.md, "Header" and "Messages", gives their meaning.
 *
 * @module
 */

/** The three kinds of message: requests, notifications and answers. */
export const MessageType = {
  /** A request that expects one answer with the same transaction id. */
  COMMAND: 1,
  /** A notification between peers that expects no answer. */
  DATA: 2,
  /** An answer to a COMMAND. */
  CONTROL: 3,
} as const;
/** One of {@linkcode MessageType}'s values. */
export type MessageType = typeof MessageType[keyof typeof MessageType];

/** Requests. REGISTER..BECOME_SEEDER are the user's; the rest extend them. */
export const CommandType = {
  /** Peer to tracker: I hold these files and listen on this TCP port. */
  REGISTER: 1,
  /** Peer to tracker: I am still here. */
  KEEPALIVE: 2,
  /** Peer to tracker: who holds this file (by id or by name)? */
  REQUEST: 3,
  /** Peer to peer: send me this chunk. */
  GET: 4,
  /** Peer to tracker: how many chunks does this file have? */
  GET_COUNT: 5,
  /** Peer to tracker: I now hold all of this file. */
  BECOME_SEEDER: 6,
  /** Peer to tracker: give me a cookie for my address (anti-spoofing). */
  CONNECT: 7,
  /** Peer to tracker: forget me now. */
  LEAVE: 8,
  /** Peer to peer, first frame on a connection: I want this file. */
  HANDSHAKE: 9,
  /** Peer to peer: send me the manifest of the file of this connection. */
  GET_MANIFEST: 10,
  /** Peer to tracker: list the files whose name contains this text. */
  LIST: 11,
} as const;
/** One of {@linkcode CommandType}'s values. */
export type CommandType = typeof CommandType[keyof typeof CommandType];

/** Answers. ACK..CHUNK_COUNT are the user's; the rest extend them. */
export const ControlType = {
  /** The command succeeded. */
  ACK: 1,
  /** The command failed; carries an {@linkcode ErrorCode} and a text. */
  ERROR: 2,
  /** Answer to REQUEST: the file and who holds it. */
  PEER_LIST: 3,
  /** Answer to GET: one chunk's bytes. */
  CHUNK_DATA: 4,
  /** Answer to GET_COUNT. */
  CHUNK_COUNT: 5,
  /** Answer to CONNECT: the cookie to echo in later requests. */
  COOKIE: 6,
  /** Answer to REQUEST by a name that several files share. */
  CANDIDATES: 7,
  /** Answer to GET_MANIFEST: the canonical manifest bytes. */
  MANIFEST: 8,
  /** Answer to LIST. */
  FILE_LIST: 9,
} as const;
/** One of {@linkcode ControlType}'s values. */
export type ControlType = typeof ControlType[keyof typeof ControlType];

/** Notifications between peers (no answer). */
export const DataType = {
  /** The chunks the sender holds, one bit each, most significant bit first. */
  BITFIELD: 1,
  /** The sender now holds one more chunk. */
  HAVE: 2,
  /** Forget an earlier GET for this chunk. */
  CANCEL: 3,
  /** The sender will not answer GETs for now. */
  CHOKE: 4,
  /** The sender will answer GETs again. */
  UNCHOKE: 5,
  /** The sender wants chunks the receiver has. */
  INTERESTED: 6,
  /** The sender wants nothing the receiver has. */
  NOT_INTERESTED: 7,
  /** Peer exchange: peers the sender is connected to for this file, or no longer. */
  PEX: 8,
} as const;
/** One of {@linkcode DataType}'s values. */
export type DataType = typeof DataType[keyof typeof DataType];

/**
 * Bits of the header's flags byte. A receiver that does not know a bit
 * ignores it, so a bit may say "I understand X" to new peers only.
 */
export const HeaderFlag = {
  /**
   * On HANDSHAKE and on the ACK answering it: the sender understands PEX
   * (DATA 8), so it may be sent on this connection.
   */
  PEX: 0x01,
} as const;

/** Why an ERROR was sent. */
export const ErrorCode = {
  /** KEEPALIVE or BECOME_SEEDER from a peer the tracker does not know: REGISTER again. */
  UNKNOWN_PEER: 1,
  /** No file has this id or name. */
  UNKNOWN_FILE: 2,
  /** The cookie is missing, wrong or expired: CONNECT again. */
  BAD_COOKIE: 3,
  /** The peer does not hold that chunk (or its copy no longer matches). */
  NOT_AVAILABLE: 4,
  /** The request made no sense in this state. */
  BAD_REQUEST: 5,
  /** Too many requests from this address: slow down. */
  RATE_LIMITED: 6,
  /** The receiver is at a limit (connections, files, peers). */
  BUSY: 7,
} as const;
/** One of {@linkcode ErrorCode}'s values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];
