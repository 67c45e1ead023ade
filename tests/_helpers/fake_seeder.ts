/**
 * Fake seeders for attack and fault tests: raw `Deno.listen` servers on
 * loopback that speak the peer protocol with `createMessage`, honestly or
 * not, and count what they were asked.
 *
 * @module
 */
import {
  Bitfield,
  chunkLength,
  createMessage,
  ErrorCode,
  FrameDecoder,
  type Manifest,
  ManifestBuilder,
  type Message,
  sha256,
  toHex,
} from "@shoal/protocol";
import * as core from "./fake_listener.ts";

/** What a fake seeder does with one connection. */
export type FakeBehaviour =
  /** Serves the real chunks (optionally slowly). */
  | "honest"
  /** Sends a manifest that does not hash to the file id, and chunks of another file. */
  | "wrong_manifest"
  /** Serves chunks whose bytes fail their SHA-256. */
  | "bad_hash"
  /** Sends good chunks nobody asked for, with made-up transaction ids. */
  | "unsolicited"
  /** Answers a GET with a chunk other than the one asked for. */
  | "wrong_index"
  /** Accepts the connection, reads everything, never writes a byte. */
  | "silent"
  /** Answers the handshake, then sends chunk data one byte at a time, very slowly. */
  | "trickle"
  /** Serves whatever manifest bytes it was given (used with bad names). */
  | "raw_manifest"
  /** Answers the handshake with an empty bitfield and serves the manifest, then nothing more. */
  | "empty"
  /**
   * Serves `stopAfterChunks` chunks in all (over every connection), then
   * ignores every GET but keeps talking (a HAVE a second), so the
   * connection never goes quiet.
   */
  | "stops";

/** Options for {@linkcode startFakeSeeder}. */
export interface FakeSeederOptions {
  /** How it behaves. */
  behaviour: FakeBehaviour;
  /** The real file's bytes (for honest and lying answers). */
  data: Uint8Array;
  /** Manifest bytes the file id is the hash of. */
  manifestBytes: Uint8Array;
  /** Its parsed manifest (null when it cannot be parsed, as with bad names). */
  manifest: Manifest | null;
  /** For "honest": bytes per second per connection (no limit when absent). */
  bytesPerSecond?: number;
  /** For "stops": chunks served before it falls silent. @default {1} */
  stopAfterChunks?: number;
  /** The loopback address to listen on (Linux routes all of 127/8). @default {"127.0.0.1"} */
  hostname?: string;
}

/** A running fake seeder (port, connections and close() from {@linkcode core.FakeListener}). */
export interface FakeSeeder extends core.FakeListener {
  /** GETs received, per chunk index. */
  gets: Map<number, number>;
  /** GET_MANIFEST requests received. */
  manifestRequests: number;
  /** Chunks sent (CHUNK_DATA frames). */
  chunksSent: number;
}

/**
 * Lists a fake seeder's file on an in-process tracker, as if the fake had
 * registered itself (a fake speaks only the peer protocol).
 *
 * @param tracker the tracker started by `startTracker()`
 * @param port the fake seeder's TCP port
 * @param file id, name and sizes of the file it serves
 * @param host the fake seeder's address
 */
export function listOnTracker(
  tracker: { handler: { registry: { register: RegisterFn } } },
  port: number,
  file: { id: Uint8Array; name: string; size: number; chunkCount: number },
  host = "127.0.0.1",
): void {
  tracker.handler.registry.register(
    { host, port, peerId: new Uint8Array(16) },
    [{ ...file, complete: true }],
    Date.now(),
  );
}

type RegisterFn = (
  peer: { host: string; port: number; peerId: Uint8Array },
  files: {
    id: Uint8Array;
    name: string;
    size: number;
    chunkCount: number;
    complete: boolean;
  }[],
  nowMs: number,
) => unknown;

/** Builds the manifest of `data` as a real seeder would, with chunk size `chunkSize`. */
export function manifestOf(
  data: Uint8Array,
  name: string,
  chunkSize = 512 * 1024,
): {
  manifest: Manifest;
  bytes: Uint8Array;
  id: Uint8Array;
  /** The whole file's SHA-256 in hex, to compare a download with. */
  sha256: string;
} {
  const builder = new ManifestBuilder(chunkSize);
  builder.update(data);
  return { ...builder.finish(name), sha256: toHex(sha256(data)) };
}

/** A file as {@linkcode manifestOf} builds it. */
export type BuiltFile = ReturnType<typeof manifestOf>;

/** The tracker listing of a built file: its id, name and sizes. */
export function listingOf(
  built: BuiltFile,
): { id: Uint8Array; name: string; size: number; chunkCount: number } {
  const { name, size, chunkCount } = built.manifest;
  return { id: built.id, name, size, chunkCount };
}

/** The fields of a fake's options that name the file it serves. */
type ServedFile = "data" | "manifest" | "manifestBytes" | "id";

/**
 * Makes a "start a fake of `built` and list it" function from a fake's
 * start function (Shoal's or BitTorrent's): the fake serves `built` on
 * `options.hostname` (127.0.0.1 unless told) and is listed on the
 * in-process tracker under that address.
 *
 * @param start the fake's start function
 */
export function listedWith<
  O extends { hostname?: string },
  F extends { port: number },
>(start: (options: O) => F): (
  tracker: Parameters<typeof listOnTracker>[0],
  data: Uint8Array,
  built: BuiltFile,
  options: Omit<O, ServedFile>,
) => F {
  return (tracker, data, built, options) => {
    const file = { data, manifest: built.manifest, manifestBytes: built.bytes };
    const fake = start({ ...file, id: built.id, ...options } as unknown as O);
    listOnTracker(tracker, fake.port, listingOf(built), options.hostname);
    return fake;
  };
}

/**
 * Starts a fake seeder on loopback (127.0.0.1 unless told) with a free port.
 *
 * @param options behaviour, file and manifest
 */
export function startFakeSeeder(options: FakeSeederOptions): FakeSeeder {
  return core.listenFake(
    options.hostname,
    { gets: new Map(), manifestRequests: 0, chunksSent: 0 },
    (conn, seeder) => serveFake(conn, options, seeder),
  );
}

async function serveFake(
  conn: Deno.Conn,
  options: FakeSeederOptions,
  seeder: FakeSeeder,
): Promise<void> {
  const { behaviour, manifest } = options;
  const chunkCount = manifest?.chunkCount ?? 1;
  const { write, idle } = core.orderedWriter(conn);
  const send = (message: Message) => write(createMessage(message));
  const chunk = (index: number): Uint8Array => {
    if (!manifest) return new Uint8Array(0);
    const start = index * manifest.chunkSize;
    return options.data.subarray(start, start + chunkLength(manifest, index));
  };
  const sendChunk = async (txid: number, index: number, data: Uint8Array) => {
    seeder.chunksSent++;
    const message = createMessage({ kind: "chunk_data", txid, index, data });
    const rate = options.bytesPerSecond;
    if (behaviour === "trickle") {
      for (let at = 0; at < message.byteLength; at++) {
        await write(message.subarray(at, at + 1));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      return;
    }
    if (!rate) return await write(message);
    const slice = 16 * 1024;
    for (let at = 0; at < message.byteLength; at += slice) {
      await write(message.subarray(at, at + slice));
      await new Promise((resolve) =>
        setTimeout(resolve, (slice / rate) * 1000)
      );
    }
  };

  let chatter: ReturnType<typeof setInterval> | undefined;
  const decoder = new FrameDecoder();
  const inbox: Message[] = [];
  let handshaken = false;
  let queue: Promise<void> = Promise.resolve();
  const handle = async (message: Message): Promise<void> => {
    if (behaviour === "silent") return;
    if (!handshaken) {
      if (message.kind !== "handshake") return;
      handshaken = true;
      await send({ kind: "ack", txid: message.txid, intervalSeconds: 0 });
      const bits = behaviour === "empty"
        ? new Bitfield(chunkCount)
        : Bitfield.full(chunkCount);
      await send({ kind: "bitfield", txid: 0, bits: bits.toBytes() });
      if (behaviour === "unsolicited") {
        for (let i = 0; i < Math.min(chunkCount, 3); i++) {
          await sendChunk(90_000 + i, i, chunk(i));
        }
      }
      return;
    }
    if (message.kind === "get_manifest") {
      seeder.manifestRequests++;
      let bytes = options.manifestBytes;
      if (behaviour === "wrong_manifest") {
        bytes = bytes.slice();
        bytes[bytes.byteLength - 1] = bytes[bytes.byteLength - 1]! ^ 1;
      }
      await send({ kind: "manifest", txid: message.txid, bytes });
      return;
    }
    if (message.kind !== "get") return;
    seeder.gets.set(message.index, (seeder.gets.get(message.index) ?? 0) + 1);
    if (behaviour === "empty") return;
    if (
      behaviour === "stops" &&
      seeder.chunksSent >= (options.stopAfterChunks ?? 1)
    ) {
      chatter ??= setInterval(() => {
        send({ kind: "have", txid: 0, index: 0 }).catch(() => {});
      }, 1_000);
      return;
    }
    if (!manifest || message.index >= chunkCount) {
      await send({
        kind: "error",
        txid: message.txid,
        code: ErrorCode.NOT_AVAILABLE,
        text: "no",
      });
      return;
    }
    let data = chunk(message.index);
    let index = message.index;
    switch (behaviour) {
      case "wrong_manifest":
      case "bad_hash":
        data = data.slice();
        data[0] = data[0]! ^ 0xff;
        break;
      case "wrong_index":
        index = (message.index + 1) % chunkCount;
        data = chunk(index);
        break;
    }
    await sendChunk(message.txid, index, data);
  };

  try {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      decoder.push(buffer.subarray(0, n), (message) => inbox.push(message));
      while (inbox.length > 0) {
        const message = inbox.shift()!;
        queue = queue.then(() => handle(message));
      }
      // Answers go out in order, but reading goes on meanwhile.
      queue = queue.catch(() => {});
    }
    await queue;
    await idle();
  } catch (error) {
    if (!core.isHangUp(error)) throw error;
  } finally {
    clearInterval(chatter);
  }
}

/**
 * Starts a fake seeder of a built file and lists it on the in-process
 * tracker: `listedFake(tracker, data, built, { behaviour })`.
 */
export const listedFake = listedWith(startFakeSeeder);
