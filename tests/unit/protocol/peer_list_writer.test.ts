/**
 * The tracker's allocation-free PEER_LIST writer says exactly what
 * createMessage says: the golden fixture, and any valid PEER_LIST.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  fromHex,
  ipToBytes,
  type ListedPeer,
  MAX_DATAGRAM_BYTES,
  type MessageOf,
  parseMessage,
  PeerListPeers,
  toHex,
  writePeerList,
} from "@shoal/protocol";
import { messageArb } from "../../../bench/_protocol_inputs.ts";

const PROPERTY_OPTIONS = { seed: 0x5348_0015, numRuns: 300 };

function readHexFixture(name: string): Uint8Array {
  const text = Deno.readTextFileSync(
    new URL(`../../fixtures/${name}`, import.meta.url),
  );
  return fromHex(text.replace(/#.*$/gm, "").replace(/\s+/g, ""))!;
}

/** The peers of a message, as the writer takes them. */
function peersOf(listed: readonly ListedPeer[]): PeerListPeers {
  const peers = new PeerListPeers(listed.length);
  listed.forEach((peer, i) => {
    const ip = ipToBytes(peer.host)!;
    peers.family[i] = ip.byteLength === 4 ? 4 : 6;
    peers.addresses.set(ip, i * 16);
    peers.ports[i] = peer.port;
    peers.complete[i] = peer.complete ? 1 : 0;
  });
  peers.count = listed.length;
  return peers;
}

function written(message: MessageOf<"peer_list">): Uint8Array {
  // A dirty buffer: the writer must set every byte it returns.
  const out = new Uint8Array(MAX_DATAGRAM_BYTES).fill(0xee);
  const length = writePeerList(out, {
    ...message,
    peers: peersOf(message.peers),
  });
  return out.subarray(0, length);
}

Deno.test("writePeerList() writes the golden bytes of peer_list.hex", () => {
  const golden = readHexFixture("peer_list.hex");
  const message = parseMessage(golden);
  assert.equal(message.kind, "peer_list");
  if (message.kind !== "peer_list") return;
  assert.equal(toHex(written(message)), toHex(golden));
});

Deno.test("writePeerList() writes what createMessage() writes for any PEER_LIST", () => {
  fc.assert(
    fc.property(messageArb("peer_list"), (message) => {
      if (message.kind !== "peer_list") return;
      const bytes = written(message);
      assert.equal(toHex(bytes), toHex(createMessage(message)));
      assert.deepStrictEqual(parseMessage(bytes), message);
    }),
    PROPERTY_OPTIONS,
  );
});

Deno.test("writePeerList() refuses a reply that does not fit the buffer", () => {
  const message = parseMessage(readHexFixture("peer_list.hex"));
  if (message.kind !== "peer_list") throw new Error("not a peer list");
  const peers = peersOf(message.peers);
  assert.throws(
    () => writePeerList(new Uint8Array(60), { ...message, peers }),
    RangeError,
  );
  assert.throws(
    () =>
      writePeerList(new Uint8Array(MAX_DATAGRAM_BYTES), {
        ...message,
        fileId: new Uint8Array(31),
        peers,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      writePeerList(new Uint8Array(MAX_DATAGRAM_BYTES), {
        ...message,
        name: "é".repeat(128),
        peers,
      }),
    RangeError,
  );
});
