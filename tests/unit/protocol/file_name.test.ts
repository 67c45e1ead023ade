import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createMessage,
  fileNameProblem,
  isSafeFileName,
  ManifestBuilder,
  MAX_NAME_BYTES,
} from "@shoal/protocol";
import { safeNameArb } from "../../../bench/_protocol_inputs.ts";

Deno.test("isSafeFileName() accepts ordinary names", () => {
  for (
    const name of [
      "a",
      "movie.mkv",
      "Report (final) v2.pdf",
      "日本語のファイル.txt",
      "🐟.bin",
      "con_notes.txt",
      "a".repeat(MAX_NAME_BYTES),
      "é".repeat(127),
    ]
  ) {
    assert.equal(fileNameProblem(name), null, name);
  }
});

Deno.test("isSafeFileName() rejects names that could escape or misbehave", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    [".", /relative/],
    ["..", /relative/],
    ["../x", /forbidden/],
    ["a/b", /forbidden/],
    ["a\\b", /forbidden/],
    ["a\u0000b", /forbidden/],
    ["tab\there", /forbidden/],
    ["del\u007f", /forbidden/],
    ["CON", /reserved/],
    ["prn.txt", /reserved/],
    ["COM1", /reserved/],
    ["x".repeat(MAX_NAME_BYTES + 1), /longer/],
    ["é".repeat(128), /longer/],
    ["name.", /ends/],
    ["name ", /ends/],
    [".env", /starts with a dot/],
    ["e\u0301", /NFC/],
    ["a\ud800b", /well-formed/],
    ["\udc00", /well-formed/],
    // Shown as "invoiceexe.pdf": a right-to-left override hides the extension.
    ["invoice\u202Efdp.exe", /direction-changing character \(U\+202E\)/],
    ["a\u2066b", /U\+2066/],
    ["zero\u200Bwidth", /U\+200B/],
    ["bom\uFEFF", /U\+FEFF/],
    ["c1\u0085control", /U\+0085/],
    ["line\u2028sep", /U\+2028/],
  ];
  for (const [name, reason] of cases) {
    assert.match(fileNameProblem(name) ?? "safe", reason, JSON.stringify(name));
    assert.equal(isSafeFileName(name), false);
  }
});

Deno.test("createMessage() and ManifestBuilder refuse a name with a lone surrogate", () => {
  // Such a name would be sent as U+FFFD and come back different.
  assert.throws(
    () =>
      createMessage({
        kind: "request",
        txid: 1,
        cookie: 0n,
        wanted: 0,
        query: { name: "a\ud800" },
      }),
    TypeError,
  );
  const builder = new ManifestBuilder();
  builder.update(new Uint8Array(1));
  assert.throws(() => builder.finish("a\ud800"), TypeError);
});

Deno.test("safeNameArb only makes safe names (the generator behind the round trips)", () => {
  fc.assert(
    fc.property(safeNameArb, (name) => {
      assert.equal(fileNameProblem(name), null);
    }),
    { seed: 0x5348_0401, numRuns: 500 },
  );
});
