import assert from "node:assert/strict";
import { encodeBtHandshake } from "@shoal/protocol";
import {
  fallbackProtocol,
  FirstBytes,
} from "../../../peer/download/protocol_fallback.ts";
import { PeerBook } from "../../../peer/download/peer_book.ts";

const BT_HANDSHAKE = encodeBtHandshake({
  infoHash: new Uint8Array(20),
  peerId: new Uint8Array(20),
});

function seen(...chunks: Uint8Array[]): FirstBytes {
  const first = new FirstBytes();
  for (const chunk of chunks) first.add(chunk);
  return first;
}

Deno.test("fallbackProtocol() asks a peer that said nothing to Shoal's handshake again in BitTorrent", () => {
  const none = seen();
  assert.equal(
    fallbackProtocol({
      tried: "shoal",
      bytesReceived: none.count,
      prefix: none.prefix,
    }),
    "bittorrent",
  );
});

Deno.test("fallbackProtocol() asks a peer that answered with a BitTorrent handshake again in BitTorrent, however the bytes came", () => {
  const split = seen(BT_HANDSHAKE.subarray(0, 3), BT_HANDSHAKE.subarray(3));
  assert.equal(split.count, 68);
  assert.equal(
    fallbackProtocol({
      tried: "shoal",
      bytesReceived: split.count,
      prefix: split.prefix,
    }),
    "bittorrent",
  );
});

Deno.test("fallbackProtocol() keeps Shoal for a peer that sent Shoal or other bytes, and never falls back twice", () => {
  const shoal = seen(new Uint8Array([0x53, 0x48, 2, 0]));
  assert.equal(
    fallbackProtocol({
      tried: "shoal",
      bytesReceived: shoal.count,
      prefix: shoal.prefix,
    }),
    null,
  );
  const junk = seen(new Uint8Array([1, 2, 3]));
  assert.equal(
    fallbackProtocol({
      tried: "shoal",
      bytesReceived: junk.count,
      prefix: junk.prefix,
    }),
    null,
  );
  // Half a BitTorrent handshake is not one yet.
  const half = seen(BT_HANDSHAKE.subarray(0, 10));
  assert.equal(
    fallbackProtocol({
      tried: "shoal",
      bytesReceived: half.count,
      prefix: half.prefix,
    }),
    null,
  );
  assert.equal(
    fallbackProtocol({
      tried: "bittorrent",
      bytesReceived: 0,
      prefix: new Uint8Array(),
    }),
    null,
  );
});

Deno.test("FirstBytes keeps 20 bytes and counts them all", () => {
  const first = seen(new Uint8Array(15).fill(1), new Uint8Array(15).fill(2));
  assert.equal(first.count, 30);
  assert.deepEqual(
    first.prefix,
    new Uint8Array([...Array(15).fill(1), ...Array(5).fill(2)]),
  );
});

Deno.test("PeerBook remembers a BitTorrent peer: its next connections open in BitTorrent, and it is not counted a failure", () => {
  const book = new PeerBook();
  book.add([{ host: "127.0.0.1", port: 6881 }, { host: "::1", port: 7000 }]);
  assert.equal(book.protocolOf("127.0.0.1:6881"), "shoal");
  book.speaksBitTorrent("127.0.0.1:6881");
  assert.equal(book.protocolOf("127.0.0.1:6881"), "bittorrent");
  assert.equal(book.protocolOf("[::1]:7000"), "shoal");
  assert.equal(book.get("127.0.0.1:6881")!.failures, 0);
  assert.deepEqual(book.order(0), ["127.0.0.1:6881", "[::1]:7000"]);
  // Listed again by the tracker: it keeps what was learned.
  book.add([{ host: "127.0.0.1", port: 6881 }]);
  assert.equal(book.protocolOf("127.0.0.1:6881"), "bittorrent");
  assert.equal(book.protocolOf("10.0.0.1:1"), "shoal");
});
