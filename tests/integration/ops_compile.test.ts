/**
 * `deno task compile`: the real task's commands, with the output moved to a
 * temporary folder, then the executables' --version and a tiny swarm
 * (tracker, seeder, leecher) on loopback.
 *
 * `deno compile` needs the "denort" runtime for this Deno version, which it
 * downloads from dl.deno.land unless DENORT_BIN names a local copy. Where
 * neither works (no network, as on the build machines) the test is skipped
 * with the reason in its output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOAL_VERSION } from "../../version.ts";
import * as h from "../_helpers/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Why `deno compile` cannot build here, or null when it built. */
type CompileOutcome = { built: true } | { built: false; reason: string };

/** The compile task's commands, each as deno's arguments, writing to `outDir`. */
async function compileCommands(outDir: string): Promise<string[][]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const command: string = config.tasks.compile.command;
  return command.split("&&").map((part) => {
    const words = part.trim().split(/\s+/);
    assert.equal(words[0], "deno");
    return words.slice(1).map((word) =>
      word.startsWith("dist/") ? join(outDir, word.slice(5)) : word
    );
  });
}

function runtimeMissing(stderr: string): boolean {
  return /denort|Setting up base binary|dl\.deno\.land/.test(stderr) &&
    /error sending request|dns error|Connect|timed out|not found|No such file/i
      .test(stderr);
}

async function compileAll(outDir: string): Promise<CompileOutcome> {
  for (const args of await compileCommands(outDir)) {
    const output = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    if (output.success) continue;
    if (runtimeMissing(stderr)) {
      const lines = stderr.split("\n").map((line) => line.trim());
      const cause = lines.find((line) =>
        line.includes("error sending request")
      ) ??
        lines.find((line) => line.includes("denort")) ??
        "the denort runtime cannot be fetched";
      return { built: false, reason: cause };
    }
    throw new Error(`deno ${args.join(" ")} failed:\n${stderr}`);
  }
  return { built: true };
}

function skipNote(reason: string): string {
  return `deno compile cannot get its runtime here (${reason}); skipping the executables. Set DENORT_BIN to a local denort ${Deno.version.deno} binary, or run where dl.deno.land is reachable`;
}

const run = h.runToExit;

/** Runs an executable the way spawnDeno runs a script. */
function spawnBinary(binary: string, args: string[]) {
  // spawnDenoWith runs Deno.execPath(); point it at the binary instead.
  return h.spawnDenoWith(args, { cwd: ROOT, binary });
}

Deno.test("deno task compile builds shoal-tracker and shoal-peer that print --version and share a file", async (t) => {
  await using dir = await h.tempDir();
  const outcome = await compileAll(join(dir.path, "dist"));
  if (!outcome.built) {
    // Recorded as a passing step whose name says why nothing more ran.
    await t.step({
      name: skipNote(outcome.reason),
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const trackerBin = join(dir.path, "dist", "shoal-tracker");
  const peerBin = join(dir.path, "dist", "shoal-peer");
  assert.equal(
    (await run(trackerBin, ["--version"])).stdout.trim(),
    `shoal-tracker ${SHOAL_VERSION}`,
  );
  assert.equal(
    (await run(peerBin, ["--version"])).stdout.trim(),
    `shoal-peer ${SHOAL_VERSION}`,
  );

  const source = join(dir.path, "compiled.bin");
  await h.makeFile(source, 2 * 512 * 1024 + 99, 4);
  const tracker = spawnBinary(trackerBin, [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  try {
    const [, port] = await tracker.waitFor(/udp:\/\/127\.0\.0\.1:(\d+)/);
    const seeder = spawnBinary(peerBin, [
      "--tracker",
      `127.0.0.1:${port}`,
      "--seed",
      source,
      "--out",
      join(dir.path, "s"),
    ]);
    try {
      await seeder.waitFor(/serving peers on port/);
      const leecher = await spawnBinary(peerBin, [
        "--tracker",
        `127.0.0.1:${port}`,
        "--get",
        "compiled.bin",
        "--out",
        join(dir.path, "l"),
        "--no-seed",
      ]).done(60_000);
      assert.equal(leecher.code, 0, leecher.stderr);
      await h.assertSameFile(join(dir.path, "l", "compiled.bin"), source);
    } finally {
      assert.equal(await seeder.stop(), 0);
    }
  } finally {
    assert.equal(await tracker.stop(), 0);
  }
});
