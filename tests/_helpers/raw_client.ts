/**
 * A raw TCP client that connects to a real peer from a chosen loopback
 * address (127.0.0.2 and up: Linux routes all of 127.0.0.0/8 to loopback),
 * the way a stranger on another host would, and records every frame it
 * gets. It uses `node:net` because Deno.connect cannot pick its source
 * address.
 *
 * @module
 */
import net from "node:net";
import {
  type BtFrame,
  BtFrameDecoder,
  FrameDecoder,
  type Message,
} from "@shoal/protocol";

/** A connected raw client; `F` is the kind of frame its decoder yields. */
export interface RawClient<F> {
  /** Every frame received, in order. */
  frames: F[];
  /** Whether the connection is closed (by either side). */
  closed: boolean;
  /** Writes raw bytes. */
  send(bytes: Uint8Array): void;
  /** Closes the connection. */
  close(): void;
}

/** A streaming frame decoder (Shoal's FrameDecoder, BitTorrent's BtFrameDecoder). */
export interface StreamDecoder<F> {
  /** Takes bytes and calls `onFrame` for each whole frame; throws on bad bytes. */
  push(bytes: Uint8Array, onFrame: (frame: F) => void): void;
}

/**
 * Connects from `localAddress` to 127.0.0.1:`port`. Bytes the decoder
 * rejects close the connection (as a Shoal ERROR frame does a BitTorrent
 * client's); with no decoder nothing is read (a client waiting on an
 * answer it never parses).
 *
 * @param localAddress the loopback address to connect from ("127.0.0.2")
 * @param port the peer's TCP port on 127.0.0.1
 * @param decoder how to split what comes back into frames (`new FrameDecoder()`
 *   for Shoal, `new BtFrameDecoder()` for BitTorrent), or null to read nothing
 */
export function rawClient<F>(
  localAddress: string,
  port: number,
  decoder: StreamDecoder<F> | null,
): Promise<RawClient<F>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const client: RawClient<F> = {
      frames: [],
      closed: false,
      send: (bytes) => void socket.write(bytes),
      close: () => socket.destroy(),
    };
    socket.on("data", (data: Uint8Array) => {
      if (!decoder) return;
      try {
        decoder.push(new Uint8Array(data), (f) => client.frames.push(f));
      } catch {
        socket.destroy();
      }
    });
    socket.on("close", () => (client.closed = true));
    socket.on("error", (error) => {
      client.closed = true;
      reject(error);
    });
    socket.on("connect", () => resolve(client));
  });
}

/**
 * A raw Shoal client from `localAddress` (see {@linkcode rawClient}).
 *
 * @param localAddress the loopback address to connect from
 * @param port the peer's TCP port on 127.0.0.1
 */
export function rawShoalClient(
  localAddress: string,
  port: number,
): Promise<RawClient<Message>> {
  return rawClient(localAddress, port, new FrameDecoder());
}

/**
 * A raw BitTorrent client from `localAddress` (see {@linkcode rawClient}).
 *
 * @param localAddress the loopback address to connect from
 * @param port the peer's TCP port on 127.0.0.1
 * @param read false for a client that never parses the answer (as one
 *   waiting on its MSE key exchange)
 */
export function rawBtClient(
  localAddress: string,
  port: number,
  read = true,
): Promise<RawClient<BtFrame>> {
  return rawClient(localAddress, port, read ? new BtFrameDecoder() : null);
}
