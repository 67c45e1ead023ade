// deno-lint-ignore-file no-console
/**
 * A bare Deno UDP echo loop: the baseline for the tracker load benchmark.
 * It has the tracker's loop shape (one buffer, await receive, await send)
 * with no handler, so the ratio tracker / echo is what the handler costs.
 *
 * Usage: `deno run --allow-net bench/udp_echo.ts [--host 127.0.0.1] [--port 0]`.
 * Prints `udp echo listening on udp://HOST:PORT` once bound; stops on SIGTERM/SIGINT.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Largest datagram echoed (one byte over the protocol's limit, like the tracker). */
const BUFFER_BYTES = 1453;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      `Usage: deno run --allow-net bench/udp_echo.ts [--host 127.0.0.1] [--port 0]

Sends every UDP datagram back to its sender: the baseline the tracker is
compared with (same loop shape: await receive, await send). Runs until
SIGINT or SIGTERM.

Options:
  --host ADDRESS  address to bind (default 127.0.0.1)
  --port PORT     port, 0 for any free one (default 0)
  --help          print this help and exit`,
    );
    Deno.exit(0);
  }
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: values.host,
    port: Number(values.port),
  });
  const addr = socket.addr as Deno.NetAddr;
  const stop = () => socket.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  console.log(`udp echo listening on udp://${addr.hostname}:${addr.port}`);
  const buffer = new Uint8Array(BUFFER_BYTES);
  for (;;) {
    let received: [Uint8Array, Deno.Addr];
    try {
      received = await socket.receive(buffer);
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) break;
      continue;
    }
    try {
      await socket.send(received[0], received[1]);
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) break;
    }
  }
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
}
