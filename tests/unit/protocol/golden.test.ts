import assert from "node:assert/strict";
import * as p from "@shoal/protocol";

// Golden bytes: if one of these fails, the wire format changed. Update
// docs/PROTOCOL.md and bump the version instead of editing the fixture.

const FIXTURES = new URL("../../fixtures/", import.meta.url);

/** Reads a fixture: hex digits, with `#` comments and whitespace ignored. */
function readHexFixture(name: string): Uint8Array {
  const text = Deno.readTextFileSync(new URL(name, FIXTURES));
  const hex = text.replace(/#.*$/gm, "").replace(/\s+/g, "");
  const bytes = p.fromHex(hex);
  if (!bytes) throw new SyntaxError(`Cannot read fixture "${name}": not hex`);
  return bytes;
}

function sequence(length: number, start: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

const FILE_ID = sequence(32, 0x00);
const PEER_ID = sequence(16, 0xa0);

const GOLDEN: [string, p.Message][] = [
  ["connect.hex", { kind: "connect", txid: 0x01020304 }],
  ["cookie.hex", {
    kind: "cookie",
    txid: 0x01020304,
    cookie: 0x1122334455667788n,
  }],
  ["get.hex", { kind: "get", txid: 7, index: 3 }],
  ["handshake.hex", {
    kind: "handshake",
    txid: 1,
    fileId: FILE_ID,
    peerId: PEER_ID,
    port: 6881,
  }],
  ["error.hex", { kind: "error", txid: 9, code: 4, text: "no" }],
  ["peer_list.hex", {
    kind: "peer_list",
    txid: 2,
    fileId: FILE_ID,
    name: "a.txt",
    size: 5,
    chunkCount: 1,
    peers: [
      { host: "127.0.0.1", port: 6881, complete: true },
      { host: "::1", port: 6882, complete: false },
    ],
  }],
  ["register.hex", {
    kind: "register",
    txid: 3,
    cookie: 0x1122334455667788n,
    peerId: PEER_ID,
    port: 6881,
    files: [{
      id: FILE_ID,
      name: "a.txt",
      size: 5,
      chunkCount: 1,
      complete: true,
    }],
  }],
  ["keepalive.hex", {
    kind: "keepalive",
    txid: 4,
    cookie: 0x1122334455667788n,
    peerId: PEER_ID,
    port: 6881,
  }],
  ["request_by_id.hex", {
    kind: "request",
    txid: 5,
    cookie: 0x1122334455667788n,
    wanted: 30,
    query: { id: FILE_ID },
  }],
  ["ack.hex", { kind: "ack", txid: 4, intervalSeconds: 20 }],
  ["have.hex", { kind: "have", txid: 0, index: 258 }],
  ["choke.hex", { kind: "choke", txid: 0 }],
  ["pex.hex", {
    kind: "pex",
    txid: 0,
    added: [
      { host: "127.0.0.1", port: 7000, complete: true },
      { host: "::1", port: 7001, complete: false, bittorrent: true },
    ],
    dropped: [{ host: "10.0.0.2", port: 6881, complete: false }],
  }],
  ["handshake_pex.hex", {
    kind: "handshake",
    txid: 1,
    fileId: FILE_ID,
    peerId: PEER_ID,
    port: 6881,
    pex: true,
  }],
];

Deno.test("encodePexMessage() writes BEP 11's golden ut_pex dictionary", () => {
  const bytes = p.encodePexMessage({
    added: [
      { host: "10.0.0.1", port: 6881, flags: p.PEX_FLAG_SEED },
      { host: "::1", port: 7001, flags: 0 },
    ],
    dropped: [{ host: "1.2.3.4", port: 5, flags: 0 }],
  });
  const golden = "d5:added6:\x0a\x00\x00\x01\x1a\xe1" +
    "7:added.f1:\x02" +
    "6:added618:" + "\x00".repeat(15) + "\x01\x1b\x59" +
    "8:added6.f1:\x00" +
    "7:dropped6:\x01\x02\x03\x04\x00\x05" +
    "8:dropped60:e";
  assert.deepStrictEqual(
    bytes,
    Uint8Array.from(golden, (c) => c.charCodeAt(0)),
  );
  assert.deepStrictEqual(p.decodePexMessage(bytes), {
    added: [
      { host: "10.0.0.1", port: 6881, flags: 2 },
      { host: "::1", port: 7001, flags: 0 },
    ],
    dropped: [{ host: "1.2.3.4", port: 5, flags: 0 }],
  });
});

for (const [fixture, message] of GOLDEN) {
  Deno.test(`createMessage() writes the golden bytes of ${fixture}`, () => {
    const golden = readHexFixture(fixture);
    assert.equal(p.toHex(p.createMessage(message)), p.toHex(golden));
    assert.deepStrictEqual(p.parseMessage(golden), message);
  });
}

Deno.test("the tracker's in-place readers read the golden REGISTER, KEEPALIVE and REQUEST", () => {
  for (const fixture of ["register.hex", "keepalive.hex"]) {
    const golden = readHexFixture(fixture);
    assert.equal(p.cookieHigh(golden), 0x11223344);
    assert.equal(p.cookieLow(golden), 0x55667788);
    assert.equal(p.announcePort(golden), 6881);
    assert.deepStrictEqual(
      golden.subarray(
        p.ANNOUNCE_PEER_ID_AT,
        p.ANNOUNCE_PEER_ID_AT + p.PEER_ID_BYTES,
      ),
      PEER_ID,
    );
  }
  const register = readHexFixture("register.hex");
  assert.equal(p.fastRequestKind(register), "register");
  assert.equal(p.datagramTxid(register), 3);
  assert.deepStrictEqual(p.registeredFiles(register), [{
    id: FILE_ID,
    name: "a.txt",
    size: 5,
    chunkCount: 1,
    complete: true,
  }]);
  const keepalive = readHexFixture("keepalive.hex");
  assert.equal(p.fastRequestKind(keepalive), "keepalive");
  assert.equal(p.datagramTxid(keepalive), 4);
  const request = readHexFixture("request_by_id.hex");
  assert.equal(p.fastRequestKind(request), "request");
  assert.equal(p.datagramTxid(request), 5);
  assert.equal(p.cookieHigh(request), 0x11223344);
  assert.equal(p.cookieLow(request), 0x55667788);
  assert.equal(p.requestWanted(request), 30);
  assert.deepStrictEqual(
    request.subarray(p.REQUEST_FILE_ID_AT, p.REQUEST_FILE_ID_AT + 32),
    FILE_ID,
  );
});

Deno.test("writeAck() writes the golden bytes of ack.hex", () => {
  const out = new Uint8Array(64).fill(0xee);
  const length = p.writeAck(out, 4, 20);
  assert.equal(
    p.toHex(out.subarray(0, length)),
    p.toHex(readHexFixture("ack.hex")),
  );
});

Deno.test("encodeManifest() writes the golden bytes of manifest_hello.hex", () => {
  const golden = readHexFixture("manifest_hello.hex");
  const builder = new p.ManifestBuilder(16 * 1024);
  builder.update(new TextEncoder().encode("hello"));
  const built = builder.finish("a.txt");
  assert.equal(p.toHex(built.bytes), p.toHex(golden));
  assert.equal(
    p.toHex(p.encodeManifest(p.parseManifest(golden))),
    p.toHex(golden),
  );
  assert.equal(
    p.toHex(p.fileIdOf(golden)),
    "79a621240f9981eadc9dacd471f850583459611071d3a4f498bb5a1fded5009f",
  );
  assert.deepStrictEqual(built.id, p.fileIdOf(golden));
});

Deno.test("docs/PROTOCOL.md shows the golden CONNECT, COOKIE, PEX and PEX-flagged HANDSHAKE bytes", () => {
  // The worked example in the spec must stay in step with the fixtures.
  const doc = Deno.readTextFileSync(
    new URL("../../../docs/PROTOCOL.md", import.meta.url),
  ).replace(/\s+/g, "").toLowerCase();
  for (
    const fixture of [
      "connect.hex",
      "cookie.hex",
      "pex.hex",
      "handshake_pex.hex",
    ]
  ) {
    assert.ok(
      doc.includes(p.toHex(readHexFixture(fixture))),
      `docs/PROTOCOL.md does not show ${fixture}`,
    );
  }
});
