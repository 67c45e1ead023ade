/**
 * A real seeder process whose handshake and idle timeouts are shortened
 * (SHOAL_HANDSHAKE_TIMEOUT_MS, SHOAL_IDLE_TIMEOUT_MS), so the attacks that
 * wait on them (attack_peer.test.ts, attack_bt_peer.test.ts) stay quick.
 *
 * @module
 */
import { type RunningProcess, spawnPeer, type TrackerArg } from "./peers.ts";

/**
 * Starts a seeder of `file` on 127.0.0.1 with both timeouts at
 * `timeoutMs`, ready once it printed its port.
 *
 * @param tracker the tracker it registers with
 * @param file the file it seeds
 * @param state its state folder (`--out`)
 * @param timeoutMs the handshake and idle timeouts
 */
export async function startImpatientSeeder(
  tracker: TrackerArg,
  file: string,
  state: string,
  timeoutMs: number,
): Promise<RunningProcess & { port: number }> {
  const args = ["--seed", file, "--out", state, "--host", "127.0.0.1"];
  const seeder = spawnPeer(tracker, args, {
    env: {
      SHOAL_HANDSHAKE_TIMEOUT_MS: `${timeoutMs}`,
      SHOAL_IDLE_TIMEOUT_MS: `${timeoutMs}`,
    },
  });
  const match = await seeder.waitFor(/serving peers on port (\d+)/);
  return Object.assign(seeder, { port: Number(match[1]) });
}
