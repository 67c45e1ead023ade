/**
 * Fakes for the tracker client's unit tests: a clock whose timers fire only
 * when the test advances it, and a datagram transport that records what the
 * client sends and delivers what the test answers. No sockets, no sleeps.
 *
 * @module
 */
import {
  createMessage,
  type Message,
  type MessageOf,
  parseMessage,
} from "@shoal/protocol";
import {
  type Clock,
  type DatagramTransport,
  TrackerClient,
  type TrackerClientOptions,
} from "../../peer/tracker_client.ts";

/** The fake tracker's address. */
export const TRACKER = { ip: "127.0.0.1", port: 6969 } as const;

/** A clock that moves only on {@linkcode FakeClock.advance}. */
export class FakeClock implements Clock {
  #now = 1_000_000;
  #next = 1;
  readonly #timers = new Map<number, { atMs: number; callback: () => void }>();

  /** The fake time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Registers a timer; it fires when the time reaches now + ms. */
  setTimeout(callback: () => void, ms: number): number {
    const handle = this.#next++;
    this.#timers.set(handle, { atMs: this.#now + ms, callback });
    return handle;
  }

  /** Cancels a timer. */
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing due timers in order, then settles. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, { atMs: number; callback: () => void }] | null = null;
      for (const entry of this.#timers) {
        if (entry[1].atMs <= end && (!due || entry[1].atMs < due[1].atMs)) {
          due = entry;
        }
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].atMs;
      due[1].callback();
      await settle();
    }
    this.#now = end;
  }
}

/** Lets pending promise callbacks run (one macrotask turn, no real wait). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A transport whose other end is the test. */
export class FakeTransport implements DatagramTransport {
  readonly addr: Deno.NetAddr = {
    transport: "udp",
    hostname: "0.0.0.0",
    port: 40_000,
  };
  /** Every datagram the client sent, decoded, in order. */
  readonly sent: Message[] = [];
  /** Raw datagrams sent, in order. */
  readonly sentBytes: Uint8Array[] = [];
  /** Whether the client closed it. */
  closed = false;
  /** When set, sends reject with it (a network that refuses). */
  sendError: Error | null = null;
  /** Called with each datagram as it is sent (before the send resolves). */
  onSend: ((message: Message) => void) | null = null;
  readonly #inbox: [Uint8Array, Deno.Addr][] = [];
  #receiver: {
    resolve: (datagram: [Uint8Array, Deno.Addr]) => void;
    reject: (error: Error) => void;
  } | null = null;

  /** Records a datagram. */
  send(bytes: Uint8Array, _to: Deno.NetAddr): Promise<number> {
    if (this.sendError) return Promise.reject(this.sendError);
    this.sentBytes.push(bytes.slice());
    this.sent.push(parseMessage(bytes));
    this.onSend?.(this.sent.at(-1)!);
    return Promise.resolve(bytes.byteLength);
  }

  /** Hands over the next delivered datagram. */
  receive(_buffer: Uint8Array): Promise<[Uint8Array, Deno.Addr]> {
    if (this.closed) {
      return Promise.reject(new Deno.errors.BadResource("closed"));
    }
    const next = this.#inbox.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      this.#receiver = { resolve, reject };
    });
  }

  /** Ends a pending receive as a closed socket does. */
  close(): void {
    this.closed = true;
    this.#receiver?.reject(new Deno.errors.BadResource("closed"));
    this.#receiver = null;
  }

  /** Delivers raw bytes, from the tracker unless `from` says otherwise. */
  deliver(
    bytes: Uint8Array,
    from: Deno.NetAddr = {
      transport: "udp",
      hostname: TRACKER.ip,
      port: TRACKER.port,
    },
  ): void {
    const receiver = this.#receiver;
    this.#receiver = null;
    if (receiver) receiver.resolve([bytes, from]);
    else this.#inbox.push([bytes, from]);
  }

  /** Delivers a message from the tracker. */
  answer(message: Message): void {
    this.deliver(createMessage(message));
  }

  /** The last datagram sent, which must be of `kind`. */
  last<K extends Message["kind"]>(kind: K): MessageOf<K> {
    const message = this.sent.at(-1);
    if (message?.kind !== kind) {
      throw new Error(`expected ${kind} last, sent: ${this.kinds()}`);
    }
    return message as MessageOf<K>;
  }

  /** The kinds sent so far, as "connect register ...". */
  kinds(): string {
    return this.sent.map((message) => message.kind).join(" ");
  }
}

/** A client on a fake transport and a fake clock. */
export interface FakeClient {
  client: TrackerClient;
  transport: FakeTransport;
  clock: FakeClock;
}

/**
 * Opens a {@linkcode TrackerClient} to {@linkcode TRACKER} over a
 * {@linkcode FakeTransport} and a {@linkcode FakeClock}.
 *
 * @param options overrides of the client's options
 * @returns the client and its fakes; close the client when done
 */
export async function openFakeClient(
  options: Partial<TrackerClientOptions> = {},
): Promise<FakeClient> {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const client = await TrackerClient.open({
    host: TRACKER.ip,
    port: TRACKER.port,
    clock,
    openTransport: () => transport,
    ...options,
  });
  return { client, transport, clock };
}
