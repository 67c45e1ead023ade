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
