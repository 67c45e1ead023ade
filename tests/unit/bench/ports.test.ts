/**
 * The benchmark's port picker for servers that bind TCP and UDP on one port
 * (opentracker): the port it returns must take both, with real sockets.
 */
import assert from "node:assert/strict";
import { freeTcpUdpPort } from "../../../bench/_proc.ts";

/** Binds TCP and UDP on `port`; false if another process took it meanwhile. */
function bindsBoth(port: number): boolean {
  let tcp: Deno.TcpListener | null = null;
  try {
    tcp = Deno.listen({ hostname: "127.0.0.1", port });
    const udp = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port,
    });
    assert.equal((tcp.addr as Deno.NetAddr).port, port);
    assert.equal((udp.addr as Deno.NetAddr).port, port);
    udp.close();
    return true;
  } catch (error) {
    // The whole suite runs in parallel: another test's socket may take the
    // port between the pick and this bind. That is a race, not a wrong pick.
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  } finally {
    tcp?.close();
  }
}

Deno.test("freeTcpUdpPort returns a port free for both TCP and UDP", () => {
  let bound = 0;
  for (let i = 0; i < 20; i++) {
    if (bindsBoth(freeTcpUdpPort())) bound++;
  }
  // A port free for one protocol only would fail far more often than the
  // rare port another process grabs in the microseconds between.
  assert.ok(bound >= 18, `${bound} of 20 picked ports took both`);
});
