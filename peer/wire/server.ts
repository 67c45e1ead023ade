/**
 * The peer's TCP server: accepts connections (up to a cap) and serves each
 * with {@linkcode serveConnection}.
 *
 * @module
 */
import type { Library } from "../library/library.ts";
import { serveConnection } from "./serve_connection.ts";
import { UploadSlots } from "./upload_slots.ts";

/** Options for {@linkcode PeerServer.listen}. */
export interface PeerServerOptions {
  /** The files we share. */
  library: Library;
  /** Address to bind. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port to bind; 0 picks a free one. @default {0} */
  port?: number;
  /** Most connections at once; more are closed at once. @default {128} */
  maxConnections?: number;
  /** Close a connection with no frame for this long. @default {120_000} */
  idleTimeoutMs?: number;
  /** Called when a peer is dropped for breaking the protocol. */
  onMisbehaviour?: (reason: string, remote: string) => void;
  /** Upload slots (regular plus one optimistic). @default {5} */
  uploadSlots?: number;
  /** Upload limit in bytes per second; none when absent. */
  maxUploadBytesPerSecond?: number;
  /** Bytes a peer (by "host:port" key) sent us since the last call, for tit for tat. */
  takeReceived?: (key: string) => number;
}

/**
 * A listening peer server.
 *
 * @example
 * ```ts
 * // const server = PeerServer.listen({ library, port: 0 });
 * // console.log(server.port); await server.close();
 * ```
 */
export class PeerServer {
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #options: PeerServerOptions;
  readonly #accepting: Promise<void>;
  readonly #slots: UploadSlots;
  #uploadedBytes = 0;
  #closed = false;

  private constructor(listener: Deno.TcpListener, options: PeerServerOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#slots = new UploadSlots({
      ...(options.uploadSlots !== undefined
        ? { slots: options.uploadSlots }
        : {}),
      ...(options.maxUploadBytesPerSecond !== undefined
        ? { maxUploadBytesPerSecond: options.maxUploadBytesPerSecond }
        : {}),
      ...(options.takeReceived ? { takeReceived: options.takeReceived } : {}),
    });
    this.#accepting = this.#acceptLoop();
  }

  /** Binds and starts accepting. */
  static listen(options: PeerServerOptions): PeerServer {
    const listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port ?? 0,
      transport: "tcp",
    });
    return new PeerServer(listener, options);
  }

  /** The bound port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Bytes of chunk data sent so far. */
  get uploadedBytes(): number {
    return this.#uploadedBytes;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  async #acceptLoop(): Promise<void> {
    const maxConnections = this.#options.maxConnections ?? 128;
    try {
      for await (const conn of this.#listener) {
        if (this.#connections.size >= maxConnections) {
          conn.close();
          continue;
        }
        this.#connections.add(conn);
        const remote = conn.remoteAddr as Deno.NetAddr;
        const task = serveConnection(conn, {
          library: this.#options.library,
          slots: this.#slots,
          ...(this.#options.idleTimeoutMs !== undefined
            ? { idleTimeoutMs: this.#options.idleTimeoutMs }
            : {}),
          onUpload: (bytes) => (this.#uploadedBytes += bytes),
          onMisbehaviour: (reason) =>
            this.#options.onMisbehaviour?.(
              reason,
              `${remote.hostname}:${remote.port}`,
            ),
        }).finally(() => {
          this.#connections.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /** Stops accepting, closes every connection and waits for them to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#slots.close();
    this.#listener.close();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }
}
