/**
 * The Shoal binary codec: `createMessage` and `parseMessage` (the user's
 * names) and `parseBody`, which put a header (header.ts) in front of a body
 * and send each body to its family's codec: the tracker's
 * (tracker_messages.ts) or the peers' (peer_messages.ts). The vocabulary
 * is in vocabulary.ts, the message types in message_types.ts.
 *
 * Every message, a UDP datagram or a TCP frame, is a 14-byte header followed
 * by a body whose length the header states and whose limits depend on the
 * message type (docs/PROTOCOL.md, "Header" and "Messages").
 *
 * @module
 */
import { HEADER_BYTES } from "./constants.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { ProtocolError } from "./errors.ts";
import { createHeader, type Header, parseHeader } from "./header.ts";
import type { Message, PeerMessage } from "./message_types.ts";
import {
  isPeerKind,
  peerBodySize,
  readPeerBody,
  writePeerBody,
} from "./peer_messages.ts";
import {
  readTrackerBody,
  trackerBodySize,
  writeTrackerBody,
} from "./tracker_messages.ts";
import { HeaderFlag } from "./vocabulary.ts";

function isPeerMessage(message: Message): message is PeerMessage {
  return isPeerKind(message.kind);
}

/**
 * Encodes a message: header and body in one buffer.
 *
 * @param message the message to encode
 * @returns the bytes to send (one datagram, or one TCP frame)
 * @throws {TypeError} when a field has the wrong shape (a bad name, a short id)
 * @throws {RangeError} when the body is outside the message's limits
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "get", txid: 1, index: 3 });
 * parseMessage(bytes); // { kind: "get", txid: 1, index: 3 }
 * ```
 */
export function createMessage(message: Message): Uint8Array {
  const peer = isPeerMessage(message);
  const size = peer ? peerBodySize(message) : trackerBodySize(message);
  const pex = (message.kind === "handshake" || message.kind === "ack") &&
    message.pex === true;
  const header = createHeader(message.kind, {
    txid: message.txid,
    bodyLength: size,
    flags: pex ? HeaderFlag.PEX : 0,
  });
  const writer = new ByteWriter(HEADER_BYTES + size);
  writer.bytes(header);
  if (peer) writePeerBody(writer, message);
  else writeTrackerBody(writer, message);
  return writer.finish();
}

/**
 * Decodes one whole message (a datagram, or a header and its body).
 * Total: any input gives a typed message or a {@linkcode ProtocolError}.
 * Bulk fields (chunk data, manifest, bitfield) are views into `bytes`.
 *
 * @param bytes untrusted bytes
 * @returns the message
 * @throws {ProtocolError} when the bytes are not exactly one valid message
 * @example
 * ```ts
 * import { createMessage, parseMessage } from "@shoal/protocol";
 * parseMessage(createMessage({ kind: "connect", txid: 9 })).kind; // "connect"
 * ```
 */
export function parseMessage(bytes: Uint8Array): Message {
  const header = parseHeader(bytes);
  if (bytes.byteLength !== HEADER_BYTES + header.bodyLength) {
    throw new ProtocolError(
      bytes.byteLength < HEADER_BYTES + header.bodyLength
        ? "too_short"
        : "trailing_bytes",
      `Cannot decode ${header.kind}: ${
        bytes.byteLength - HEADER_BYTES
      } body bytes, header says ${header.bodyLength}`,
      HEADER_BYTES,
    );
  }
  return parseBody(header, bytes.subarray(HEADER_BYTES));
}

/**
 * Decodes a body whose header was already checked with {@linkcode parseHeader}.
 *
 * @param header the checked header
 * @param body exactly `header.bodyLength` bytes
 * @returns the message
 * @throws {ProtocolError} when the body is not valid for its kind
 * @example
 * ```ts
 * import { createMessage, parseBody, parseHeader, HEADER_BYTES } from "@shoal/protocol";
 * const bytes = createMessage({ kind: "have", txid: 0, index: 2 });
 * parseBody(parseHeader(bytes), bytes.subarray(HEADER_BYTES)); // { kind: "have", ... }
 * ```
 */
export function parseBody(header: Header, body: Uint8Array): Message {
  if (body.byteLength !== header.bodyLength) {
    throw new ProtocolError(
      "bad_length",
      `Cannot decode ${header.kind}: body has ${body.byteLength} bytes, header says ${header.bodyLength}`,
    );
  }
  const reader = new ByteReader(body);
  const kind = header.kind;
  const message = isPeerKind(kind)
    ? readPeerBody(reader, kind, header.txid)
    : readTrackerBody(reader, kind, header.txid);
  reader.end(kind);
  if (
    (message.kind === "handshake" || message.kind === "ack") &&
    (header.flags & HeaderFlag.PEX) !== 0
  ) message.pex = true;
  return message;
}
