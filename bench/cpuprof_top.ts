// deno-lint-ignore-file no-console
/**
 * Summarises V8 .cpuprofile files (from `deno run --cpu-prof`): the top
 * functions by self time and by inclusive time, per file.
 *
 * Usage: `deno run --allow-read bench/cpuprof_top.ts [--top 25] FILE.cpuprofile...`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  if (!url) return name;
  const file = url.replace(
    /^file:\/\/.*?\/(peer|protocol|tracker|bench)\//,
    "$1/",
  )
    .replace(/^ext:/, "ext:");
  return `${name} ${file}:${lineNumber + 1}`;
}

/**
 * Self and inclusive milliseconds per function label.
 *
 * @param profile a parsed .cpuprofile
 */
export function summarizeProfile(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + us);
    // Each label counted once per stack, however deep the recursion.
    const seen = new Set<string>();
    let at: number | undefined = id;
    for (let guard = 0; at !== undefined && guard < 10_000; guard++) {
      const k = label(byId.get(at)!);
      at = parent.get(at);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const totalUs = profile.endTime - profile.startTime;
  return { self, inclusive, totalUs };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      top: { type: "string", default: "25" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length === 0) {
    console.log(
      `Usage: deno run --allow-read bench/cpuprof_top.ts [--top 25] FILE.cpuprofile...

Prints the functions with the most self time and inclusive time in each V8
CPU profile (from \`deno run --cpu-prof --cpu-prof-dir=DIR ...\`).

Options:
  --top N   rows per table (default 25)
  --help    print this help and exit`,
    );
    Deno.exit(values.help ? 0 : 2);
  }
  const top = Number(values.top);
  for (const path of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(path)) as Profile;
    const { self, inclusive, totalUs } = summarizeProfile(profile);
    const ms = (us: number) => (us / 1000).toFixed(1).padStart(8);
    const pct = (us: number) =>
      `${(us / totalUs * 100).toFixed(1).padStart(5)}%`;
    console.log(
      `\n== ${basename(path)}: ${(totalUs / 1e6).toFixed(2)} s profiled`,
    );
    console.log("-- self time");
    for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
    }
    console.log("-- inclusive time");
    for (
      const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)
    ) {
      console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
    }
  }
}
