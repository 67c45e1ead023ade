/**
 * A UDP socket on 127.0.0.1 for talking to a tracker on the same machine,
 * as the benchmarks' probes do.
 *
 * @module
 */

/**
 * Opens a socket on a free loopback port, aimed at `port` on 127.0.0.1.
 *
 * @param port the tracker's UDP port
 * @returns the socket (close it) and the tracker's address
 * @example
 * ```ts
 * import { loopbackUdp } from "./_udp.ts";
 * const { socket, to } = loopbackUdp(6969);
 * socket.close();
 * ```
 */
export function loopbackUdp(
  port: number,
): { socket: Deno.DatagramConn; to: Deno.NetAddr } {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  return {
    socket,
    to: { transport: "udp", hostname: "127.0.0.1", port },
  };
}
