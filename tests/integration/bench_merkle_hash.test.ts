import assert from "node:assert/strict";
import { REPO, runBench } from "../_helpers/bench_run.ts";

interface Row {
  name: string;
  mbPerS: number | null;
  vsPlain: number | null;
}

Deno.test("bench/merkle_hash.ts times every case, this checkout's and another's, and reports them", async () => {
  const { stdout, json } = await runBench("bench/merkle_hash.ts", [
    "--rounds",
    "1",
    "--budget-ms",
    "5",
    "--stream",
    "2M",
    "--openssl",
    "0",
    "--gc",
    "4M",
    "--compare",
    REPO,
  ]);
  assert.match(stdout, /case +MB\/s CPU +min-max +vs plain/);
  const rows = json.rows as Row[];
  const names = rows.map((row) => row.name);
  for (
    const name of [
      "chunkDigest, 512 KiB chunk (Merkle)",
      "chunkDigest, 4 MiB chunk (Merkle)",
      "ManifestBuilder, 2 MiB stream",
    ]
  ) {
    assert.ok(names.includes(name), names.join(", "));
    const other = rows.find((row) => row.name.startsWith(`${name} [`));
    assert.ok(other?.mbPerS, `${name} from --compare: ${names.join(", ")}`);
  }
  for (const row of rows.filter((row) => !row.name.startsWith("openssl"))) {
    assert.ok(row.mbPerS! > 0, row.name);
  }
  assert.ok(rows.filter((row) => row.vsPlain !== null).length >= 6);
  assert.equal(json.collections.rows.length, 2 + 1);
});
