import assert from "node:assert/strict";
import { CookieJar } from "../../../tracker/cookies.ts";

const SOURCE = { hostname: "192.0.2.1", port: 40_000 };

Deno.test("CookieJar.verify() accepts its own cookie in the same and the next window", () => {
  const jar = new CookieJar({ windowMs: 1_000 });
  const cookie = jar.issue(SOURCE, 10_000);
  assert.ok(jar.verify(cookie, SOURCE, 10_000));
  assert.ok(jar.verify(cookie, SOURCE, 10_999));
  assert.ok(jar.verify(cookie, SOURCE, 11_999));
  assert.ok(!jar.verify(cookie, SOURCE, 12_000));
  assert.ok(!jar.verify(cookie, SOURCE, 9_999));
});

Deno.test("CookieJar.verify() refuses a cookie from another address, port or secret", () => {
  const secret = new Uint8Array(32).fill(1);
  const jar = new CookieJar({ secret });
  const cookie = jar.issue(SOURCE, 0);
  assert.ok(!jar.verify(cookie, { ...SOURCE, port: 40_001 }, 0));
  assert.ok(!jar.verify(cookie, { ...SOURCE, hostname: "192.0.2.2" }, 0));
  assert.ok(!new CookieJar().verify(cookie, SOURCE, 0));
  assert.ok(new CookieJar({ secret }).verify(cookie, SOURCE, 0));
  assert.ok(!jar.verify(0n, SOURCE, 0));
});

Deno.test("CookieJar.issue() returns an unsigned 64-bit value", () => {
  const jar = new CookieJar();
  for (let port = 1; port < 50; port++) {
    const cookie = jar.issue({ ...SOURCE, port }, 0);
    assert.ok(cookie >= 0n && cookie < 2n ** 64n);
  }
});

Deno.test("CookieJar() rejects a window that is not positive", () => {
  assert.throws(() => new CookieJar({ windowMs: 0 }), RangeError);
});

function halves(id: bigint): [number, number] {
  return [Number(id >> 32n), Number(id & 0xffff_ffffn)];
}

Deno.test("CookieJar.issueConnectionId() sets the top bit, so the id never starts with Shoal's 0x53", () => {
  const jar = new CookieJar();
  for (let port = 1; port < 500; port++) {
    const id = jar.issueConnectionId({ ...SOURCE, port }, 0);
    assert.ok(id >= 2n ** 63n && id < 2n ** 64n);
    assert.ok(Number(id >> 56n) >= 0x80, `first byte of ${id.toString(16)}`);
  }
});

Deno.test("CookieJar.verifyConnectionId() accepts its id for the same windows as a cookie, from the same source only", () => {
  const jar = new CookieJar({ windowMs: 1_000 });
  const [high, low] = halves(jar.issueConnectionId(SOURCE, 10_000));
  const { hostname, port } = SOURCE;
  assert.ok(jar.verifyConnectionId(high, low, hostname, port, 10_000));
  assert.ok(jar.verifyConnectionId(high, low, hostname, port, 11_999));
  assert.ok(!jar.verifyConnectionId(high, low, hostname, port, 12_000));
  assert.ok(!jar.verifyConnectionId(high, low, hostname, port + 1, 10_000));
  assert.ok(!jar.verifyConnectionId(high, low, "192.0.2.9", port, 10_000));
  // Without the mark it is refused, even when the other 63 bits match.
  assert.ok(
    !jar.verifyConnectionId(high & 0x7fff_ffff, low, hostname, port, 10_000),
  );
  assert.ok(!jar.verifyConnectionId(high, low ^ 1, hostname, port, 10_000));
});
