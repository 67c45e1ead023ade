import assert from "node:assert/strict";
import type { Manifest } from "@shoal/protocol";
import { blockRequestProblem } from "../../../peer/bt/request_check.ts";
import { BT_PEER_ID_PREFIX, makeBtPeerId } from "../../../peer/bt/peer_id.ts";

// 2 pieces of 64 KiB and a last one of 20,000 bytes (two blocks, the second
// 3,616 bytes long).
const MANIFEST: Manifest = {
  name: "f",
  size: 2 * 65536 + 20_000,
  chunkSize: 65536,
  chunkCount: 3,
  piecesRoot: new Uint8Array(32),
  chunkHashes: new Uint8Array(3 * 32),
};

Deno.test("blockRequestProblem() accepts blocks inside a piece, and the last block in full", () => {
  for (
    const range of [
      { index: 0, begin: 0, length: 16384 },
      { index: 1, begin: 49152, length: 16384 },
      { index: 2, begin: 0, length: 16384 },
      // libtorrent asks for a file's last block in full: zeros follow the end.
      { index: 2, begin: 16384, length: 16384 },
      { index: 2, begin: 16384, length: 3616 },
    ]
  ) {
    assert.equal(
      blockRequestProblem(MANIFEST, range),
      null,
      JSON.stringify(range),
    );
  }
});

Deno.test("blockRequestProblem() refuses a piece past the file and bytes past a piece", () => {
  for (
    const range of [
      { index: 3, begin: 0, length: 16384 },
      { index: 0xffff_ffff, begin: 0, length: 1 },
      { index: 0, begin: 65536, length: 1 },
      { index: 0, begin: 49153, length: 16384 },
      { index: 2, begin: 32768, length: 1 },
      { index: 1, begin: 0xffff_ffff, length: 16384 },
    ]
  ) {
    assert.notEqual(
      blockRequestProblem(MANIFEST, range),
      null,
      JSON.stringify(range),
    );
  }
});

Deno.test("makeBtPeerId() gives 20 bytes: the Shoal prefix and random letters", () => {
  const a = makeBtPeerId();
  const b = makeBtPeerId();
  assert.equal(a.byteLength, 20);
  const text = new TextDecoder().decode(a);
  assert.ok(text.startsWith(BT_PEER_ID_PREFIX), text);
  assert.match(text.slice(8), /^[0-9A-Za-z]{12}$/);
  assert.notDeepEqual(a, b);
});
