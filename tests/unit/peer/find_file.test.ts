import assert from "node:assert/strict";
import { closestNames, editDistance } from "../../../peer/find_file.ts";
import { parseHostPort } from "../../../peer/cli_flags.ts";
import { formatBytes, plural } from "../../../peer/progress.ts";
import { friendAddresses } from "../../../tracker/friend_addresses.ts";

Deno.test("closestNames suggests names that contain the text or are a few edits away, closest first", () => {
  const names = ["ubuntu-24.04.iso", "Ubuntu-22.04.iso", "debian.iso", "x"];
  assert.deepEqual(closestNames("ubuntu-24.4.iso", names), [
    "ubuntu-24.04.iso",
    "Ubuntu-22.04.iso",
  ]);
  assert.deepEqual(closestNames("debian", names), ["debian.iso"]);
  assert.deepEqual(closestNames("completely different", names), []);
});

Deno.test("editDistance counts edits and stops past the limit", () => {
  assert.equal(editDistance("kitten", "sitting", 5), 3);
  assert.equal(editDistance("a", "abcdefgh", 2), 3);
  assert.equal(editDistance("same", "same", 0), 0);
});

Deno.test("parseHostPort reads HOST:PORT, [IPv6]:PORT and udp:// addresses with or without /announce", () => {
  for (
    const [text, host, port] of [
      ["127.0.0.1:6969", "127.0.0.1", 6969],
      ["tracker.example:1", "tracker.example", 1],
      ["[::1]:6969", "::1", 6969],
      ["udp://10.0.0.2:6969", "10.0.0.2", 6969],
      ["udp://10.0.0.2:6969/announce", "10.0.0.2", 6969],
      ["udp://[2001:db8::1]:6969/", "2001:db8::1", 6969],
    ] as const
  ) {
    assert.deepEqual(parseHostPort(text), { host, port }, text);
  }
  assert.throws(() => parseHostPort("::1:6969"), /IPv6 address in brackets/);
  assert.throws(() => parseHostPort("http://a:1"), /speak UDP/);
  assert.throws(() => parseHostPort("a:0"), /is not HOST:PORT/);
  assert.throws(() => parseHostPort("udp://a"), /is not HOST:PORT/);
});

Deno.test("byte counts are in decimal units and counts agree with their nouns", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1_500_000), "1.5 MB");
  assert.equal(formatBytes(1_200_000_000), "1.2 GB");
  assert.equal(formatBytes(250_000_000), "250 MB");
  assert.equal(plural(1, "peer"), "1 peer");
  assert.equal(plural(0, "chunk"), "0 chunks");
  assert.equal(plural(3, "peer"), "3 peers");
});

Deno.test("friendAddresses lists reachable interface addresses for a wildcard bind, none for loopback", () => {
  const interfaces = [
    { family: "IPv6", address: "::1" },
    { family: "IPv4", address: "127.0.0.1" },
    { family: "IPv6", address: "fe80::1" },
    { family: "IPv6", address: "2001:db8::5" },
    { family: "IPv4", address: "192.168.1.20" },
  ] as const;
  assert.deepEqual(friendAddresses("::", 6969, interfaces), [
    "udp://192.168.1.20:6969",
    "udp://[2001:db8::5]:6969",
  ]);
  assert.deepEqual(friendAddresses("0.0.0.0", 6969, interfaces), [
    "udp://192.168.1.20:6969",
  ]);
  assert.deepEqual(friendAddresses("127.0.0.1", 6969, interfaces), []);
  assert.deepEqual(friendAddresses("10.1.2.3", 1, null), ["udp://10.1.2.3:1"]);
  assert.deepEqual(friendAddresses("::", 1, null), []);
});
