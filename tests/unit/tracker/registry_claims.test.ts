/**
 * A file's name and size are hints from its holders: the registry shows
 * what most source addresses claim and finds the file under every claimed
 * name, so a lone stranger cannot take a real file's name away.
 */
import assert from "node:assert/strict";
import {
  MAX_DATAGRAM_BYTES,
  parseMessage,
  writePeerList,
} from "@shoal/protocol";
import { SwarmRegistry } from "../../../tracker/registry/mod.ts";
import { file, who } from "./_fake.ts";

const REAL = file("real.bin", { size: 100, chunkCount: 1 });
const FAKE = { ...REAL, name: "real.bin.exe", size: 2 ** 50, chunkCount: 1 };

function names(registry: SwarmRegistry, name: string): number {
  return registry.filesByName(name).size;
}

Deno.test("a stranger who claims a file first does not hide it from its real name", () => {
  const registry = new SwarmRegistry();
  assert.equal(registry.register(who("10.0.0.66"), [FAKE], 0), "ok");
  assert.equal(registry.register(who("10.0.0.1"), [REAL], 0), "ok");
  // The honest holder's name finds the file, as does the stranger's.
  assert.equal(names(registry, "real.bin"), 1);
  assert.equal(names(registry, "real.bin.exe"), 1);
  const record = registry.fileById(REAL.id)!;
  assert.equal(record.holderCount, 2);
  // Asked by the real name, the PEER_LIST carries that claim's size.
  const out = new Uint8Array(MAX_DATAGRAM_BYTES);
  const pick = registry.pick(record, {
    wanted: 10,
    requesterHost: "10.0.0.9",
    requesterUdpPort: 1,
    nowMs: 0,
    name: "real.bin",
  });
  const length = writePeerList(out, { txid: 1, fileId: REAL.id, ...pick });
  const list = parseMessage(out.subarray(0, length));
  assert.equal(list.kind, "peer_list");
  if (list.kind === "peer_list") {
    assert.equal(list.name, "real.bin");
    assert.equal(list.size, 100);
    assert.equal(list.peers.length, 2);
  }
  // A second honest address: the honest claim is shown everywhere.
  assert.equal(registry.register(who("10.0.0.2"), [REAL], 0), "ok");
  assert.equal(record.name, "real.bin");
  assert.equal(record.size, 100);
  assert.deepEqual(registry.list("", 0).files.map((f) => f.name), [
    "real.bin",
  ]);
  assert.deepEqual(
    registry.candidates([record], "real.bin.exe").map((f) => f.size),
    [2 ** 50],
  );
});

Deno.test("one address has one vote per file, however many peers it opens", () => {
  const registry = new SwarmRegistry();
  registry.register(who("10.0.0.1"), [REAL], 0);
  registry.register(who("10.0.0.2"), [REAL], 0);
  for (let port = 1; port <= 64; port++) {
    assert.equal(registry.register(who("10.0.0.66", port), [FAKE], 0), "ok");
  }
  const record = registry.fileById(REAL.id)!;
  assert.equal(record.holderCount, 66);
  assert.equal(record.name, "real.bin");
  assert.equal(record.size, 100);
  // A peer of an address that voted already does not change its vote.
  registry.register(who("10.0.0.1", 7001), [FAKE], 0);
  assert.equal(record.name, "real.bin");
});

Deno.test("the shown claim follows the holders as they come and go", () => {
  const registry = new SwarmRegistry();
  registry.register(who("10.0.0.1"), [REAL], 0);
  registry.register(who("10.0.0.66"), [FAKE], 0);
  registry.register(who("10.0.0.67"), [FAKE], 0);
  const record = registry.fileById(REAL.id)!;
  // Two addresses against one: theirs is shown, both names find the file.
  assert.equal(record.name, "real.bin.exe");
  assert.equal(names(registry, "real.bin"), 1);
  registry.register(who("10.0.0.2"), [REAL], 0);
  // A tie: the claim made first wins.
  assert.equal(record.name, "real.bin");
  assert.ok(registry.leave(who("10.0.0.66")));
  assert.ok(registry.leave(who("10.0.0.67")));
  assert.equal(record.name, "real.bin");
  assert.equal(names(registry, "real.bin.exe"), 0);
  assert.deepEqual(registry.list("exe", 0).total, 0);
  assert.deepEqual(registry.list("real", 0).total, 1);
  assert.ok(registry.leave(who("10.0.0.1")));
  assert.ok(registry.leave(who("10.0.0.2")));
  assert.equal(registry.fileById(REAL.id), undefined);
  assert.equal(names(registry, "real.bin"), 0);
  assert.equal(registry.list("", 0).total, 0);
});

Deno.test("claims with the same name and different sizes are counted apart", () => {
  const registry = new SwarmRegistry();
  const liar = { ...REAL, size: 2 ** 40 };
  registry.register(who("10.0.0.66"), [liar], 0);
  registry.register(who("10.0.0.1"), [REAL], 0);
  registry.register(who("10.0.0.2"), [REAL], 0);
  const record = registry.fileById(REAL.id)!;
  assert.equal(record.size, 100);
  assert.equal(names(registry, "real.bin"), 1);
  registry.leave(who("10.0.0.1"));
  registry.leave(who("10.0.0.2"));
  assert.equal(record.size, 2 ** 40);
  assert.equal(names(registry, "real.bin"), 1);
});

Deno.test("a file stays in LIST order under its shown name", () => {
  const registry = new SwarmRegistry();
  registry.register(who("10.0.0.1"), [file("b.bin")], 0);
  registry.register(who("10.0.0.1"), [file("d.bin")], 0);
  const moving = file("a.bin");
  registry.register(who("10.0.0.1"), [moving], 0);
  registry.register(who("10.0.0.2"), [{ ...moving, name: "c.bin" }], 0);
  registry.register(who("10.0.0.3"), [{ ...moving, name: "c.bin" }], 0);
  assert.deepEqual(registry.list("", 0).files.map((f) => f.name), [
    "b.bin",
    "c.bin",
    "d.bin",
  ]);
  assert.deepEqual(registry.list("", 1).files.map((f) => f.name), [
    "c.bin",
    "d.bin",
  ]);
});

Deno.test("ids that share their first 20 bytes are one file: the rest of the id is a claim, voted like the name", () => {
  const registry = new SwarmRegistry();
  // A stranger registers first a forged id: the real one's swarm key
  // (what BitTorrent clients announce), another tail and name.
  const forged = { ...REAL, id: REAL.id.slice(), name: "real.bin.exe" };
  forged.id.fill(0xee, 20);
  assert.equal(registry.register(who("10.0.0.66"), [forged], 0), "ok");
  assert.equal(registry.register(who("10.0.0.1"), [REAL], 0), "ok");
  assert.equal(registry.register(who("10.0.0.2"), [REAL], 0), "ok");
  assert.equal(registry.stats.files, 1);
  const record = registry.fileById(REAL.id)!;
  assert.equal(registry.fileById(forged.id), record);
  assert.equal(record.holderCount, 3);
  // Two addresses against one: the real id and name are shown.
  assert.deepEqual(record.id, REAL.id);
  assert.deepEqual(registry.list("", 0).files.map((f) => f.id), [REAL.id]);
  // Asked by a name, the answer carries the id of that name's claim.
  const pick = (name: string) =>
    registry.pick(record, {
      wanted: 10,
      requesterHost: "10.0.0.9",
      requesterUdpPort: 1,
      nowMs: 0,
      name,
    }).id.slice();
  assert.deepEqual(pick("real.bin"), REAL.id);
  assert.deepEqual(pick("real.bin.exe"), forged.id);
  assert.deepEqual(
    registry.candidates([record], "real.bin.exe").map((f) => f.id),
    [forged.id],
  );
});
