import assert from "node:assert/strict";
import { addressKey, AddressLimit } from "../../../peer/swarm/address_limit.ts";

Deno.test("addressKey() counts IPv4 as is, IPv4-mapped as IPv4, IPv6 per /64", () => {
  assert.equal(addressKey("10.0.0.1"), "10.0.0.1");
  assert.equal(addressKey("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("2001:db8:0:0:ffff::2"), "2001:db8:0:0::/64");
  assert.equal(addressKey("2001:0DB8:0000:0001::9"), "2001:db8:0:1::/64");
  assert.equal(addressKey("[fe80::1%eth0]"), "fe80:0:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
  assert.equal(addressKey("64:ff9b::1.2.3.4"), "64:ff9b:0:0::/64");
  assert.notEqual(addressKey("2001:db8:0:1::1"), addressKey("2001:db8:0:2::1"));
});

Deno.test("AddressLimit refuses an address over its cap until one of its connections ends", () => {
  const limit = new AddressLimit(2);
  assert.ok(limit.tryAdd("10.0.0.1"));
  assert.ok(limit.tryAdd("10.0.0.1"));
  assert.ok(!limit.tryAdd("::ffff:10.0.0.1"));
  assert.ok(limit.tryAdd("10.0.0.2"));
  assert.ok(limit.tryAdd("2001:db8::1"));
  assert.ok(limit.tryAdd("2001:db8::2"));
  assert.ok(!limit.tryAdd("2001:db8::3"));
  limit.remove("10.0.0.1");
  assert.ok(limit.tryAdd("10.0.0.1"));
  for (const host of ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) limit.remove(host);
  limit.remove("2001:db8::1");
  limit.remove("2001:db8::2");
  assert.equal(limit.addresses, 0);
});
