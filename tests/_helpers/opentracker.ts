/**
 * opentracker (Debian's `opentracker`), a BitTorrent-only tracker (BEP 15
 * over UDP), on 127.0.0.1 for interop tests. Tests that need it skip with a
 * note when it is missing.
 *
 * @module
 */
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import { Bep15Client } from "./bep15.ts";
import { type RunningProcess, spawnDenoWith } from "./peers.ts";

/** Whether opentracker is installed; when not, warns that `what` is skipped. */
export async function hasOpentracker(what: string): Promise<boolean> {
  const ok = await new Deno.Command("opentracker", {
    args: ["-h"],
    stdout: "null",
    stderr: "null",
  }).output().then(() => true, () => false);
  if (!ok) {
    // deno-lint-ignore no-console
    console.warn(
      `Skipping ${what}: opentracker is not installed (apt-get install opentracker)`,
    );
  }
  return ok;
}

/** A port free on 127.0.0.1 for both TCP and UDP (opentracker binds both). */
function freeTcpUdpPort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port })
        .close();
      return port;
    } catch {
      // Taken for UDP: try another.
    }
  }
  throw new Error("Cannot find a port free for TCP and UDP on 127.0.0.1");
}

/**
 * Starts opentracker on 127.0.0.1 (UDP and HTTP on one random port) and
 * waits until it answers a BEP 15 connect. Debian's build serves only the
 * infohashes of its whitelist (written to `dir`, which must be readable by
 * the user it drops to).
 *
 * @param dir a folder for the whitelist
 * @param ids the files it serves (their first 20 bytes are the infohashes)
 */
export async function startOpentracker(
  dir: string,
  ids: Uint8Array[],
): Promise<RunningProcess & { host: string; port: number } & AsyncDisposable> {
  const port = freeTcpUdpPort();
  const hex = ids.map((id) => toHex(id.subarray(0, 20)) + "\n").join("");
  await Deno.writeTextFile(join(dir, "whitelist"), hex);
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(join(dir, "whitelist"), 0o644);
  const args = ["-i", "127.0.0.1", "-p", String(port), "-P", String(port)];
  args.push("-d", dir, "-w", "whitelist");
  // It refuses to run as root and drops to this user.
  if (Deno.uid() === 0) args.push("-u", "_opentracker");
  const process = spawnDenoWith(args, { binary: "opentracker" });
  const probe = new Bep15Client("127.0.0.1", { host: "127.0.0.1", port });
  try {
    // Bounded: 5 tries of 200 ms each.
    const reply = await probe.ask({ action: "connect" }, 200);
    if (reply?.action !== "connect") {
      await process.stop();
      throw new Error("opentracker did not answer a BEP 15 connect");
    }
  } finally {
    await probe.probe.close();
  }
  return Object.assign(process, {
    host: "127.0.0.1",
    port,
    [Symbol.asyncDispose]: async () => {
      await process.stop();
    },
  });
}
