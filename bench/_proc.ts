/**
 * Process helpers for the benchmarks: spawn a program directly (so its PID
 * is the program's, not a shell's), watch its output for a line, poll its
 * peak RSS from /proc, and stop it by PID with bounded waits.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { withoutPublicDht } from "./_shoal_args.ts";

/** Default time to wait for a stopped process to exit. */
const STOP_GRACE_MS = 3_000;
/** How often the peak RSS of a running process is sampled. */
const RSS_POLL_MS = 25;
/** A process tree that has not grown for this long is looked at less often. */
const TREE_SETTLED_MS = 1_000;
/** Lines of output kept in memory per process (the log file has all). */
const MAX_KEPT_LINES = 400;

/** Options for {@linkcode spawnProcess}. */
export interface SpawnOptions {
  /** Arguments after the program. */
  args: string[];
  /** Working folder. @default {Deno.cwd()} */
  cwd?: string;
  /** File to append stdout and stderr to; none when undefined. */
  logPath?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * Also sample every process the program starts, and theirs: for
   * `deno task`, whose real work runs in a grandchild (the launcher starts
   * the peer). @default {false}
   */
  tree?: boolean;
  /** Called with each output line and the milliseconds from spawn to its arrival. */
  onLine?: (line: string, atMs: number) => void;
}

/** One process of a sampled tree: the program itself (depth 0) or a descendant. */
export interface TreeMember {
  pid: number;
  /** 0 for the program, 1 for its children, 2 for theirs. */
  depth: number;
  /** Milliseconds from the program's spawn to the first poll that saw it. */
  seenMs: number;
  /** Its own peak RSS (VmHWM), bytes, as last sampled. */
  peakBytes: number;
  /** Its CPU time (user + system), seconds, as last sampled. */
  cpuSeconds: number;
}

interface Member {
  depth: number;
  seenMs: number;
  peakKiB: number;
  cpuTicks: number;
}

/** A child process the benchmark owns. */
export class BenchProcess {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly startedMs: number;
  /** The program (first) and, with `tree`, each descendant seen, by PID. */
  readonly #members = new Map<number, Member>();
  readonly #tree: boolean;
  readonly #lineHook: ((line: string, atMs: number) => void) | undefined;
  #polls = 0;
  #lastGrowthMs: number;
  #execed = false;
  #exitedMs: number | null = null;
  #status: Deno.CommandStatus | null = null;
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  #timer: ReturnType<typeof setInterval>;
  #exited: Promise<Deno.CommandStatus>;
  #drained: Promise<void>;

  constructor(
    name: string,
    child: Deno.ChildProcess,
    options: Pick<SpawnOptions, "logPath" | "tree" | "onLine"> = {},
  ) {
    this.name = name;
    this.child = child;
    this.startedMs = performance.now();
    this.#tree = options.tree ?? false;
    this.#lineHook = options.onLine;
    this.#lastGrowthMs = this.startedMs;
    this.#members.set(child.pid, {
      depth: 0,
      seenMs: 0,
      peakKiB: 0,
      cpuTicks: 0,
    });
    this.#timer = setInterval(() => this.samplePeak(), RSS_POLL_MS);
    this.#exited = child.status.then((status) => {
      this.#exitedMs = performance.now();
      this.#status = status;
      clearInterval(this.#timer);
      return status;
    });
    this.#drained = this.#drain(options.logPath);
  }

  /** The program's PID. */
  get pid(): number {
    return this.child.pid;
  }

  /** Exit status once exited, else null. */
  get status(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Milliseconds from spawn to exit, or null while running. */
  get elapsedMs(): number | null {
    return this.#exitedMs === null ? null : this.#exitedMs - this.startedMs;
  }

  /**
   * Peak RSS seen so far (VmHWM), in bytes; with `tree`, the largest peak of
   * any one process of the tree (for `deno task peer`: the peer's).
   */
  get peakBytes(): number {
    let kib = 0;
    for (const m of this.#members.values()) kib = Math.max(kib, m.peakKiB);
    return kib * 1024;
  }

  /** The sum of each sampled process's own peak RSS, in bytes (an upper bound). */
  get treePeakBytes(): number {
    let kib = 0;
    for (const m of this.#members.values()) kib += m.peakKiB;
    return kib * 1024;
  }

  /** The processes sampled so far: the program first, then descendants as seen. */
  get members(): TreeMember[] {
    return [...this.#members].map(([pid, m]) => ({
      pid,
      depth: m.depth,
      seenMs: m.seenMs,
      peakBytes: m.peakKiB * 1024,
      cpuSeconds: m.cpuTicks / CLOCK_TICKS_PER_SECOND,
    }));
  }

  /**
   * Reads VmHWM and CPU time once (with `tree`, of every process of the
   * tree, looking for new ones); a process that has exited keeps its last
   * values.
   */
  samplePeak(): void {
    if (this.#exitedMs !== null) return;
    if (!this.#execed) {
      // Between fork and exec the child still shows this process's memory.
      if (readCmdline(this.pid) === SELF_CMDLINE) return;
      this.#execed = true;
    }
    this.#polls++;
    // A tree grows at its start (deno task, the launcher, the peer): look
    // for new processes at every poll until it has not grown for a while,
    // then at every 8th (a look costs ~1 ms: every thread's list).
    const sinceGrowthMs = performance.now() - this.#lastGrowthMs;
    if (
      this.#tree && (sinceGrowthMs < TREE_SETTLED_MS || this.#polls % 8 === 0)
    ) {
      this.#discover(performance.now() - this.startedMs);
    }
    for (const [pid, m] of this.#members) {
      const kib = readStatusKiB(pid, "VmHWM");
      if (kib !== null && kib > m.peakKiB) m.peakKiB = kib;
      const ticks = readCpuTicks(pid);
      if (ticks !== null) m.cpuTicks = ticks;
    }
  }

  /**
   * CPU time (user + system, all threads) used so far, as last sampled, in
   * seconds; with `tree`, summed over the tree.
   */
  get cpuSeconds(): number {
    let ticks = 0;
    for (const m of this.#members.values()) ticks += m.cpuTicks;
    return ticks / CLOCK_TICKS_PER_SECOND;
  }

  #discover(sinceSpawnMs: number): void {
    const before = this.#members.size;
    for (const [pid, m] of [...this.#members]) {
      for (const child of childPids(pid)) {
        if (this.#members.has(child)) continue;
        // Between fork and exec a child still shows its parent's memory.
        if (readCmdline(child) === readCmdline(pid)) continue;
        this.#members.set(child, {
          depth: m.depth + 1,
          seenMs: sinceSpawnMs,
          peakKiB: 0,
          cpuTicks: 0,
        });
      }
    }
    if (this.#members.size > before) this.#lastGrowthMs = performance.now();
  }

  /**
   * Resets the kernel's peak RSS (VmHWM) of the process to its current RSS,
   * so the next reading covers only what follows (Linux >= 4.0, needs the
   * right to write /proc/PID/clear_refs).
   */
  resetPeak(): void {
    for (const [pid, m] of this.#members) {
      try {
        Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
        m.peakKiB = 0;
      } catch {
        // Not allowed, or gone: the peak then covers the process's whole life.
      }
    }
    this.samplePeak();
  }

  /** Resolves with the first output line matching `re`, or rejects on timeout/exit. */
  async waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return m;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let resolveWaiter!: (m: RegExpMatchArray) => void;
    const found = new Promise<RegExpMatchArray>((resolve) => {
      resolveWaiter = resolve;
    });
    const waiter = { re, resolve: resolveWaiter };
    this.#waiters.push(waiter);
    try {
      return await Promise.race([
        found,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `${this.name}: no line matching ${re} within ${timeoutMs} ms; last output:\n${this.tail()}`,
                ),
              ),
            timeoutMs,
          );
        }),
        this.#exited.then(() => this.#drained).then(() => {
          for (const line of this.lines) {
            const m = line.match(re);
            if (m) return m;
          }
          throw new Error(
            `${this.name} exited (code ${this.#status?.code}) before printing ${re}; last output:\n${this.tail()}`,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }

  /** Waits for exit at most `timeoutMs`; returns the status or null. */
  async waitExit(timeoutMs: number): Promise<Deno.CommandStatus | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.#exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result) await withTimeout(this.#drained, 2_000);
    return result;
  }

  /** SIGTERM, wait, then SIGKILL and wait; always bounded. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.#exitedMs === null) {
      this.samplePeak();
      try {
        this.child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      if (await this.waitExit(graceMs) === null) {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await this.waitExit(graceMs);
      }
    }
    clearInterval(this.#timer);
    live.delete(this);
    await withTimeout(this.#drained, 2_000);
  }

  /** The last output lines, for error messages. */
  tail(n = 15): string {
    return this.lines.slice(-n).join("\n");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #drain(logPath: string | undefined): Promise<void> {
    const log = logPath ? await open(logPath, "a") : null;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let partial = "";
      for await (const chunk of stream) {
        if (log) await log.write(chunk);
        partial += decoder.decode(chunk, { stream: true });
        // Progress bars redraw with \r: treat it as a line end too.
        const parts = partial.split(/\r?\n|\r/);
        partial = parts.pop() ?? "";
        for (const line of parts) this.#onLine(line);
        if (partial.length > 65_536) partial = partial.slice(-4_096);
      }
      if (partial) this.#onLine(partial);
    };
    try {
      await Promise.all([pump(this.child.stdout), pump(this.child.stderr)]);
    } finally {
      await log?.close();
    }
  }

  #onLine(line: string): void {
    this.#lineHook?.(line, performance.now() - this.startedMs);
    this.lines.push(line);
    if (this.lines.length > MAX_KEPT_LINES) this.lines.splice(0, 100);
    for (const waiter of this.#waiters) {
      const m = line.match(waiter.re);
      if (m) waiter.resolve(m);
    }
  }
}

/** The PIDs of a process's children (from every thread's `children` list). */
function childPids(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(
        `/proc/${pid}/task/${task.name}/children`,
      );
      for (const word of text.split(" ")) {
        const child = Number(word);
        if (word && Number.isInteger(child)) pids.push(child);
      }
    }
  } catch {
    // Gone, or a thread ended meanwhile: the next poll looks again.
  }
  return pids;
}

function readCmdline(pid: number | "self"): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return null;
  }
}

/** This process's command line, to tell a forked child that has not exec'd yet. */
const SELF_CMDLINE = readCmdline("self");

/** Every process still running, so a crash or Ctrl+C can stop them. */
const live = new Set<BenchProcess>();

/** CPU seconds the processes used so far, added up (sampled now). */
export function cpuOf(procs: readonly BenchProcess[]): number {
  let seconds = 0;
  for (const p of procs) {
    p.samplePeak();
    seconds += p.cpuSeconds;
  }
  return seconds;
}

/**
 * Spawns `program` directly (no shell) with piped output.
 *
 * @param name a label for messages
 * @param program path of the executable
 * @param options arguments, folder, log file
 * @returns the running process
 */
export function spawnProcess(
  name: string,
  program: string,
  options: SpawnOptions,
): BenchProcess {
  const child = new Deno.Command(program, {
    // A peer never reaches the public DHT from a benchmark.
    args: withoutPublicDht(options.args, program),
    cwd: options.cwd ?? Deno.cwd(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  const proc = new BenchProcess(name, child, options);
  live.add(proc);
  return proc;
}

/** Stops every process this module spawned that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(1_000)));
}

/**
 * Runs a program to completion with a time limit.
 *
 * @returns exit code, output and seconds taken
 */
export async function runToEnd(
  program: string,
  args: string[],
  timeoutMs: number,
  cwd?: string,
): Promise<{ code: number; output: string; seconds: number }> {
  const proc = spawnProcess(program, program, {
    args,
    ...(cwd ? { cwd } : {}),
  });
  const status = await proc.waitExit(timeoutMs);
  if (!status) {
    await proc.stop(500);
    throw new Error(`${program} ${args.join(" ")}: no exit in ${timeoutMs} ms`);
  }
  live.delete(proc);
  return {
    code: status.code,
    output: proc.lines.join("\n"),
    seconds: (proc.elapsedMs ?? 0) / 1000,
  };
}

/** USER_HZ: the unit of /proc/PID/stat times (100 on Linux x86 and arm). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process from /proc/PID/stat, in clock ticks, or null. */
export function readCpuTicks(pid: number): number | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // Fields after the ")" that ends the command name: state is field 3,
  // utime field 14, stime field 15.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime + stime) ? utime + stime : null;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function readMachineTicks(): { busy: number; total: number } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/stat");
  } catch {
    return null;
  }
  const cols = text.slice(0, text.indexOf("\n")).trim().split(/\s+/).slice(1)
    .map(Number);
  const total = cols.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cols[3] ?? 0) + (cols[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Measures how busy the machine was between `start()` and `stop()`:
 * 1.0 means every core was busy the whole time (our processes included).
 */
export function machineBusy(): { stop(): number | null } {
  const a = readMachineTicks();
  return {
    stop() {
      const b = readMachineTicks();
      if (!a || !b || b.total === a.total) return null;
      return (b.busy - a.busy) / (b.total - a.total);
    },
  };
}

/** Reads one "Key:   N kB" field of /proc/PID/status, in KiB, or null. */
export function readStatusKiB(pid: number, key: string): number | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return null;
  }
  const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : null;
}

/** Resolves with `promise`, or with undefined after `ms`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Asks `count()` every 100 ms until it reports at least `want`.
 *
 * @returns nothing once it does
 * @throws {Error} after `timeoutMs`, with `describe(last)` as the message
 */
export async function waitForCount(
  count: () => Promise<number | null>,
  want: number,
  timeoutMs: number,
  describe: (last: number | null) => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: number | null = null;
  while (performance.now() < deadline) {
    last = await count();
    if (last !== null && last >= want) return;
    await sleep(100);
  }
  throw new Error(describe(last));
}

/** A TCP port free on 127.0.0.1 right now. */
export function freeTcpPort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/** A UDP port free on 127.0.0.1 right now. */
export function freeUdpPort(): number {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

/**
 * A port free on 127.0.0.1 for both TCP and UDP right now, for servers that
 * bind both (opentracker: HTTP and UDP on one port). A port free for UDP
 * alone was once taken for TCP by a Shoal seeder and cost a whole case.
 */
export function freeTcpUdpPort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = freeTcpPort();
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port })
        .close();
      return port;
    } catch {
      // Taken for UDP: try another.
    }
  }
  throw new Error("Cannot find a port free for both TCP and UDP on 127.0.0.1");
}

/** True when something listens on TCP `port` (from /proc/net/tcp{,6}). */
export function isTcpListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === "0A") return true;
    }
  }
  return false;
}

/** Waits until TCP `port` listens; throws after `timeoutMs`. */
export async function waitTcpListening(
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (isTcpListening(port)) return;
    await sleep(10);
  }
  throw new Error(`Nothing listens on TCP port ${port} after ${timeoutMs} ms`);
}

/** True when `program` can be found on PATH (or is an existing path). */
export function which(program: string): string | null {
  if (program.includes("/")) {
    try {
      Deno.statSync(program);
      return program;
    } catch {
      return null;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const path = `${dir}/${program}`;
      const info = Deno.statSync(path);
      if (info.isFile) return path;
    } catch {
      // Not here.
    }
  }
  return null;
}
