import assert from "node:assert/strict";
import fc from "fast-check";
import {
  btClientName,
  clientFromPeerId,
  displayText,
  MAX_CLIENT_NAME_CHARS,
  UNKNOWN_BT_CLIENT,
} from "@shoal/protocol";

const id = (prefix: string) =>
  new TextEncoder().encode(prefix.padEnd(20, "x")).subarray(0, 20);

Deno.test("clientFromPeerId() names the programs users know from their Azureus-style ids", () => {
  const table: [string, string | null][] = [
    ["-LT2080-", "libtorrent 2.0.8"],
    ["-LT1217-", "libtorrent 1.2.1.7"],
    ["-qB4500-", "qBittorrent 4.5.0"],
    ["-qB5010-", "qBittorrent 5.0.1"],
    ["-TR3000-", "Transmission 3.00"],
    ["-TR2940-", "Transmission 2.94"],
    ["-TR4060-", "Transmission 4.0.6"],
    ["-DE2110-", "Deluge 2.1.1"],
    ["-LTA0B0-", "libtorrent 10.0.11"],
    ["-SH0200-", "Shoal"],
    ["-XX1000-", null],
    ["M7-2-1--", null],
    ["\x00\x01\x02\x03\x04\x05\x06\x07", null],
  ];
  for (const [prefix, name] of table) {
    assert.equal(clientFromPeerId(id(prefix)), name, prefix);
  }
});

Deno.test("clientFromPeerId() gives the name alone when the version characters are not digits or letters", () => {
  assert.equal(clientFromPeerId(id("-qB4.5-")), null); // no closing "-" at 7
  assert.equal(clientFromPeerId(id("-qB4\u00005x-")), "qBittorrent");
  assert.equal(clientFromPeerId(new Uint8Array(3)), null);
});

Deno.test("btClientName() prefers the extension handshake's v, then the peer id, then BitTorrent", () => {
  assert.equal(
    btClientName(id("-LT2080-"), "libtorrent/2.0.8.0"),
    "libtorrent/2.0.8.0",
  );
  assert.equal(btClientName(id("-LT2080-"), null), "libtorrent 2.0.8");
  assert.equal(
    btClientName(id("-LT2080-"), " \u202E\u0007 "),
    "libtorrent 2.0.8",
  );
  assert.equal(btClientName(id("-XX1000-"), null), UNKNOWN_BT_CLIENT);
  assert.equal(btClientName(null, null), "BitTorrent");
});

Deno.test("btClientName() drops control and direction characters from a hostile v", () => {
  const table: [string, string][] = [
    ["evil\u202Egpj.exe", "evilgpj.exe"],
    ["a\u2066b\u2069c\u200Fd\u061Ce", "abcde"],
    ["line\nbreak\r\u2028\u2029", "line break"],
    ["bell\u0007\u001b[31mred", "bell[31mred"],
    ["c1\u0085\u009bx", "c1x"],
    ["zero\u200Bwidth\uFEFF", "zerowidth"],
    ["lone\uD800surrogate", "lonesurrogate"],
    ["  qBittorrent/4.5.0  ", "qBittorrent/4.5.0"],
  ];
  for (const [v, shown] of table) {
    assert.equal(btClientName(null, v), shown, JSON.stringify(v));
  }
});

Deno.test("btClientName() keeps at most MAX_CLIENT_NAME_CHARS characters, never half of one", () => {
  const long = "é".repeat(10_000);
  assert.equal(btClientName(null, long), "é".repeat(MAX_CLIENT_NAME_CHARS));
  const emoji = "🐟".repeat(100);
  const shown = btClientName(null, emoji);
  assert.equal([...shown].length, MAX_CLIENT_NAME_CHARS);
  assert.ok(shown.split("").every((_, i) => shown.codePointAt(i) !== 0xfffd));
  assert.equal(shown, "🐟".repeat(MAX_CLIENT_NAME_CHARS));
});

Deno.test("displayText() of any string is bounded and holds no hidden character (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 400 }),
      fc.integer({ min: 1, max: 64 }),
      (text, max) => {
        const shown = displayText(text, max);
        assert.ok([...shown].length <= max);
        assert.ok(!/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u.test(shown));
        assert.equal(shown, shown.trim());
      },
    ),
  );
});
