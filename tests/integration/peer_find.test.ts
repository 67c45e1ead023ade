/**
 * Finding files from the command line, as a user does: `--list`, `--get`
 * without regard to case or by an id prefix, suggestions for a name the
 * tracker does not know, and the tracker addresses people copy (`udp://`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as h from "../_helpers/mod.ts";

Deno.test("--list prints the tracker's files as a table with size, peers and short id, and as JSON lines", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  await h.makeFile(join(dir.path, "Ubuntu-24.04.iso"), 1_500_000, 1);
  await h.makeFile(join(dir.path, "notes.txt"), 1, 2);
  const seeder = await h.startSeeder(tracker, [
    join(dir.path, "Ubuntu-24.04.iso"),
    join(dir.path, "notes.txt"),
  ], join(dir.path, "s"));
  try {
    const ids = seeder.lines.flatMap((line) =>
      line.match(/^seeding (\S+) .* id ([0-9a-f]{64})$/)?.slice(1, 3) ?? []
    );
    const idOf = new Map([[ids[0]!, ids[1]!], [ids[2]!, ids[3]!]]);

    const table = await h.runPeer(tracker, [
      "--list",
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^NAME\s+SIZE\s+PEERS\s+ID$/);
    assert.match(
      lines[1]!,
      new RegExp(
        `^Ubuntu-24\\.04\\.iso\\s+1\\.5 MB\\s+1\\s+${
          idOf.get("Ubuntu-24.04.iso")!.slice(0, 8)
        }$`,
      ),
    );
    assert.match(
      lines[2]!,
      new RegExp(
        `^notes\\.txt\\s+1 B\\s+1\\s+${idOf.get("notes.txt")!.slice(0, 8)}$`,
      ),
    );
    assert.equal(lines[3], "2 files");

    const json = await h.runPeer(tracker, [
      "--list",
      "UBUNTU",
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const objects = h.jsonEvents(json.stdout);
    assert.deepEqual(objects, [{
      type: "file",
      name: "Ubuntu-24.04.iso",
      size: 1_500_000,
      peers: 1,
      seeders: 1,
      fileId: idOf.get("Ubuntu-24.04.iso"),
    }]);
  } finally {
    await seeder.stop();
  }
});

Deno.test("--get finds a name in another case, and a file by the first 8 hex digits of its id", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const source = join(dir.path, "Holiday Photos.ZIP");
  const seeder = await h.seedNewFile(tracker, source, 700_000, 3);
  try {
    const id = seeder.lines.join("\n").match(/ id ([0-9a-f]{64})/)![1]!;

    // By its name in another case, then by its id's first 8 hex digits.
    const queries = ["holiday photos.zip", id.slice(0, 8).toUpperCase()];
    for (const [i, query] of queries.entries()) {
      const out = join(dir.path, `out${i}`);
      const got = await h.getFile(tracker, query, out);
      assert.equal(got.code, 0, `${query}: ${got.stderr}`);
      await h.assertSameFile(join(out, "Holiday Photos.ZIP"), source);
    }
  } finally {
    await seeder.stop();
  }
});

Deno.test("--get of an id prefix two files share exits 4 and lists both", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  const first = new Uint8Array(32).fill(0xab);
  const second = new Uint8Array(32).fill(0xab);
  // Distinct in their first 20 bytes (a swarm is keyed by them), sharing 8 hex digits.
  second[10] = 0xcd;
  for (
    const [port, id, name] of [
      [7001, first, "one.bin"],
      [7002, second, "two.bin"],
    ] as const
  ) {
    h.listOnTracker(tracker, port, { id, name, size: 10, chunkCount: 1 });
  }
  const result = await h.getFile(tracker, "abababab", join(dir.path, "out"));
  assert.equal(result.code, 4, result.stderr);
  assert.match(
    result.stderr,
    /Several files have an id starting with abababab/,
  );
  assert.match(result.stderr, /one\.bin/);
  assert.match(result.stderr, /two\.bin/);
});

Deno.test("--get of an unknown name suggests the closest names the tracker knows", async () => {
  await using dir = await h.tempDir();
  await using tracker = await h.startTracker();
  let port = 7100;
  for (const name of ["ubuntu-24.04.iso", "debian-12.iso", "notes.txt"]) {
    h.listOnTracker(tracker, port++, {
      id: crypto.getRandomValues(new Uint8Array(32)),
      name,
      size: 10,
      chunkCount: 1,
    });
  }
  const result = await h.getFile(tracker, "ubunto-24.04.iso", dir.path);
  assert.equal(result.code, 3, result.stderr);
  assert.equal(
    result.stderr.trim(),
    'error: No file called ubunto-24.04.iso is known to the tracker; did you mean "ubuntu-24.04.iso"? (--list shows every file)',
  );
});

Deno.test("--tracker accepts what a tracker prints: udp://HOST:PORT, with or without /announce", async () => {
  await using tracker = await h.startTracker();
  h.listOnTracker(tracker, 7200, {
    id: new Uint8Array(32).fill(1),
    name: "a.bin",
    size: 5,
    chunkCount: 1,
  });
  for (
    const address of [
      `udp://${tracker.host}:${tracker.port}`,
      `udp://${tracker.host}:${tracker.port}/announce`,
      `UDP://localhost:${tracker.port}/`,
    ]
  ) {
    const result = await h.runPeer(null, [
      "--tracker",
      address,
      "--list",
      "--json",
    ]);
    assert.equal(result.code, 0, `${address}: ${result.stderr}`);
    assert.equal(JSON.parse(result.stdout).name, "a.bin", address);
  }
  const http = await h.runPeer(null, [
    "--tracker",
    `http://${tracker.host}:${tracker.port}/announce`,
    "--list",
  ]);
  assert.equal(http.code, 2);
  assert.match(http.stderr, /Shoal trackers speak UDP; give udp:\/\/HOST:PORT/);
});

Deno.test("a tracker name that does not resolve exits 7, as an unreachable tracker does", async () => {
  await using dir = await h.tempDir();
  const result = await h.runPeer(null, [
    "--tracker",
    "no-such-host.invalid:6969",
    "--list",
  ]);
  assert.equal(result.code, 7, result.stderr);
  assert.match(
    result.stderr,
    /Cannot resolve tracker host "no-such-host\.invalid"/,
  );
  const get = await h.runPeer(null, [
    "--tracker",
    "no-such-host.invalid:6969",
    "--get",
    "a.bin",
    "--out",
    dir.path,
    "--no-seed",
  ]);
  assert.equal(get.code, 7, get.stderr);
});
