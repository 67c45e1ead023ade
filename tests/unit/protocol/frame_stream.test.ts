import assert from "node:assert/strict";
import {
  createChunkDataPrefix,
  createMessage,
  FrameDecoder,
  FrameDecoderStream,
  HEADER_BYTES,
  MAX_FRAME_BODY_BYTES,
  type Message,
  ProtocolError,
} from "@shoal/protocol";
import { concatBytes as concat } from "../../../bench/_bytes.ts";

function decodeChunks(chunks: Uint8Array[], decoder = new FrameDecoder()) {
  const out: Message[] = [];
  for (const chunk of chunks) decoder.push(chunk, (m) => out.push(m));
  decoder.finish();
  return out;
}

async function streamChunks(
  chunks: Uint8Array[],
  stream = new FrameDecoderStream(),
): Promise<Message[]> {
  const out: Message[] = [];
  const source = ReadableStream.from(chunks);
  for await (const message of source.pipeThrough(stream)) out.push(message);
  return out;
}

function isProtocolError(code: string) {
  return (error: unknown) =>
    error instanceof ProtocolError && error.code === code;
}

const HAVE = { kind: "have", txid: 0, index: 7 } as const;
const CHOKE = { kind: "choke", txid: 0 } as const;
const GET = { kind: "get", txid: 9, index: 1 } as const;
const CHUNK = {
  kind: "chunk_data",
  txid: 9,
  index: 1,
  data: Uint8Array.from({ length: 40 }, (_, i) => i),
} as const;
const TWO = concat(createMessage(HAVE), createMessage(CHUNK));

// Chunk-boundary table in the manner of std's delimiter_stream tests: each
// row splits the same two frames (HAVE: 18 bytes, CHUNK_DATA: 58 bytes) at
// different places.
const BOUNDARY_CASES: [string, number[]][] = [
  ["both frames in one chunk", []],
  ["split inside the first header", [5]],
  ["split right after the first header", [HEADER_BYTES]],
  ["split inside the first body", [16]],
  ["split exactly between the frames", [18]],
  ["split one byte into the second header", [19]],
  ["split inside the second header's length field", [18 + 12]],
  ["split right after the second header", [18 + HEADER_BYTES]],
  ["split inside the second body, twice", [40, 60]],
  ["split one byte before the end", [TWO.byteLength - 1]],
  ["a header split over three chunks", [2, 9]],
];

for (const [name, cuts] of BOUNDARY_CASES) {
  Deno.test(`FrameDecoder decodes two frames: ${name}`, async () => {
    const bounds = [0, ...cuts, TWO.byteLength];
    const chunks = bounds.slice(1).map((end, i) =>
      TWO.subarray(bounds[i], end)
    );
    assert.deepStrictEqual(decodeChunks(chunks), [HAVE, CHUNK]);
    assert.deepStrictEqual(await streamChunks(chunks), [HAVE, CHUNK]);
  });
}

Deno.test("FrameDecoder decodes frames split at every byte boundary", () => {
  const frames = [HAVE, CHOKE, GET, CHUNK, CHOKE];
  const bytes = concat(...frames.map(createMessage));
  for (let cut = 0; cut <= bytes.byteLength; cut++) {
    assert.deepStrictEqual(
      decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)]),
      frames,
      `cut at ${cut}`,
    );
  }
  for (let first = 0; first <= bytes.byteLength; first += 3) {
    for (let second = first; second <= bytes.byteLength; second += 5) {
      assert.deepStrictEqual(
        decodeChunks([
          bytes.subarray(0, first),
          bytes.subarray(first, second),
          bytes.subarray(second),
        ]),
        frames,
      );
    }
  }
});

Deno.test("FrameDecoder decodes a stream fed one byte at a time", () => {
  const frames = [HAVE, CHUNK, CHOKE];
  const bytes = concat(...frames.map(createMessage));
  const chunks = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assert.deepStrictEqual(decodeChunks(chunks), frames);
});

Deno.test("FrameDecoder decodes many frames in one chunk", () => {
  const frames: Message[] = [];
  for (let i = 0; i < 500; i++) {
    frames.push(i % 3 === 0 ? CHOKE : { kind: "have", txid: 0, index: i });
  }
  assert.deepStrictEqual(
    decodeChunks([concat(...frames.map(createMessage))]),
    frames,
  );
});

Deno.test("FrameDecoder ignores empty chunks", () => {
  const empty = new Uint8Array(0);
  const bytes = createMessage(HAVE);
  assert.deepStrictEqual(
    decodeChunks([empty, bytes.subarray(0, 3), empty, bytes.subarray(3)]),
    [HAVE],
  );
});

Deno.test("FrameDecoder decodes a CHUNK_DATA written as prefix and data", () => {
  const prefix = createChunkDataPrefix(9, 1, CHUNK.data.byteLength);
  assert.deepStrictEqual(decodeChunks([prefix, CHUNK.data]), [CHUNK]);
});

Deno.test("FrameDecoder rejects a huge length prefix as soon as the header arrives", () => {
  const header = createChunkDataPrefix(1, 0, 0).subarray(0, HEADER_BYTES);
  new DataView(header.buffer).setUint32(10, 0xffff_fff0);
  const decoder = new FrameDecoder();
  // Everything but the last header byte is buffered quietly...
  decoder.push(header.subarray(0, HEADER_BYTES - 1), () => {});
  // ...and the last one fails before any body byte is sent or allocated.
  assert.throws(
    () => decoder.push(header.subarray(HEADER_BYTES - 1), () => {}),
    isProtocolError("too_long"),
  );
});

Deno.test("FrameDecoder rejects a manifest frame above the frame limit", () => {
  const header = createMessage({ kind: "get_manifest", txid: 1 });
  header[4] = 8; // MANIFEST
  header[3] = 3; // CONTROL
  new DataView(header.buffer).setUint32(10, MAX_FRAME_BODY_BYTES + 1);
  assert.throws(
    () => new FrameDecoder().push(header, () => {}),
    isProtocolError("too_long"),
  );
});

Deno.test("FrameDecoder honours maxBodyBytes before buffering the body", () => {
  const small = new FrameDecoder({ maxBodyBytes: 39 });
  assert.throws(
    () =>
      small.push(
        createChunkDataPrefix(1, 0, 36).subarray(0, HEADER_BYTES),
        () => {},
      ),
    (error: unknown) =>
      error instanceof ProtocolError && error.code === "too_long" &&
      /allows 39/.test(error.message),
  );
  const exact = new FrameDecoder({ maxBodyBytes: 44 });
  assert.deepStrictEqual(decodeChunks([createMessage(CHUNK)], exact), [CHUNK]);
  const zero = new FrameDecoder({ maxBodyBytes: 0 });
  assert.deepStrictEqual(decodeChunks([createMessage(CHOKE)], zero), [CHOKE]);
  assert.throws(
    () => zero.push(createMessage(HAVE), () => {}),
    isProtocolError("too_long"),
  );
});

Deno.test("FrameDecoder rejects a bad header byte by byte", () => {
  const bad = createMessage(HAVE);
  bad[0] = 0;
  const decoder = new FrameDecoder();
  for (let i = 0; i < HEADER_BYTES - 1; i++) {
    decoder.push(bad.subarray(i, i + 1), () => {});
  }
  assert.throws(
    () => decoder.push(bad.subarray(HEADER_BYTES - 1), () => {}),
    isProtocolError("bad_magic"),
  );
});

Deno.test("FrameDecoder emits frames before a bad one in the same chunk", () => {
  const bad = createMessage({ kind: "get", txid: 1, index: 0 });
  new DataView(bad.buffer).setUint32(HEADER_BYTES, 0xffff_ffff);
  const seen: Message[] = [];
  assert.throws(
    () =>
      new FrameDecoder().push(
        concat(createMessage(HAVE), bad),
        (m) => seen.push(m),
      ),
    isProtocolError("bad_value"),
  );
  assert.deepStrictEqual(seen, [HAVE]);
});

Deno.test("FrameDecoder.finish() rejects a stream that ends mid-frame", () => {
  const bytes = createMessage(CHUNK);
  for (const cut of [1, HEADER_BYTES - 1, HEADER_BYTES, bytes.byteLength - 1]) {
    const decoder = new FrameDecoder();
    decoder.push(bytes.subarray(0, cut), () => {});
    assert.equal(decoder.idle, false);
    assert.throws(() => decoder.finish(), isProtocolError("too_short"));
  }
  const decoder = new FrameDecoder();
  decoder.push(bytes, () => {});
  assert.equal(decoder.idle, true);
  decoder.finish();
});

Deno.test("FrameDecoderStream errors when the stream ends mid-frame", async () => {
  const bytes = createMessage(CHUNK);
  await assert.rejects(
    streamChunks([createMessage(HAVE), bytes.subarray(0, 20)]),
    isProtocolError("too_short"),
  );
});

Deno.test("FrameDecoderStream errors on an oversized frame", async () => {
  const header = createChunkDataPrefix(1, 0, 1000).subarray(0, HEADER_BYTES);
  await assert.rejects(
    streamChunks([header], new FrameDecoderStream({ maxBodyBytes: 100 })),
    isProtocolError("too_long"),
  );
});

Deno.test("FrameDecoderStream passes through an empty stream", async () => {
  assert.deepStrictEqual(await streamChunks([]), []);
});

Deno.test("FrameDecoder bulk fields do not alias the input chunks", () => {
  const bytes = createMessage(CHUNK);
  const seen: Message[] = [];
  new FrameDecoder().push(bytes, (m) => seen.push(m));
  bytes.fill(0);
  assert.deepStrictEqual(seen, [CHUNK]);
});
