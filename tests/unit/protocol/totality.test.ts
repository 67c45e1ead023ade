import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  FrameDecoder,
  type Message,
  parseFolderManifest,
  parseManifest,
  parseMessage,
  ProtocolError,
} from "@shoal/protocol";
import {
  datagramArb,
  folderManifestBytesArb,
  headerWithRandomBody,
  manifestBytesArb,
  mutate,
  mutateBencode,
  mutatedArb,
  mutateOnce,
  MUTATIONS,
  outcomeOf,
  randomInput,
  Rng,
} from "../../../bench/_protocol_inputs.ts";
import { concatBytes } from "../../../bench/_bytes.ts";

// Every decoder must be total: a value or a ProtocolError, never anything
// else. fast-check runs are seeded so a failure replays exactly.

/** Decodes, and when that works checks that re-encoding is stable. */
function checkDatagram(bytes: Uint8Array): string {
  return outcomeOf(() => parseMessage(bytes), (message: Message) => {
    // Decoding ignores reserved bits, so re-encoding may differ in those;
    // decoding the re-encoding must give the same message back.
    const again = createMessage(message);
    assert.deepStrictEqual(parseMessage(again), message);
    assert.deepStrictEqual(createMessage(parseMessage(again)), again);
    return message.kind;
  });
}

Deno.test("parseMessage() gives a Message or a ProtocolError for random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
      checkDatagram(bytes);
    }),
    { seed: 0x5348_0101, numRuns: 5000 },
  );
});

Deno.test("parseMessage() gives a Message or a ProtocolError for mutated valid messages", () => {
  const outcomes = new Set<string>();
  fc.assert(
    fc.property(mutatedArb(datagramArb), (bytes) => {
      outcomes.add(checkDatagram(bytes));
    }),
    { seed: 0x5348_0102, numRuns: 5000 },
  );
  // The mutations must reach past the header checks, or this test is weak.
  for (const expected of ["error:bad_magic", "error:too_short"]) {
    assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes]}`);
  }
  assert.ok(
    [...outcomes].some((outcome) => !outcome.startsWith("error:")),
    "some mutations should still decode",
  );
});

Deno.test("parseMessage() gives a Message or a ProtocolError for valid headers with random bodies", () => {
  const rng = new Rng(0x5348_0103);
  const outcomes = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    outcomes.add(checkDatagram(headerWithRandomBody(rng)));
  }
  for (
    const expected of [
      "error:bad_string",
      "error:bad_value",
      "cookie",
      "keepalive",
    ]
  ) {
    assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes]}`);
  }
});

Deno.test("parseMessage() gives a Message or a ProtocolError for random bytes behind the magic", () => {
  const rng = new Rng(0x5348_0104);
  for (let i = 0; i < 5000; i++) checkDatagram(randomInput(rng));
});

Deno.test("mutateOnce() applies every mutation to a valid message without breaking the test harness", () => {
  fc.assert(
    fc.property(
      datagramArb,
      fc.constantFrom(...MUTATIONS),
      fc.integer(),
      (bytes, mutation, seed) => {
        checkDatagram(mutateOnce(new Rng(seed), bytes, mutation));
      },
    ),
    { seed: 0x5348_0105, numRuns: 1500 },
  );
});

Deno.test("FrameDecoder gives Messages or a ProtocolError for a stream of mutated frames", () => {
  fc.assert(
    fc.property(
      fc.array(mutatedArb(datagramArb), { minLength: 1, maxLength: 6 }),
      fc.integer(),
      (frames, seed) => {
        const rng = new Rng(seed);
        const stream = concatBytes(...frames);
        const decoder = new FrameDecoder({ maxBodyBytes: 4096 });
        try {
          let at = 0;
          while (at < stream.byteLength) {
            const next = at + 1 + rng.int(64);
            decoder.push(stream.subarray(at, next), (message) => {
              assert.equal(typeof message.kind, "string");
            });
            at = next;
          }
          decoder.finish();
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ),
    { seed: 0x5348_0106, numRuns: 800 },
  );
});

Deno.test("parseManifest() gives a Manifest or a ProtocolError for random and mutated bytes", () => {
  const outcomes = new Set<string>();
  const label = () => "manifest";
  const rng = new Rng(0x5348_0108);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        mutatedArb(manifestBytesArb),
        manifestBytesArb.map((bytes) => mutateBencode(rng, bytes)),
      ),
      (bytes) => {
        outcomes.add(outcomeOf(() => parseManifest(bytes), label));
      },
    ),
    { seed: 0x5348_0107, numRuns: 5000 },
  );
  // Byte mutations stop in the bencode decoder; structural ones must reach
  // the manifest's own checks.
  for (
    const expected of ["manifest", "error:too_short", "error:bad_manifest"]
  ) {
    assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes]}`);
  }
});

Deno.test("parseFolderManifest() gives a FolderManifest or a ProtocolError for random and mutated bytes", () => {
  const outcomes = new Set<string>();
  const rng = new Rng(0x5348_0109);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        mutatedArb(folderManifestBytesArb),
        folderManifestBytesArb.map((bytes) => mutateBencode(rng, bytes)),
      ),
      (bytes) => {
        outcomes.add(outcomeOf(() => parseFolderManifest(bytes), () => "ok"));
      },
    ),
    { seed: 0x5348_010a, numRuns: 3000 },
  );
  for (const expected of ["ok", "error:bad_manifest", "error:bad_string"]) {
    assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes]}`);
  }
});

Deno.test("mutate() is reproducible for a seed", () => {
  const input = createMessage({ kind: "connect", txid: 5 });
  for (let seed = 0; seed < 50; seed++) {
    assert.deepStrictEqual(
      mutate(new Rng(seed), input),
      mutate(new Rng(seed), input),
    );
  }
});
