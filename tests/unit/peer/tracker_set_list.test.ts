/**
 * TrackerSet.list asks every tracker at once and takes the first answer: a
 * dead tracker named first costs nothing when another answers.
 */
import assert from "node:assert/strict";
import type { FileSummary } from "@shoal/protocol";
import type { HostPort } from "../../../peer/cli_flags.ts";
import { TrackerSet } from "../../../peer/discovery/trackers.ts";
import {
  type ListResult,
  type TrackerCallOptions,
  type TrackerClient,
  TrackerError,
} from "../../../peer/tracker_client.ts";

/** A tracker client whose list answers the test hands out when it wants. */
class FakeClient {
  readonly address: string;
  /** The offsets asked, in order. */
  readonly asked: number[] = [];
  /** The signals of the calls, to see the losers aborted. */
  readonly signals: (AbortSignal | undefined)[] = [];
  #pending: PromiseWithResolvers<ListResult>[] = [];

  constructor(address: string) {
    this.address = address;
  }

  list(
    _query: string,
    offset = 0,
    options: TrackerCallOptions = {},
  ): Promise<ListResult> {
    this.asked.push(offset);
    this.signals.push(options.signal);
    const pending = Promise.withResolvers<ListResult>();
    // As the real client: an aborted call fails "aborted".
    options.signal?.addEventListener("abort", () => {
      this.#pending = this.#pending.filter((p) => p !== pending);
      pending.reject(new TrackerError("aborted", `${this.address} aborted`));
    });
    this.#pending.push(pending);
    return pending.promise;
  }

  answer(total: number): void {
    this.#pending.shift()!.resolve({ total, files: [] as FileSummary[] });
  }

  fail(): void {
    this.#pending.shift()!.reject(
      new TrackerError("unreachable", `Cannot reach tracker ${this.address}`),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function openFakes(
  addresses: string[],
): Promise<{ set: TrackerSet; fakes: FakeClient[] }> {
  const fakes = addresses.map((address) => new FakeClient(address));
  const trackers: HostPort[] = addresses.map((address) => ({
    host: address.split(":")[0]!,
    port: Number(address.split(":")[1]),
  }));
  const set = await TrackerSet.open(trackers, (address) =>
    Promise.resolve(
      fakes[trackers.indexOf(address)]! as unknown as TrackerClient,
    ));
  return { set, fakes };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("TrackerSet.list asks every tracker at once, takes the first answer and ends the other calls", async () => {
  const { set, fakes: [dead, live] } = await openFakes(["a:1", "b:2"]);
  const page = set.list("", 0);
  await turn();
  // Both asked before either answered: the dead one first costs nothing.
  assert.deepEqual([dead!.asked, live!.asked], [[0], [0]]);
  live!.answer(3);
  assert.equal((await page).total, 3);
  assert.equal(set.answeredBy, "b:2");
  assert.equal(dead!.signals[0]?.aborted, true);
});

Deno.test("TrackerSet.list asks for a later page the tracker that answered, and the others only if it fails", async () => {
  const { set, fakes: [a, b] } = await openFakes(["a:1", "b:2"]);
  const first = set.list("", 0);
  b!.answer(100);
  await first;
  const second = set.list("", 50);
  await turn();
  assert.deepEqual([a!.asked, b!.asked], [[0], [0, 50]]);
  b!.answer(100);
  assert.equal((await second).total, 100);

  const third = set.list("", 60);
  await turn();
  b!.fail();
  await turn();
  assert.deepEqual(a!.asked, [0, 60]);
  a!.answer(100);
  assert.equal((await third).total, 100);
  assert.equal(set.answeredBy, "a:1");
});

Deno.test("TrackerSet.list fails with the first tracker's error once every tracker failed", async () => {
  const { set, fakes: [a, b] } = await openFakes(["a:1", "b:2"]);
  const page = set.list("x");
  await turn();
  b!.fail();
  a!.fail();
  await assert.rejects(page, (error: unknown) => {
    assert.ok(error instanceof TrackerError);
    assert.equal(error.code, "unreachable");
    assert.match(error.message, /a:1/);
    return true;
  });
});

Deno.test("TrackerSet.list ends at once when the caller's signal fires", async () => {
  const { set, fakes: [a, b] } = await openFakes(["a:1", "b:2"]);
  const stop = new AbortController();
  const page = set.list("", 0, { signal: stop.signal });
  await turn();
  stop.abort();
  await assert.rejects(page, (error: unknown) => {
    assert.ok(error instanceof TrackerError);
    assert.equal(error.code, "aborted");
    return true;
  });
  assert.equal(a!.signals[0]?.aborted && b!.signals[0]?.aborted, true);
});

Deno.test("TrackerSet.open throws the first error when no tracker opens, and keeps the rest", async () => {
  const unresolved = (host: string) =>
    new TrackerError("resolve", `Cannot resolve tracker host "${host}"`);
  await assert.rejects(
    TrackerSet.open(
      [{ host: "x.invalid", port: 1 }, { host: "y.invalid", port: 1 }],
      (address) => Promise.reject(unresolved(address.host)),
    ),
    /x\.invalid/,
  );
  const fake = new FakeClient("127.0.0.1:2");
  const set = await TrackerSet.open(
    [{ host: "x.invalid", port: 1 }, { host: "127.0.0.1", port: 2 }],
    (address) =>
      address.host === "x.invalid"
        ? Promise.reject(unresolved(address.host))
        : Promise.resolve(fake as unknown as TrackerClient),
  );
  assert.deepEqual(set.addresses, ["127.0.0.1:2"]);
});
