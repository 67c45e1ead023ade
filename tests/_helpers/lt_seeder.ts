/**
 * A libtorrent seeder on loopback (tests/fixtures/lt_seed.py): it makes a
 * v2-only torrent of a file with libtorrent's own `create_torrent`, writes
 * it, and seeds the file on 127.0.0.1 until stopped.
 *
 * @module
 */
import { LT_PYTHON, ltFixture } from "./libtorrent.ts";

/** A running libtorrent seeder. */
export interface LtSeeder {
  /** Its TCP port on 127.0.0.1. */
  port: number;
  /** The torrent's v2 infohash, hex. */
  infohash: string;
  /** Stops it (closes its stdin); resolves with the payload bytes it uploaded. */
  stop(): Promise<{ uploaded: number }>;
  /** Same as stop(). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a libtorrent seeder of `file`, writing libtorrent's torrent of it
 * to `torrentPath`.
 *
 * @param file the file to seed
 * @param torrentPath where the .torrent goes
 * @param pieceBytes the piece length @default {524288}
 */
export async function startLtSeeder(
  file: string,
  torrentPath: string,
  pieceBytes = 512 * 1024,
): Promise<LtSeeder> {
  const child = new Deno.Command(LT_PYTHON, {
    args: [ltFixture("lt_seed.py"), String(pieceBytes), file, torrentPath],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  const stderr = new Response(child.stderr).text();
  let pending = "";
  /** The next stdout line, or null at the end (bounded in time). */
  const nextLine = async (timeoutMs: number): Promise<string | null> => {
    const deadline = Date.now() + timeoutMs;
    while (!pending.includes("\n")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = await Promise.race([
        lines.read(),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), deadline - Date.now());
        }),
      ]).finally(() => clearTimeout(timer));
      if (read === null || read.done) return null;
      pending += read.value;
    }
    const at = pending.indexOf("\n");
    const line = pending.slice(0, at);
    pending = pending.slice(at + 1);
    return line;
  };
  let stopped: Promise<{ uploaded: number }> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await stdin.close().catch(() => {});
      const last = await nextLine(10_000);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      if (status === null) {
        child.kill("SIGKILL");
        await child.status;
      }
      await lines.cancel().catch(() => {});
      await stderr;
      return last ? JSON.parse(last) : { uploaded: 0 };
    })();
    return stopped;
  };
  const first = await nextLine(60_000);
  if (first === null) {
    await stop();
    throw new Error(`libtorrent seeder did not start: ${await stderr}`);
  }
  const { port, infohash } = JSON.parse(first);
  return {
    port,
    infohash,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
