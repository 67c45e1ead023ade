import assert from "node:assert/strict";
import { join } from "node:path";
import {
  PEER_V8_FLAGS,
  peerRunArgs,
  realPathOf,
} from "../../../peer/launch.ts";

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
    "--v8-flags=--max-semi-space-size=1,--expose-gc",
    "--allow-net",
    "--allow-read=/home/me/a.iso,/data/b.bin,/home/me/dl,/opt/shoal/peer,/opt/shoal/protocol",
    "--allow-write=/home/me/dl",
    "--allow-env=INIT_CWD,HOME,NO_COLOR",
    "--ignore-env=DEBUG",
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

Deno.test("peerRunArgs() lets --make-torrent read its file and write its .torrent, and nothing else", () => {
  const grants = (args: string[]) => {
    const run = peerRunArgs(args, "/home/me", { root: "/r" });
    return run.slice(0, run.indexOf("/r/peer/main.ts"));
  };
  const made = grants(["--make-torrent", "data/a.iso", "--tracker", "h:1"]);
  assert.ok(
    made.includes(
      "--allow-read=/home/me/data/a.iso,/home/me/a.iso.torrent,/r/peer,/r/protocol",
    ),
    made.join(" "),
  );
  assert.ok(made.includes("--allow-write=/home/me/a.iso.torrent"));
  const out = grants([
    "--make-torrent",
    "a.iso",
    "--torrent-out",
    "/t/x.torrent",
  ]);
  assert.ok(out.includes("--allow-write=/t/x.torrent"), out.join(" "));
});

Deno.test("peerRunArgs() lets --get read the .torrent it names, and not a name or a magnet link", () => {
  const grants = (get: string) =>
    peerRunArgs(["--get", get], "/home/me", { root: "/r" }).find((flag) =>
      flag.startsWith("--allow-read=")
    );
  assert.equal(
    grants("t/a.iso.torrent"),
    "--allow-read=/home/me/t/a.iso.torrent,/home/me/downloads,/r/peer,/r/protocol",
  );
  for (const get of ["a.iso", `magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`]) {
    assert.equal(
      grants(get),
      "--allow-read=/home/me/downloads,/r/peer,/r/protocol",
    );
  }
});

Deno.test("peerRunArgs() refuses a path with a comma rather than widening the grant", () => {
  assert.throws(
    () => peerRunArgs(["--seed", "a,b.iso"], "/w", { root: "/r" }),
    RangeError,
  );
});

Deno.test("peerRunArgs() grants a linked path both as given and as it really is", () => {
  const links: Record<string, string> = {
    "/home/me/dl": "/mnt/big/dl",
    "/home/me/a.iso": "/mnt/big/a.iso",
  };
  const run = peerRunArgs(["--seed", "a.iso", "--out", "dl"], "/home/me", {
    root: "/r",
    realPath: (path) => links[path] ?? path,
  });
  assert.ok(
    run.includes(
      "--allow-read=/home/me/a.iso,/mnt/big/a.iso,/home/me/dl,/mnt/big/dl,/r/peer,/r/protocol",
    ),
    run.join(" "),
  );
  assert.ok(run.includes("--allow-write=/home/me/dl,/mnt/big/dl"));
});

Deno.test("realPathOf() resolves links in a path that does not exist yet", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const real = await Deno.realPath(dir);
    await Deno.mkdir(join(dir, "target"));
    await Deno.symlink(join(dir, "target"), join(dir, "link"));
    assert.equal(
      realPathOf(join(dir, "link", "new", "deeper")),
      join(real, "target", "new", "deeper"),
    );
    assert.equal(realPathOf(join(dir, "plain")), join(real, "plain"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the peer and install tasks start the launcher with the peer's V8 flags, so the code they share is cached once", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)),
  );
  for (const task of ["peer", "install"]) {
    const command: string = config.tasks[task].command;
    assert.ok(
      command.split(" ").includes(PEER_V8_FLAGS),
      `the ${task} task runs without ${PEER_V8_FLAGS}: ${command}`,
    );
  }
});
