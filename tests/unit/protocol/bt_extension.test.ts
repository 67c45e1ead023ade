import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeBencodePrefix,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  MAX_BT_METADATA_BYTES,
  metadataPieceCount,
  ProtocolError,
} from "@shoal/protocol";
import { metadataMessageArb } from "../../../bench/_bt_inputs.ts";

const text = (s: string) => new TextEncoder().encode(s);

function isProtocolError(code: string) {
  return (error: unknown) =>
    error instanceof ProtocolError && error.code === code;
}

Deno.test("decodeExtendedHandshake() reads what libtorrent 2.0 sends", () => {
  // Shaped like libtorrent's: keys sorted, extensions Shoal ignores, yourip.
  const bytes = text(
    "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei180e4:reqqi500e11:upload_onlyi1e1:v18:libtorrent/2.0.8.06:yourip4:\x7f\x00\x00\x01e",
  );
  const handshake = decodeExtendedHandshake(bytes);
  assert.equal(handshake.extensions.get("ut_metadata"), 2);
  assert.equal(handshake.extensions.get("ut_pex"), 1);
  assert.equal(handshake.client, "libtorrent/2.0.8.0");
  assert.equal(handshake.requestQueue, 500);
  assert.equal(handshake.metadataSize, 180);
  assert.equal(handshake.port, null);
});

Deno.test("decodeExtendedHandshake() takes a large metadata_size: it only says what the peer has", () => {
  // libtorrent seeding a folder of 10,000 small files announced 820,768
  // bytes; Shoal once dropped it for that (bench/small_files.ts).
  for (const size of [820_768, MAX_BT_METADATA_BYTES + 1, 2 ** 30]) {
    const bytes = text(`d1:md11:ut_metadatai2ee13:metadata_sizei${size}ee`);
    assert.equal(decodeExtendedHandshake(bytes).metadataSize, size);
  }
});

Deno.test("encodeExtendedHandshake() writes canonical bencode that decodes back", () => {
  const handshake = {
    extensions: new Map([["ut_metadata", 3]]),
    client: "Shoal 0.2",
    port: 6881,
    requestQueue: 250,
    metadataSize: 201,
  };
  const bytes = encodeExtendedHandshake(handshake);
  assert.equal(
    new TextDecoder().decode(bytes),
    "d1:md11:ut_metadatai3ee13:metadata_sizei201e1:pi6881e4:reqqi250e1:v9:Shoal 0.2e",
  );
  assert.deepStrictEqual(decodeExtendedHandshake(bytes), handshake);
});

Deno.test("decodeExtendedHandshake() refuses wrong types, bad bencode and huge metadata", () => {
  const cases: [string, string, string][] = [
    ["not a dictionary", "le", "bad_type"],
    ["m not a dictionary", "d1:mi1ee", "bad_type"],
    ["an extension id of 256", "d1:md11:ut_metadatai256eee", "bad_value"],
    ["a negative extension id", "d1:md11:ut_metadatai-1eee", "bad_value"],
    ["v an integer", "d1:vi1ee", "bad_value"],
    ["a port of 70000", "d1:pi70000ee", "bad_value"],
    ["metadata_size of 4 GiB", "d13:metadata_sizei4294967296ee", "bad_value"],
    ["truncated", "d1:md11:ut_metadatai3e", "too_short"],
    ["unsorted keys", "d1:v1:a1:md11:ut_metadatai3eee", "not_canonical"],
  ];
  for (const [name, input, code] of cases) {
    assert.throws(
      () => decodeExtendedHandshake(text(input)),
      isProtocolError(code),
      name,
    );
  }
});

Deno.test("decodeMetadataMessage() reads BEP 9 request, data and reject", () => {
  assert.deepStrictEqual(
    decodeMetadataMessage(text("d8:msg_typei0e5:piecei0ee")),
    { kind: "metadata_request", piece: 0 },
  );
  assert.deepStrictEqual(
    decodeMetadataMessage(text("d8:msg_typei2e5:piecei1ee")),
    { kind: "metadata_reject", piece: 1 },
  );
  const data = decodeMetadataMessage(
    text("d8:msg_typei1e5:piecei0e10:total_sizei5eeHELLO"),
  );
  assert.deepStrictEqual(data, {
    kind: "metadata_data",
    piece: 0,
    totalSize: 5,
    data: text("HELLO"),
  });
  assert.deepStrictEqual(
    decodeMetadataMessage(text("d8:msg_typei9e5:piecei0ee")),
    { kind: "metadata_other", msgType: 9, piece: 0 },
  );
});

Deno.test("decodeMetadataMessage() refuses a data piece of the wrong size and extra bytes", () => {
  const cases: [string, string, string][] = [
    [
      "data longer than total_size",
      "d8:msg_typei1e5:piecei0e10:total_sizei4eeHELLO",
      "bad_length",
    ],
    [
      "data shorter than total_size",
      "d8:msg_typei1e5:piecei0e10:total_sizei6eeHELLO",
      "bad_length",
    ],
    [
      "a piece past total_size",
      "d8:msg_typei1e5:piecei1e10:total_sizei5eeHELLO",
      "bad_length",
    ],
    ["data without total_size", "d8:msg_typei1e5:piecei0eeHELLO", "bad_value"],
    [
      "total_size above the cap",
      `d8:msg_typei1e5:piecei0e10:total_sizei${MAX_BT_METADATA_BYTES + 1}eeX`,
      "bad_value",
    ],
    ["bytes after a request", "d8:msg_typei0e5:piecei0eeX", "trailing_bytes"],
    ["no piece", "d8:msg_typei0ee", "bad_value"],
    ["a negative piece", "d8:msg_typei0e5:piecei-1ee", "bad_value"],
    ["not bencode", "hello", "bad_type"],
  ];
  for (const [name, input, code] of cases) {
    assert.throws(
      () => decodeMetadataMessage(text(input)),
      isProtocolError(code),
      name,
    );
  }
});

Deno.test("a full second metadata piece is 16 KiB and the last one the rest", () => {
  const total = 16384 + 100;
  assert.equal(metadataPieceCount(total), 2);
  const first = encodeMetadataMessage({
    kind: "metadata_data",
    piece: 0,
    totalSize: total,
    data: new Uint8Array(16384),
  });
  const last = encodeMetadataMessage({
    kind: "metadata_data",
    piece: 1,
    totalSize: total,
    data: new Uint8Array(100),
  });
  assert.equal(decodeMetadataMessage(first).kind, "metadata_data");
  assert.equal(decodeMetadataMessage(last).kind, "metadata_data");
});

Deno.test("encodeMetadataMessage() and decodeMetadataMessage() round-trip (fast-check)", () => {
  fc.assert(
    fc.property(metadataMessageArb, (message) => {
      assert.deepStrictEqual(
        decodeMetadataMessage(encodeMetadataMessage(message)),
        message,
      );
    }),
    { seed: 0x4254_0101, numRuns: 300 },
  );
});

Deno.test("decodeBencodePrefix() says where the value ends", () => {
  const { value, end } = decodeBencodePrefix(text("d1:ai1ee...rest"));
  assert.ok(value instanceof Map);
  assert.equal(end, 8);
  assert.throws(() => decodeBencodePrefix(text("d1:ai1e")), ProtocolError);
});
