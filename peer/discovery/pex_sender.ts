/**
 * Sends PEX on one connection, whatever its protocol: the first message
 * {@linkcode PEX_FIRST_DELAY_MS} after the handshake, then at most one per
 * {@linkcode PEX_INTERVAL_MS} (BEP 11), and only when the connected peers
 * changed (pex_policy.ts `PexOutbox` makes the diff).
 *
 * @module
 */
import {
  PEX_FIRST_DELAY_MS,
  PEX_INTERVAL_MS,
  type PexAddress,
  PexOutbox,
} from "./pex_policy.ts";

/** Options for {@linkcode PexSender}. */
export interface PexSenderOptions {
  /** The receiving peer's key ("host:port" where it listens), never sent to it. */
  selfKey: string;
  /** The peers connected now for this file. */
  peers: () => Iterable<PexAddress>;
  /** Sends one message (encoded by the caller in its protocol). */
  send: (message: { added: PexAddress[]; dropped: PexAddress[] }) => void;
}

/**
 * One connection's PEX timer.
 *
 * @example
 * ```ts
 * import { PexSender } from "./pex_sender.ts";
 * const sender = new PexSender({ selfKey: "127.0.0.1:7000", peers: () => [], send: () => {} });
 * sender.start();
 * sender.stop();
 * ```
 */
export class PexSender {
  readonly #options: PexSenderOptions;
  readonly #outbox: PexOutbox;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** @param options the receiver, the peers and the send function */
  constructor(options: PexSenderOptions) {
    this.#options = options;
    this.#outbox = new PexOutbox(options.selfKey);
  }

  /** Starts the timer (once the handshake is done). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#later(PEX_FIRST_DELAY_MS);
  }

  /** Stops it for good (the connection closed). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #later(ms: number): void {
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    if (this.#stopped) return;
    const message = this.#outbox.next(this.#options.peers());
    if (message) this.#options.send(message);
    // Nothing to say yet: look again soon; said something: wait a minute.
    this.#later(message ? PEX_INTERVAL_MS : PEX_FIRST_DELAY_MS);
  }
}
