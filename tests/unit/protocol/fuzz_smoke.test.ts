import assert from "node:assert/strict";
import { main, mseIterations, runFuzz } from "../../../bench/fuzz.ts";

Deno.test("runFuzz() finds no escapes in a short seeded run of every parser", async () => {
  const reports = await runFuzz({ iterations: 3000, seed: 11 });
  assert.deepStrictEqual(
    reports.map((report) => report.name),
    [
      "parseMessage (datagrams)",
      "FrameDecoder (streams)",
      "parseManifest",
      "parseFolderManifest",
      "fileIdOf",
      "parseTorrent",
      "parseMagnet",
      "FrameReader (reads)",
      "decodeResume",
      "tracker in-place readers (vs parseMessage)",
      "TrackerHandler (datagrams with real cookies)",
      "decodeBencode",
      "BtFrameDecoder (streams)",
      "BitTorrent extended payloads",
      "BEP 52 hash requests (answer, verify)",
      "parseBep15Request (datagrams)",
      "MseResponder (handshakes)",
    ],
  );
  for (const report of reports) {
    // MSE inputs cost two modular powers each: fewer of them.
    assert.equal(
      report.inputs,
      report.name.startsWith("Mse") ? mseIterations(3000) : 3000,
    );
    assert.equal(report.escapeCount, 0, report.escapes[0]?.error);
    const decoded = [...report.outcomes.keys()].filter((label) =>
      !label.startsWith("error:")
    );
    assert.ok(decoded.length > 0, `${report.name} decoded nothing`);
  }
  const extended = reports.find((report) =>
    report.name === "BitTorrent extended payloads"
  )!;
  assert.ok(
    (extended.outcomes.get("ut_pex") ?? 0) > 0,
    "no ut_pex payload was decoded",
  );
});

Deno.test("bench/fuzz.ts main() refuses a bad --iterations", async () => {
  await assert.rejects(() => main(["--iterations", "zero"]), RangeError);
});
