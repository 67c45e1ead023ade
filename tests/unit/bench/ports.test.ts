/**
 * The benchmark's port picker for servers that bind TCP and UDP on one port
 * (opentracker): the port it returns must take both, with real sockets.
 */
import assert from "node:assert/strict";
import { freeTcpUdpPort } from "../../../bench/_proc.ts";

Deno.test("freeTcpUdpPort returns a port free for both TCP and UDP", () => {
  for (let i = 0; i < 20; i++) {
    const port = freeTcpUdpPort();
    const tcp = Deno.listen({ hostname: "127.0.0.1", port });
    const udp = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port,
    });
    assert.equal((tcp.addr as Deno.NetAddr).port, port);
    assert.equal((udp.addr as Deno.NetAddr).port, port);
    tcp.close();
    udp.close();
  }
});
