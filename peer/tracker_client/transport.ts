/**
 * What the client needs of a UDP socket: send a datagram, receive the next
 * one, close. A {@linkcode Deno.DatagramConn} is one; tests pass a fake.
 *
 * @module
 */
import { ipToBytes } from "@shoal/protocol";

/** A datagram socket: the part of {@linkcode Deno.DatagramConn} the client uses. */
export interface DatagramTransport {
  /** The local address datagrams leave from. */
  readonly addr: Deno.Addr;
  /** Sends one datagram; may reject when the network refuses it. */
  send(bytes: Uint8Array, to: Deno.NetAddr): Promise<number>;
  /**
   * Waits for the next datagram, read into `buffer`. Rejects once closed
   * (with {@linkcode Deno.errors.BadResource} for a real socket).
   */
  receive(buffer: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  /** Closes the socket; a pending receive rejects. */
  close(): void;
}

/** Opens the transport to talk to the tracker at `ip`. */
export type OpenTransport = (ip: string) => DatagramTransport;

/**
 * Binds a UDP socket of the tracker's family on an ephemeral port.
 *
 * @param ip the tracker's IP address
 * @returns the socket
 */
export function openUdpTransport(ip: string): DatagramTransport {
  return Deno.listenDatagram({
    transport: "udp",
    hostname: ipToBytes(ip)!.byteLength === 4 ? "0.0.0.0" : "::",
    port: 0,
  });
}
