import assert from "node:assert/strict";
import {
  Gate,
  MANIFEST_PARALLEL,
  MANIFEST_PARALLEL_MAX,
  manifestParallel,
  raceManifest,
} from "../../../peer/download/manifest_race.ts";

/** A peer's answer in these tests: bytes after `ms`, a failure, or never. */
type Answer = { ms: number; bytes?: Uint8Array; fail?: string } | "never";

function abortable(answer: Answer, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("cancelled"));
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (answer !== "never") {
      timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        if (answer.fail) reject(new Error(answer.fail));
        else resolve(answer.bytes!);
      }, answer.ms);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function race(
  answers: Answer[],
  options: { parallel?: number; leftMs?: () => number } = {},
) {
  const queue = answers.map((answer, i) => ({ i, answer }));
  const started: number[] = [];
  const failed: number[] = [];
  let cancelled = 0;
  const result = raceManifest<{ i: number; answer: Answer }>({
    next: () => queue.shift() ?? null,
    fetch: (peer, signal) => {
      started.push(peer.i);
      signal.addEventListener("abort", () => cancelled++);
      return abortable(peer.answer, signal);
    },
    failed: (peer) => failed.push(peer.i),
    refresh: () => Promise.resolve(),
    leftMs: options.leftMs ?? (() => 10_000),
    stopped: new Promise<never>(() => {}),
    parallel: options.parallel ?? 4,
    refreshMs: 20,
  });
  return { result, started, failed, cancelled: () => cancelled };
}

Deno.test("the first peer to answer wins while silent ones are asked at the same time", async () => {
  const good = new Uint8Array([1, 2, 3]);
  const run = race(["never", "never", "never", { ms: 5, bytes: good }]);
  const won = await run.result;
  assert.deepEqual(won?.bytes, good);
  assert.equal(won?.peer.i, 3);
  assert.deepEqual(run.started, [0, 1, 2, 3]);
  // The silent ones were cancelled, not left to time out.
  assert.equal(run.cancelled(), 3);
});

Deno.test("a failed peer's place goes to the next one at once", async () => {
  const good = new Uint8Array([9]);
  const run = race(
    [{ ms: 1, fail: "refused" }, "never", { ms: 1, bytes: good }],
    { parallel: 2 },
  );
  const won = await run.result;
  assert.equal(won?.peer.i, 2);
  assert.deepEqual(run.failed, [0]);
});

Deno.test("the race gives up at the deadline, whatever the peers do", async () => {
  const deadline = performance.now() + 50;
  const run = race(["never", "never"], {
    leftMs: () => deadline - performance.now(),
  });
  assert.equal(await run.result, null);
  assert.equal(run.cancelled(), 2);
});

Deno.test("a throw from failed() stops the race and cancels the rest", async () => {
  const run = raceManifest<number>({
    next: (() => {
      let i = 0;
      return () => (i < 3 ? i++ : null);
    })(),
    fetch: (peer, signal) =>
      peer === 0
        ? Promise.reject(new Error("bad"))
        : abortable("never", signal),
    failed: () => {
      throw new Error("stop everything");
    },
    refresh: () => Promise.resolve(),
    leftMs: () => 10_000,
    stopped: new Promise<never>(() => {}),
  });
  await assert.rejects(run, /stop everything/);
});

Deno.test("the tracker is asked again while every candidate keeps failing, so a holder it lists later is found", async () => {
  // Silent peers on back-off never run out; the honest one is not among
  // the holders the tracker listed first.
  const good = new Uint8Array([7]);
  let listed = false;
  let taken = false;
  const deadline = performance.now() + 2_000;
  const won = await raceManifest<{ honest: boolean }>({
    next: () => {
      if (listed && !taken) {
        taken = true;
        return { honest: true };
      }
      return { honest: false };
    },
    fetch: (peer, signal) =>
      peer.honest
        ? Promise.resolve(good)
        : abortable({ ms: 5, fail: "no answer within 3 s" }, signal),
    failed: () => {},
    refresh: () => {
      listed = true;
      return Promise.resolve();
    },
    leftMs: () => deadline - performance.now(),
    stopped: new Promise<never>(() => {}),
    parallel: 2,
    refreshMs: 20,
  });
  assert.equal(won?.peer.honest, true);
});

Deno.test("manifestParallel() asks many peers for a small manifest and few for a large one", () => {
  assert.equal(manifestParallel(128), MANIFEST_PARALLEL_MAX); // 64 MiB
  assert.equal(manifestParallel(262_144), MANIFEST_PARALLEL); // 128 GiB
  const middle = manifestParallel(8_192); // 4 GiB: 256 KiB of hashes
  assert.ok(middle > MANIFEST_PARALLEL && middle < MANIFEST_PARALLEL_MAX);
  assert.equal(manifestParallel(-5), MANIFEST_PARALLEL_MAX);
});

Deno.test("Gate lets `limit` holders in at once, the next when one leaves, and forgets a waiter whose signal aborts", async () => {
  const gate = new Gate(2);
  const never = new AbortController().signal;
  const a = await gate.acquire(never);
  const b = await gate.acquire(never);
  assert.equal(gate.held, 2);
  let thirdIn = false;
  const third = gate.acquire(never).then((release) => {
    thirdIn = true;
    return release;
  });
  const quitter = new AbortController();
  const fourth = gate.acquire(quitter.signal);
  await Promise.resolve();
  assert.equal(thirdIn, false, "no third holder while two are in");
  quitter.abort(new Error("cancelled"));
  await assert.rejects(fourth, /cancelled/);
  a();
  a(); // A second release changes nothing.
  const c = await third;
  assert.equal(gate.held, 2);
  b();
  c();
  assert.equal(gate.held, 0);
});
