/**
 * One source address may fill only a small share of each table, so that
 * honest peers still register while it holds all it may.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_REGISTRY_LIMITS,
  registryLimits,
  SOURCE_SHARE_OF_TABLE,
  SwarmRegistry,
} from "../../../tracker/registry/mod.ts";
import { file, who } from "./_fake.ts";

Deno.test("by default one address holds at most 1 % of the file table and 64 peers", () => {
  assert.equal(SOURCE_SHARE_OF_TABLE, 0.01);
  assert.equal(DEFAULT_REGISTRY_LIMITS.maxFiles, 100_000);
  assert.equal(DEFAULT_REGISTRY_LIMITS.maxHoldingsPerIp, 1_000);
  assert.equal(DEFAULT_REGISTRY_LIMITS.maxPeersPerIp, 64);
  // Smaller tables: smaller shares, but a handful of files always fits.
  assert.equal(registryLimits({ maxFiles: 2_000 }).maxHoldingsPerIp, 20);
  assert.equal(registryLimits({ maxFiles: 10 }).maxHoldingsPerIp, 16);
  assert.equal(registryLimits({ maxPeers: 1_000 }).maxPeersPerIp, 10);
  assert.equal(
    registryLimits({ maxHoldingsPerIp: 5, maxFiles: 10 }).maxHoldingsPerIp,
    5,
  );
});

Deno.test("one address with many peers cannot fill the file table", () => {
  const registry = new SwarmRegistry({ limits: { maxFiles: 2_000 } });
  const cap = 20;
  let accepted = 0;
  // 64 peers, each trying to register 26 new files at a time.
  for (let port = 1; port <= 64; port++) {
    for (let round = 0; round < 4; round++) {
      const files = Array.from(
        { length: 26 },
        (_, i) => file(`spam-${port}-${round}-${i}`),
      );
      if (registry.register(who("10.0.0.66", port), files, 0) === "ok") {
        accepted += files.length;
      }
      // One at a time fills up to the cap exactly.
      if (registry.register(who("10.0.0.66", port), [file("x")], 0) === "ok") {
        accepted++;
      }
    }
  }
  assert.equal(accepted, cap);
  assert.equal(registry.stats.files, cap);
  // An honest seeder elsewhere registers, and so do 99 more addresses' worth.
  assert.equal(
    registry.register(who("10.0.0.1"), [file("honest.bin")], 0),
    "ok",
  );
  assert.ok(
    registry.fileById(
      registry.filesByName("honest.bin").values().next().value!.id,
    ),
  );
  // Leaving frees the address's share.
  for (let port = 1; port <= 64; port++) registry.leave(who("10.0.0.66", port));
  assert.equal(registry.stats.files, 1);
  assert.equal(
    registry.register(who("10.0.0.66", 1), [file("again")], 0),
    "ok",
  );
});

Deno.test("the per-address share counts every peer of the address, and only it", () => {
  const registry = new SwarmRegistry({ limits: { maxHoldingsPerIp: 3 } });
  const shared = file("shared");
  assert.equal(registry.register(who("10.0.0.1", 1), [shared], 0), "ok");
  assert.equal(registry.register(who("10.0.0.1", 2), [shared], 0), "ok");
  assert.equal(
    registry.register(who("10.0.0.1", 3), [shared, file("b")], 0),
    "busy",
  );
  assert.equal(registry.register(who("10.0.0.1", 3), [shared], 0), "ok");
  // Registering a file it holds already costs nothing.
  assert.equal(registry.register(who("10.0.0.1", 3), [shared], 0), "ok");
  assert.equal(
    registry.becomeSeeder(who("10.0.0.1", 1), file("c"), 0),
    "busy",
  );
  assert.equal(registry.register(who("10.0.0.2", 1), [shared], 0), "ok");
  // A peer replaced on the same port gives its share back first.
  const replaced = { ...who("10.0.0.1", 3), peerId: new Uint8Array(16) };
  assert.equal(registry.register(replaced, [file("d")], 0), "ok");
  // Expiry gives it back too.
  assert.equal(registry.sweep(120_000), 4);
  assert.equal(
    registry.register(who("10.0.0.1", 9), [file("e"), file("f")], 120_000),
    "ok",
  );
});
