/**
 * Asks a Shoal tracker how many peers it lists for a file name, with the
 * real protocol (CONNECT for a cookie, then REQUEST). The swarm benchmark
 * uses it to start the leecher only once every seeder is registered.
 *
 * @module
 */
import { createMessage, type Message, parseMessage } from "@shoal/protocol";
import { waitForCount } from "./_proc.ts";
import { loopbackUdp } from "./_udp.ts";

async function ask(
  socket: Deno.DatagramConn,
  to: Deno.NetAddr,
  message: Message,
  timeoutMs: number,
): Promise<Message | null> {
  await socket.send(createMessage(message), to);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      socket.receive(),
      new Promise<null>((resolve) => {
        timer = setTimeout(
          () => resolve(null),
          Math.max(1, deadline - performance.now()),
        );
      }),
    ]);
    clearTimeout(timer);
    if (!got) return null;
    try {
      const reply = parseMessage(got[0]);
      if (reply.txid === message.txid) return reply;
    } catch {
      // Not ours or malformed: keep waiting.
    }
  }
  return null;
}

/**
 * Peers the tracker lists for `name`, or null without an answer.
 *
 * @param port the tracker's UDP port on 127.0.0.1
 * @param name the file name
 */
export async function shoalPeerCount(
  port: number,
  name: string,
): Promise<number | null> {
  const { socket, to } = loopbackUdp(port);
  try {
    const txid = Math.floor(Math.random() * 0xffff_0000);
    const cookie = await ask(socket, to, { kind: "connect", txid }, 500);
    if (cookie?.kind !== "cookie") return null;
    const reply = await ask(socket, to, {
      kind: "request",
      txid: txid + 1,
      cookie: cookie.cookie,
      wanted: 200,
      query: { name },
    }, 500);
    if (reply?.kind === "peer_list") return reply.peers.length;
    if (reply?.kind === "error") return 0;
    return null;
  } finally {
    socket.close();
  }
}

/** Waits until the tracker lists `count` peers for `name`; throws on timeout. */
export async function waitShoalPeers(
  port: number,
  name: string,
  count: number,
  timeoutMs: number,
): Promise<void> {
  await waitForCount(
    () => shoalPeerCount(port, name),
    count,
    timeoutMs,
    (last) =>
      `Shoal tracker lists ${last} of ${count} seeders of "${name}" after ${timeoutMs} ms`,
  );
}
