/**
 * The shared log setup: JSON Lines and text records written synchronously.
 */
import assert from "node:assert/strict";
import { getLogger, reset } from "@logtape/logtape";
import { formatterFor, setupLogging, writerSink } from "../../../logging.ts";
import { cliOutput } from "../../../peer/cli_output.ts";

function memoryWriter() {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(bytes: Uint8Array) {
      // Take at most 7 bytes per call, to exercise short writes.
      const n = Math.min(7, bytes.byteLength);
      chunks.push(bytes.slice(0, n));
      return n;
    },
    isTerminal: () => false,
    text: () =>
      new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

Deno.test("setupLogging() json writes one JSON object per line with the category", async () => {
  const writer = memoryWriter();
  await setupLogging({ level: "info", format: "json", writer });
  try {
    const logger = getLogger(["shoal", "tracker"]);
    logger.debug("not shown");
    logger.info("Peer {peer} joined", { peer: "127.0.0.1:7000" });
    getLogger(["shoal", "peer", "wire"]).warn("Dropped {remote}", {
      remote: "[::1]:7001",
    });
  } finally {
    await reset();
  }
  const lines = writer.text().trimEnd().split("\n");
  assert.equal(lines.length, 2);
  const [first, second] = lines.map((line) => JSON.parse(line));
  assert.equal(first.level, "INFO");
  assert.equal(first.logger, "shoal.tracker");
  assert.equal(first.properties.peer, "127.0.0.1:7000");
  assert.match(first.message, /127\.0\.0\.1:7000/);
  assert.equal(second.logger, "shoal.peer.wire");
  assert.match(second.level, /^WARN/);
});

Deno.test("writerSink() with the text formatter writes whole lines despite short writes", () => {
  const writer = memoryWriter();
  const sink = writerSink(writer, formatterFor("text"));
  sink({
    category: ["shoal", "peer"],
    level: "info",
    message: ["a fairly long message that needs several writes"],
    rawMessage: "a fairly long message that needs several writes",
    properties: {},
    timestamp: 0,
  });
  const text = writer.text();
  assert.ok(text.endsWith("\n"));
  assert.match(
    text,
    /INF.*shoal·peer.*a fairly long message that needs several writes/,
  );
});

Deno.test("cliOutput(true) prints only JSON lines, errors with their exit code", () => {
  const stdout = memoryWriter();
  const stderr = memoryWriter();
  const out = cliOutput(true, { stdout, stderr });
  out.event("serving", { port: 7000 }, "serving peers on port 7000");
  out.error("no_peers", 5, "No peer left");
  assert.equal(stderr.text(), "");
  assert.deepEqual(
    stdout.text().trimEnd().split("\n").map((l) => JSON.parse(l)),
    [
      { type: "serving", port: 7000 },
      { type: "error", code: "no_peers", exitCode: 5, message: "No peer left" },
    ],
  );
});
