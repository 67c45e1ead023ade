/**
 * The BEP 15 client on a real loopback socket that never answers: a call
 * that times out leaves no listener on the caller's signal (the
 * announcer's signal lives as long as the peer).
 */
import assert from "node:assert/strict";
import { TrackerError } from "../../../peer/tracker_client.ts";
import { Bep15TrackerClient } from "../../../peer/tracker_client/bep15_client.ts";

Deno.test("a BEP 15 call that is never answered leaves no abort listener on its signal", async () => {
  // A tracker that reads nothing and answers nothing.
  const silent = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const client = await Bep15TrackerClient.open({
    host: "127.0.0.1",
    port: (silent.addr as Deno.NetAddr).port,
    timeoutMs: 10,
    retries: 2,
  });
  const signal = new AbortController().signal;
  let listening = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    listening++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    listening--;
    remove(...args);
  };
  try {
    await assert.rejects(
      client.connect({ signal }),
      (error) => error instanceof TrackerError && error.code === "unreachable",
    );
    assert.equal(listening, 0);
  } finally {
    await client.close();
    silent.close();
  }
});
