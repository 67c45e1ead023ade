import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToIp, ipToBytes } from "@shoal/protocol";
import { ipv4Arb, ipv6Arb } from "../../../bench/_protocol_inputs.ts";

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null
    ? null
    : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("ipToBytes() and bytesToIp() round-trip any IPv4 address", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
      assert.deepStrictEqual(ipToBytes(bytesToIp(bytes)), bytes);
    }),
    { seed: 0x5348_0301, numRuns: 500 },
  );
  fc.assert(
    fc.property(ipv4Arb, (text) => {
      assert.equal(bytesToIp(ipToBytes(text)!), text);
    }),
    { seed: 0x5348_0302, numRuns: 200 },
  );
});

Deno.test("ipToBytes() and bytesToIp() round-trip any IPv6 address", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      assert.deepStrictEqual(ipToBytes(bytesToIp(bytes)), bytes);
    }),
    { seed: 0x5348_0303, numRuns: 500 },
  );
  fc.assert(
    fc.property(ipv6Arb, (text) => {
      assert.equal(bytesToIp(ipToBytes(text)!), text);
    }),
    { seed: 0x5348_0304, numRuns: 500 },
  );
});

Deno.test("ipToBytes() reads the usual IPv6 forms", () => {
  const cases: [string, string][] = [
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["::FFFF:1.2.3.4", "00000000000000000000ffff01020304"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    [
      "2001:0db8:0000:0000:0000:ff00:0042:8329",
      "20010db8000000000000ff0000428329",
    ],
    ["2001:db8::ff00:42:8329", "20010db8000000000000ff0000428329"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
    ["[::1]", "00000000000000000000000000000001"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"],
  ];
  for (const [text, expected] of cases) {
    assert.equal(hex(ipToBytes(text)), expected, text);
  }
});

Deno.test("bytesToIp() writes IPv6 in its shortest form", () => {
  const cases: [string, string][] = [
    ["::", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::ffff:1.2.3.4", "::ffff:102:304"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    // one zero word is not shortened (RFC 5952 4.2.2)
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // the first of two equal zero runs is shortened (RFC 5952 4.2.3)
    ["1:0:0:2:3:0:0:4", "1::2:3:0:0:4"],
    // the longer zero run wins
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"],
    ["0:0:1:2:3:4:5:6", "::1:2:3:4:5:6"],
  ];
  for (const [text, expected] of cases) {
    assert.equal(bytesToIp(ipToBytes(text)!), expected, text);
  }
});

Deno.test("ipToBytes() reads dotted quads", () => {
  assert.equal(hex(ipToBytes("127.0.0.1")), "7f000001");
  assert.equal(hex(ipToBytes("0.0.0.0")), "00000000");
  assert.equal(hex(ipToBytes("255.255.255.255")), "ffffffff");
});

Deno.test("ipToBytes() rejects junk", () => {
  const junk = [
    "",
    "localhost",
    "example.com",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3.-4",
    "1..3.4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "0x7f.0.0.1",
    ":",
    ":::",
    "1:::2",
    "1::2::3",
    ":1",
    "1:",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "12345::",
    "g::",
    "::ffff:1.2.3",
    "::ffff:1.2.3.256",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "[::1",
    "::1]",
  ];
  for (const text of junk) assert.equal(ipToBytes(text), null, text);
});

Deno.test("bytesToIp() refuses lengths other than 4 or 16", () => {
  for (const length of [0, 3, 5, 15, 17]) {
    assert.throws(() => bytesToIp(new Uint8Array(length)), RangeError);
  }
});
