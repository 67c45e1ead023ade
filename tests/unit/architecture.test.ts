/**
 * The architecture as a test: who may import what (docs/ARCHITECTURE.md).
 * Reads every TypeScript file's static and dynamic imports, resolves the
 * relative ones and the `@shoal/*` import-map names, and checks the rules.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const IMPORT_MAP: Record<string, string> = JSON.parse(
  await Deno.readTextFile(join(ROOT, "deno.json")),
).imports;
const FOLDERS = ["protocol", "tracker", "peer", "bench", "demo", "tests"];
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\b[^'"`;]*?from\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|new URL\(\s*["'](\.[^"']+\.ts)["']/g;

/** Every .ts file under the repository, as a path relative to the root. */
async function sourceFiles(): Promise<string[]> {
  const found: string[] = [];
  async function walk(folder: string): Promise<void> {
    for await (const entry of Deno.readDir(join(ROOT, folder))) {
      const path = folder ? `${folder}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules") {
          await walk(path);
        }
      } else if (entry.name.endsWith(".ts")) found.push(path);
    }
  }
  await walk("");
  return found;
}

/** The repository files `file` imports (relative paths), ignoring npm: and node:. */
async function importsOf(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(ROOT, file));
  const out: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3]!;
    let target: string | null = null;
    if (specifier.startsWith(".")) {
      target = resolve(ROOT, dirname(file), specifier);
    } else if (IMPORT_MAP[specifier]?.startsWith("./")) {
      target = resolve(ROOT, IMPORT_MAP[specifier]!);
    }
    if (target) out.push(relative(ROOT, target));
  }
  return out;
}

function topFolder(path: string): string {
  const first = path.split("/")[0]!;
  return FOLDERS.includes(first) ? first : "(root)";
}

const graph = new Map<string, string[]>();
for (const file of await sourceFiles()) graph.set(file, await importsOf(file));

function violations(
  rule: (from: string, to: string) => boolean,
): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (rule(from, to)) found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

Deno.test("the import graph is read: peer/cli.ts imports the protocol and its own modules", () => {
  // Guards the checks below against a parser that finds nothing.
  const imports = graph.get("peer/cli.ts") ?? [];
  assert.ok(imports.includes("protocol/mod.ts"), imports.join(", "));
  assert.ok(imports.includes("peer/node.ts"), imports.join(", "));
  assert.ok(graph.size > 100, `${graph.size} files`);
});

Deno.test("protocol/ imports nothing of Shoal outside itself", () => {
  assert.deepEqual(
    violations((from, to) =>
      topFolder(from) === "protocol" && topFolder(to) !== "protocol"
    ),
    [],
  );
});

Deno.test("tracker/ and peer/ do not import each other", () => {
  assert.deepEqual(
    violations((from, to) =>
      (topFolder(from) === "tracker" && topFolder(to) === "peer") ||
      (topFolder(from) === "peer" && topFolder(to) === "tracker")
    ),
    [],
  );
});

Deno.test("code outside tests/ never imports from tests/", () => {
  assert.deepEqual(
    violations((from, to) =>
      topFolder(from) !== "tests" && topFolder(to) === "tests"
    ),
    [],
  );
});

Deno.test("shipped code (protocol/, tracker/, peer/) never imports bench/ or demo/", () => {
  assert.deepEqual(
    violations((from, to) =>
      ["protocol", "tracker", "peer"].includes(topFolder(from)) &&
      ["bench", "demo"].includes(topFolder(to))
    ),
    [],
  );
});
