/**
 * Hashing a large file in a worker takes seconds to minutes: a peer stopped
 * meanwhile (Ctrl+C) ends the worker at once rather than waiting for it.
 *
 * @module
 */

/**
 * Ends `worker` when `signal` aborts, and rejects its promise with the
 * signal's reason.
 *
 * @param worker the worker doing the work
 * @param signal the caller's stop signal, if any
 * @param reject the worker's promise's reject
 * @returns a function that stops listening, for when the worker is done
 * @example
 * ```ts
 * // const forget = terminateOnAbort(worker, signal, reject);
 * // worker.onmessage = (message) => { forget(); worker.terminate(); ... };
 * ```
 */
export function terminateOnAbort(
  worker: Worker,
  signal: AbortSignal | undefined,
  reject: (reason: unknown) => void,
): () => void {
  if (!signal) return () => {};
  const onAbort = () => {
    worker.terminate();
    reject(signal.reason);
  };
  if (signal.aborted) {
    onAbort();
    return () => {};
  }
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
