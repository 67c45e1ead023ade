import assert from "node:assert/strict";
import { PeerBook } from "../../../peer/download/peer_book.ts";

Deno.test("PeerBook keeps at most its bound, forgetting peers that failed and never helped first", () => {
  const book = new PeerBook(3);
  const peer = (port: number) => ({ host: "10.0.0.1", port });
  assert.equal(book.add([peer(1), peer(2), peer(3)]), 3);
  // Full, and nobody failed: a newcomer is dropped.
  assert.equal(book.add([peer(4)]), 0);
  assert.equal(book.size, 3);
  book.failed("10.0.0.1:1", 0);
  book.failed("10.0.0.1:2", 0);
  book.helped("10.0.0.1:2", 1);
  book.failed("10.0.0.1:3", 0);
  book.ban("10.0.0.1:3");
  // Port 1 failed and never helped: it makes room. Port 2 helped once, port
  // 3 is banned (forgetting it would let it be tried again): both stay.
  assert.equal(book.add([peer(4), peer(5)]), 1);
  assert.equal(book.get("10.0.0.1:1"), undefined);
  assert.ok(book.get("10.0.0.1:4"));
  assert.ok(book.get("10.0.0.1:3")?.banned);
  assert.equal(book.size, 3);
  assert.equal(book.add([peer(4)]), 0, "a known peer is not added twice");
});

Deno.test("PeerBook opens a peer the tracker flags as a BitTorrent client in BitTorrent at once", () => {
  const book = new PeerBook();
  book.add([
    { host: "127.0.0.1", port: 7000 },
    { host: "127.0.0.1", port: 6881, bittorrent: true },
  ]);
  assert.equal(book.protocolOf("127.0.0.1:7000"), "shoal");
  assert.equal(book.protocolOf("127.0.0.1:6881"), "bittorrent");
});
