import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToExit } from "../_helpers/peers.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Row {
  name: string;
  mbPerS: number | null;
  vsPlain: number | null;
}

Deno.test("bench/merkle_hash.ts times every case, this checkout's and another's, and reports them", async () => {
  const { code, stdout, stderr } = await runToExit(Deno.execPath(), [
    "run",
    "-A",
    "bench/merkle_hash.ts",
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
  ], { cwd: REPO });
  assert.equal(code, 0, stderr);
  assert.match(stdout, /case +MB\/s CPU +min-max +vs plain/);
  const json = JSON.parse(stdout.trim().split("\n").at(-1)!);
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
