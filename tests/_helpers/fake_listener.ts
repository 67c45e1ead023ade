/**
 * The core both fake seeders share (fake_seeder.ts speaks Shoal,
 * fake_bt_seeder.ts BitTorrent): a loopback listener that hands each
 * connection to a fake and closes them all on close(), a writer that keeps
 * frames in order, and which errors mean only that the other side hung up.
 *
 * @module
 */
import { ProtocolError } from "@shoal/protocol";

/** What every fake server has: its port, its count of connections, close(). */
export interface FakeListener {
  /** The TCP port. */
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
  /** Same as close(). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Listens on loopback (127.0.0.1 unless told) with a free port and serves
 * each connection with `serve`, which gets the fake (its counters and the
 * listener's) to count what it was asked.
 *
 * @param hostname the loopback address to listen on
 * @param counters the fake's own counters, returned with the listener's fields
 * @param serve what the fake does with one connection
 */
export function listenFake<T extends object>(
  hostname: string | undefined,
  counters: T,
  serve: (conn: Deno.Conn, fake: T & FakeListener) => Promise<void>,
): T & FakeListener {
  const listener = Deno.listen({ hostname: hostname ?? "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let closed = false;
  const fake: T & FakeListener = Object.assign(counters, {
    port: (listener.addr as Deno.NetAddr).port,
    connections: 0,
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      for (const conn of conns) closeQuietly(conn);
      await accepting;
      await Promise.allSettled([...tasks]);
    },
    [Symbol.asyncDispose]() {
      return fake.close();
    },
  });
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        fake.connections++;
        conns.add(conn);
        const task = serve(conn, fake).finally(() => {
          conns.delete(conn);
          tasks.delete(task);
          closeQuietly(conn);
        });
        tasks.add(task);
      }
    } catch (error) {
      if (!closed) throw error;
    }
  })();
  return fake;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed by the other side already.
  }
}

/**
 * A writer that sends frames whole and in the order asked, however their
 * writes interleave with reading.
 *
 * @param conn the connection to write to
 */
export function orderedWriter(conn: Deno.Conn): {
  /** Queues the frames; resolves when they (and all before) are written. */
  write(...frames: Uint8Array[]): Promise<void>;
  /** Resolves when everything queued so far is written. */
  idle(): Promise<void>;
} {
  let sending: Promise<void> = Promise.resolve();
  return {
    write(...frames) {
      sending = sending.then(async () => {
        for (const frame of frames) {
          let written = 0;
          while (written < frame.byteLength) {
            written += await conn.write(frame.subarray(written));
          }
        }
      });
      return sending;
    },
    idle: () => sending,
  };
}

/**
 * Whether an error ends a fake's connection quietly: the other side hung up
 * or sent bytes that do not parse (a fake drops them as a real peer would).
 */
export function isHangUp(error: unknown): boolean {
  return error instanceof ProtocolError ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted;
}
