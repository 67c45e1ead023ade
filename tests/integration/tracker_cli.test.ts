import assert from "node:assert/strict";
import { TrackerClient } from "../../peer/tracker_client.ts";
import { runToExit } from "../_helpers/peers.ts";

const MAIN = new URL("../../tracker/main.ts", import.meta.url).pathname;

function runTracker(args: string[]) {
  return runToExit(Deno.execPath(), ["run", "--allow-net", MAIN, ...args]);
}

Deno.test("tracker/main.ts --help prints usage and exits 0", async () => {
  const { code, stdout } = await runTracker(["--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: shoal tracker/);
  for (const flag of ["--host", "--port", "--peer-ttl", "--help"]) {
    assert.ok(stdout.includes(flag), `usage lacks ${flag}`);
  }
});

Deno.test("tracker/main.ts rejects bad flags with one line and exit 2", async () => {
  for (
    const args of [["--bogus"], ["--port", "70000"], ["--peer-ttl", "0"], [
      "extra",
    ]]
  ) {
    const { code, stderr } = await runTracker(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /^Cannot start tracker: .*; see --help\n$/);
  }
});

Deno.test("tracker/main.ts serves on the port it prints and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      MAIN,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--peer-ttl",
      "5",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes("\n") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const match = text.match(
      /^tracker listening on udp:\/\/127\.0\.0\.1:(\d+), peer ttl 5 s\n/,
    );
    assert.ok(match, `unexpected output: ${JSON.stringify(text)}`);
    const port = Number(match[1]);
    assert.ok(port > 0);

    await using client = await TrackerClient.open({ host: "127.0.0.1", port });
    const peerId = crypto.getRandomValues(new Uint8Array(16));
    assert.deepEqual(await client.register(peerId, 7000, []), {
      intervalSeconds: 1,
    });
    assert.equal(await client.keepalive(peerId, 7000), "ok");
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
  }
  const status = await child.status;
  assert.equal(status.code, 0);
});

Deno.test("a tracker on loopback says that only this machine can reach it, and how to share", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-sys=networkInterfaces",
      MAIN,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    const deadline = Date.now() + 10_000;
    while (text.split("\n").length < 3 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
  }
  await child.status;
  assert.match(
    text,
    /\nonly this machine can reach this tracker; start it with --host :: to share with friends\n/,
  );
});
