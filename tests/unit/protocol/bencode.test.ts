import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BENCODE_MAX_DEPTH,
  bkey,
  type BValue,
  decodeBencode,
  dictGet,
  encodeBencode,
  findDictValueSpan,
  ProtocolError,
  type ProtocolErrorCode,
} from "@shoal/protocol";
import {
  bencodeBytesArb,
  bencodeValueArb,
  mutatedArb,
} from "../../../bench/_protocol_inputs.ts";

const text = (s: string) => new TextEncoder().encode(s);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function assertRejects(
  input: Uint8Array,
  code: ProtocolErrorCode,
  offset?: number,
): void {
  assert.throws(() => decodeBencode(input), (error) => {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, code, error.message);
    if (offset !== undefined) assert.equal(error.offset, offset);
    return true;
  });
}

Deno.test("decodeBencode() reads the BEP 3 examples, and encodeBencode() writes them back", () => {
  const golden: [string, BValue][] = [
    ["i3e", 3n],
    ["i-3e", -3n],
    ["i0e", 0n],
    ["4:spam", text("spam")],
    ["0:", new Uint8Array()],
    ["l4:spam4:eggse", [text("spam"), text("eggs")]],
    ["le", []],
    [
      "d3:cow3:moo4:spam4:eggse",
      new Map([["cow", text("moo")], ["spam", text("eggs")]]),
    ],
    ["d4:spaml1:a1:bee", new Map([["spam", [text("a"), text("b")]]])],
    ["de", new Map()],
    ["i9223372036854775807e", 2n ** 63n - 1n],
    ["i-9223372036854775808e", -(2n ** 63n)],
  ];
  for (const [wire, value] of golden) {
    assert.deepStrictEqual(decodeBencode(text(wire)), value, wire);
    assert.deepStrictEqual(encodeBencode(value), text(wire), wire);
  }
});

Deno.test("binary dictionary keys round-trip byte for byte, never as hex or UTF-8", () => {
  // A BEP 52 `piece layers` key: a raw 32-byte root, bytes >= 0x80 included.
  const root = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);
  const wire = new Uint8Array([...text("d32:"), ...root, ...text("4:abcde")]);
  const dict = decodeBencode(wire);
  assert.ok(dict instanceof Map);
  assert.deepStrictEqual([...dict.keys()], [bkey(root)]);
  assert.deepStrictEqual(dict.get(bkey(root)), text("abcd"));
  assert.deepStrictEqual(encodeBencode(dict), wire);
});

Deno.test("encodeBencode() sorts keys by raw bytes, whatever the insertion order", () => {
  const dict = new Map<string, BValue>([
    ["\u00ff", 1n],
    ["b", 2n],
    ["a\u0000", 3n],
    ["a", 4n],
  ]);
  assert.deepStrictEqual(
    encodeBencode(dict),
    latin1("d1:ai4e2:a\u0000i3e1:bi2e1:\u00ffi1ee"),
  );
});

Deno.test("dictGet() finds entries by their text name (UTF-8 key bytes)", () => {
  const dict = decodeBencode(text("d4:n\u00e9mi1e12:piece lengthi16384ee"));
  assert.ok(dict instanceof Map);
  assert.equal(dictGet(dict, "piece length"), 16384n);
  assert.equal(dictGet(dict, "n\u00e9m"), 1n);
  assert.equal(dictGet(dict, "missing"), undefined);
});

Deno.test("findDictValueSpan() gives the exact bytes of the top-level value", () => {
  const info = "d6:lengthi5e4:name3:fooe";
  const bytes = text(`d8:announce3:url4:info${info}e`);
  const span = findDictValueSpan(bytes, "info");
  assert.ok(span);
  assert.equal(
    new TextDecoder().decode(bytes.subarray(span.start, span.end)),
    info,
  );
  assert.equal(findDictValueSpan(bytes, "name"), null); // nested, not top-level
  assert.equal(findDictValueSpan(text("l4:infoe"), "info"), null);
  assert.throws(
    () => findDictValueSpan(text("d4:infoi1e"), "info"),
    ProtocolError,
  );
});

Deno.test("decodeBencode() rejects integers that are not canonical or not 64-bit", () => {
  assertRejects(text("i03e"), "not_canonical", 0);
  assertRejects(text("i00e"), "not_canonical");
  assertRejects(text("i-0e"), "not_canonical");
  assertRejects(text("ie"), "bad_value");
  assertRejects(text("i-e"), "bad_value");
  assertRejects(text("i+3e"), "bad_value");
  assertRejects(text("i3.0e"), "bad_value");
  assertRejects(text("i9223372036854775808e"), "bad_value");
  assertRejects(text("i-9223372036854775809e"), "bad_value");
  assertRejects(text(`i${"9".repeat(10_000)}e`), "bad_value");
});

Deno.test("decodeBencode() rejects unsorted and repeated keys", () => {
  assertRejects(text("d4:spam4:eggs3:cow3:mooe"), "not_canonical", 13);
  assertRejects(text("d3:cowi1e3:cowi2ee"), "not_canonical");
  assertRejects(latin1("d1:\u00ffi1e1:ai2ee"), "not_canonical"); // bytes, not signed chars
  assertRejects(text("d2:abi1e1:ai2ee"), "not_canonical"); // prefix sorts first
  assertRejects(text("di1ei2ee"), "bad_type");
});

Deno.test("decodeBencode() rejects truncated input, lengths past the end and bad lengths", () => {
  for (const wire of ["", "i3", "4:spa", "l4:spam", "d3:cow", "d3:cow3:moo"]) {
    assertRejects(text(wire), "too_short");
  }
  assertRejects(text("5:spam"), "too_short");
  assertRejects(text("5"), "bad_length");
  // A length larger than the whole input is refused before any read.
  assertRejects(text("99999999999999999999999:x"), "bad_length", 0);
  assertRejects(text("04:spam"), "not_canonical");
  assertRejects(text("4x:spam"), "bad_length");
  assertRejects(text("-1:a"), "bad_type");
  assertRejects(text("x"), "bad_type");
});

Deno.test("decodeBencode() rejects trailing bytes", () => {
  assertRejects(text("i3ei4e"), "trailing_bytes", 3);
  assertRejects(text("4:spamx"), "trailing_bytes");
  assertRejects(text("lee"), "trailing_bytes");
});

Deno.test("decodeBencode() bounds nesting and value count", () => {
  const deep = (n: number) => text("l".repeat(n) + "e".repeat(n));
  assert.ok(Array.isArray(decodeBencode(deep(BENCODE_MAX_DEPTH))));
  assertRejects(deep(BENCODE_MAX_DEPTH + 1), "too_long");
  // A depth bomb: far deeper than the stack allows, refused early.
  assertRejects(text("l".repeat(1_000_000)), "too_long");
  assert.throws(
    () => decodeBencode(text("li1ei2ei3ee"), { maxItems: 3 }),
    (e) => e instanceof ProtocolError && e.code === "too_long",
  );
  assert.throws(
    () => decodeBencode(text("lle"), { maxDepth: 1 }),
    (e) => e instanceof ProtocolError && e.code === "too_long",
  );
});

Deno.test("encodeBencode() refuses integers beyond 64 bits and non-byte keys", () => {
  assert.throws(() => encodeBencode(2n ** 63n), RangeError);
  assert.throws(() => encodeBencode(new Map([["\u0100", 1n]])), RangeError);
});

Deno.test("decode(encode(v)) equals v for any value", () => {
  fc.assert(
    fc.property(bencodeValueArb, (value) => {
      assert.deepStrictEqual(decodeBencode(encodeBencode(value)), value);
    }),
    { numRuns: 500 },
  );
});

Deno.test("encode(decode(b)) equals b for canonical b", () => {
  fc.assert(
    fc.property(bencodeBytesArb, (bytes) => {
      assert.deepStrictEqual(encodeBencode(decodeBencode(bytes)), bytes);
    }),
    { numRuns: 500 },
  );
});

Deno.test("decodeBencode() on mutated input throws nothing but ProtocolError, and what it accepts is canonical", () => {
  fc.assert(
    fc.property(mutatedArb(bencodeBytesArb), (bytes) => {
      let value: BValue;
      try {
        value = decodeBencode(bytes);
      } catch (error) {
        if (error instanceof ProtocolError) return;
        throw error;
      }
      assert.deepStrictEqual(encodeBencode(value), bytes);
    }),
    { numRuns: 2000 },
  );
});
