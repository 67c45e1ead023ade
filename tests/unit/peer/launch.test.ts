import assert from "node:assert/strict";
import { peerRunArgs } from "../../../peer/launch.ts";

Deno.test("peerRunArgs() grants read of the seeds and the out folder, write of the out folder only", () => {
  const args = [
    "--tracker",
    "h:1",
    "--seed",
    "a.iso",
    "--seed=/data/b.bin",
    "--out",
    "dl",
  ];
  const run = peerRunArgs(args, "/home/me", { root: "/opt/shoal" });
  assert.deepEqual(run, [
    "run",
    "--no-prompt",
    "--v8-flags=--max-semi-space-size=1",
    "--allow-net",
    "--allow-read=/home/me/a.iso,/data/b.bin,/home/me/dl,/opt/shoal/peer,/opt/shoal/protocol",
    "--allow-write=/home/me/dl",
    "--allow-env=INIT_CWD,HOME,NO_COLOR",
    "/opt/shoal/peer/main.ts",
    ...args,
  ]);
});

Deno.test("peerRunArgs() never grants run, ffi, sys or everything", () => {
  for (
    const args of [[], ["--ui"], ["--get", "x", "--out", "/tmp/o"], [
      "--seed",
      "--out",
    ]]
  ) {
    const run = peerRunArgs(args, "/w", { root: "/r" });
    const flags = run.slice(0, run.indexOf("/r/peer/main.ts"));
    assert.ok(
      flags.every((flag) =>
        !/^(-A|--allow-all|--allow-run|--allow-ffi|--allow-sys|--allow-write=.*,)/
          .test(flag)
      ),
      flags.join(" "),
    );
    assert.equal(
      flags.filter((flag) => flag.startsWith("--allow-write=")).length,
      1,
    );
  }
});

Deno.test("peerRunArgs() refuses a path with a comma rather than widening the grant", () => {
  assert.throws(
    () => peerRunArgs(["--seed", "a,b.iso"], "/w", { root: "/r" }),
    RangeError,
  );
});
