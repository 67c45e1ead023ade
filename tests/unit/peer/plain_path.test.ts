import assert from "node:assert/strict";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  joinPath,
  lastComponent,
  parentPath,
  resolvePath,
} from "../../../peer/plain_path.ts";
import { pathFlags } from "../../../peer/launch.ts";

// Path components as users type them: dots, repeated and trailing slashes,
// spaces and non-ASCII letters included.
const component = fc.constantFrom(
  "",
  ".",
  "..",
  "a",
  "b c",
  "träck.flac",
  ".hidden",
  "x.torrent",
  "...",
);
const relative = fc.array(component, { maxLength: 6 }).map((parts) =>
  parts.join("/")
);
const absolute = relative.map((path) => `/${path}`);
// A real path, as realPathOf joins onto: no trailing slash.
const real = absolute.map((path) => resolve(path));

Deno.test("plain_path resolves, splits and joins paths exactly as node:path does", () => {
  fc.assert(
    fc.property(absolute, fc.oneof(relative, absolute), (base, path) => {
      assert.equal(resolvePath(base, path), resolve(base, path));
      const full = resolve(base, path);
      assert.equal(parentPath(full), dirname(full));
      assert.equal(lastComponent(full), basename(full));
      assert.equal(lastComponent(path), basename(path));
    }),
    { numRuns: 2_000, seed: 19 },
  );
  fc.assert(
    // Components as realPathOf appends them: never empty.
    fc.property(
      real,
      fc.array(component.filter((c) => c !== ""), { maxLength: 4 }),
      (base, parts) => {
        assert.equal(joinPath(base, ...parts), join(base, ...parts));
      },
    ),
    { numRuns: 1_000, seed: 20 },
  );
});

Deno.test("pathFlags reads --seed, --out, --get, --make-torrent and --torrent-out as node:util's lenient parseArgs does", () => {
  const word = fc.constantFrom(
    "--seed",
    "--out",
    "--get",
    "--make-torrent",
    "--torrent-out",
    "--seed=a.iso",
    "--out=dl",
    "--get=x.torrent",
    "--tracker",
    "h:1",
    "--no-seed",
    "--json",
    "-h",
    "--",
    "a.iso",
    "dir/b c",
    "--out=",
    "--seed=--out",
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 10 }), (args) => {
      const { values } = parseArgs({
        args,
        options: {
          seed: { type: "string", multiple: true, default: [] },
          out: { type: "string" },
          get: { type: "string" },
          "make-torrent": { type: "string" },
          "torrent-out": { type: "string" },
        },
        strict: false,
        allowPositionals: true,
      });
      const text = (value: unknown) => typeof value === "string" ? value : null;
      const ours = pathFlags(args);
      assert.deepEqual(
        ours.seed,
        (values.seed as unknown[]).filter((v) => typeof v === "string"),
        JSON.stringify(args),
      );
      for (
        const name of ["out", "get", "make-torrent", "torrent-out"] as const
      ) {
        assert.equal(ours[name], text(values[name]), JSON.stringify(args));
      }
    }),
    { numRuns: 3_000, seed: 21 },
  );
});
