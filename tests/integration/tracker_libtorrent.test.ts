/**
 * The Shoal tracker serves a real BitTorrent client: python3-libtorrent
 * (Debian's 2.0.8) announces a v2 torrent to `udp://127.0.0.1:PORT/announce`
 * (BEP 15, the 20-byte truncated infohash) on the tracker process while a
 * real Shoal seeder of the same file registers its 32-byte file id. Each
 * must be in the other's peer list: libtorrent connects to the Shoal
 * seeder's address, and Shoal's TrackerClient REQUEST by id lists
 * libtorrent. Scrape and "stopped" as libtorrent sends them. Loopback
 * only; skipped with a note when libtorrent is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fromHex } from "@shoal/protocol";
import * as h from "../_helpers/mod.ts";
import {
  fileWithLtTorrent,
  hasLibtorrent,
  LT_PYTHON,
  ltFixture,
} from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the libtorrent tracker test");

/** One line lt_tracker_client.py prints. */
interface LtEvent {
  event: string;
  [field: string]: unknown;
}

/** lt_tracker_client.py as a process: its events, and commands to it. */
class LibtorrentClient implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly events: LtEvent[] = [];
  readonly #reading: Promise<void>;
  #stderr = "";
  readonly #stderrDone: Promise<void>;

  constructor(args: string[]) {
    const child = new Deno.Command(LT_PYTHON, {
      args: [ltFixture("lt_tracker_client.py"), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reading = (async () => {
      let pending = "";
      for await (
        const chunk of child.stdout.pipeThrough(
          new TextDecoderStream(),
        )
      ) {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (line.trim()) this.events.push(JSON.parse(line));
        }
      }
    })();
    this.#stderrDone = (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(
          new TextDecoderStream(),
        )
      ) this.#stderr += chunk;
    })();
  }

  /** Waits (bounded) for an event that `match` accepts. */
  waitFor(
    what: string,
    match: (event: LtEvent) => boolean,
    timeoutMs = 20_000,
  ): Promise<LtEvent> {
    return h.waitUntil(
      `libtorrent: ${what} (events so far: ${
        JSON.stringify(this.events)
      }; stderr: ${this.#stderr})`,
      () => this.events.find(match),
      timeoutMs,
    );
  }

  async send(command: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${command}\n`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("quit");
      await this.#writer.close();
    } catch {
      // Already gone.
    }
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      h.sleep(5_000).then(() => false),
    ]);
    if (!exited) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
    }
    await this.#reading;
    await this.#stderrDone;
  }
}

/**
 * libtorrent announcing `torrent` (its file in `ltDir`) to `tracker` from a
 * free port, once the tracker's first reply came.
 */
async function announcingLt(
  torrent: string,
  ltDir: string,
  tracker: { host: string; port: number },
): Promise<LibtorrentClient & { port: number; reply: LtEvent }> {
  const ltPort = h.freePort();
  const lt = new LibtorrentClient([
    torrent,
    ltDir,
    String(ltPort),
    `udp://${tracker.host}:${tracker.port}/announce`,
    "60",
  ]);
  try {
    const reply = await lt.waitFor(
      "a tracker reply",
      (e) => e.event === "tracker_reply" || e.event === "tracker_error",
    );
    assert.equal(reply.event, "tracker_reply", JSON.stringify(reply));
    return Object.assign(lt, { port: ltPort, reply });
  } catch (error) {
    await lt[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test({
  name:
    "libtorrent announcing a v2 torrent and a Shoal seeder of the same file are in each other's peer lists on the Shoal tracker",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    const seedDir = join(dir.path, "seed");
    const ltDir = join(dir.path, "lt");
    await Deno.mkdir(seedDir);
    await Deno.mkdir(ltDir);
    const file = join(seedDir, "both.bin");
    const { torrentPath: torrent, infohash } = await fileWithLtTorrent(
      file,
      1_500_000,
      17,
      join(dir.path, "both.torrent"),
    );
    const fileId = fromHex(infohash)!;
    assert.equal(fileId.byteLength, 32);

    const tracker = await h.startTrackerProcess(["--stats-port", "0"]);
    const statsUrl = (await tracker.waitFor(/stats on (http:\S+)\/stats/))[1]!;
    try {
      const seeder = await h.startSeeder(tracker, [file], seedDir, [
        "--host",
        "127.0.0.1",
      ]);
      try {
        await using shoal = await h.openTrackerClient(tracker);
        const peersOfFile = async () => {
          const found = await shoal.request({ id: fileId });
          return found.kind === "peers" ? found.peers : [];
        };
        // The Shoal seeder registered the 32-byte id: libtorrent's v2 infohash.
        await h.waitUntil(
          "the Shoal seeder's registration",
          async () =>
            (await peersOfFile()).some((peer) => peer.port === seeder.port) ||
            null,
          20_000,
        );

        await using lt = await announcingLt(torrent, ltDir, tracker);
        const { port: ltPort, reply } = lt;
        // libtorrent got the Shoal seeder from the tracker and tried it.
        assert.ok((reply.peers as number) >= 1, JSON.stringify(reply));
        await lt.waitFor(
          `a connection to the Shoal seeder on port ${seeder.port}`,
          (e) =>
            e.event === "peer" && e.ip === "127.0.0.1" &&
            e.port === seeder.port,
        );

        // Shoal's REQUEST by id lists libtorrent, as a leecher.
        const listed = await h.waitUntil(
          "libtorrent in the Shoal peer list",
          async () =>
            (await peersOfFile()).find((peer) => peer.port === ltPort),
          10_000,
        );
        // It may have finished from the seeder already: complete or not.
        assert.deepEqual(
          { host: listed.host, port: listed.port, bt: listed.bittorrent },
          { host: "127.0.0.1", port: ltPort, bt: true },
        );

        // Scrape: the Shoal seeder and libtorrent, counted together.
        await lt.send("scrape");
        const scrape = await lt.waitFor(
          "a scrape reply",
          (e) => e.event === "scrape",
        );
        // The Shoal seeder, and libtorrent as a leecher or (done) a seeder.
        assert.equal(
          Number(scrape.complete) + Number(scrape.incomplete),
          2,
          JSON.stringify(scrape),
        );
        assert.ok(Number(scrape.complete) >= 1, JSON.stringify(scrape));
        const stats = await (await fetch(`${statsUrl}/stats`)).json();
        assert.equal(stats.peersByProtocol.bittorrent, 1);
        assert.ok(stats.bittorrentRequests.announce >= 1);
        assert.ok(stats.bittorrentRequests.scrape >= 1);

        // Once its "completed" announce is in: one still on its way after
        // "stopped" would list it again (a CI run timed out below once).
        await h.waitUntil(
          "libtorrent listed as complete",
          async () =>
            (await peersOfFile()).find((peer) =>
              peer.port === ltPort && peer.complete
            ),
          20_000,
        );
        // Removing the torrent announces "stopped": it leaves the list.
        await lt.send("remove");
        await h.waitUntil(
          "libtorrent gone from the Shoal peer list after stopped",
          async () =>
            (await peersOfFile()).some((peer) => peer.port === ltPort)
              ? null
              : true,
          20_000,
        );
        const after = await (await fetch(`${statsUrl}/stats`)).json();
        assert.equal(after.peersByProtocol.bittorrent, 0);
      } finally {
        await seeder.stop();
      }
    } finally {
      assert.equal(await tracker.stop(), 0);
    }
  },
});

Deno.test({
  name:
    "a Shoal leecher downloads from a libtorrent seeder it found on the Shoal tracker, in BitTorrent from the first connection",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    await using dir = await h.tempDir();
    const ltDir = join(dir.path, "lt");
    await Deno.mkdir(ltDir);
    const file = join(ltDir, "from-lt.bin");
    const { torrentPath: torrent, infohash: id } = await fileWithLtTorrent(
      file,
      1_500_000,
      19,
      join(dir.path, "from-lt.torrent"),
    );
    const tracker = await h.startTrackerProcess([]);
    try {
      // libtorrent holds the file: it announces itself as a seeder (BEP 15).
      await using lt = await announcingLt(torrent, ltDir, tracker);
      const ltPort = lt.port;
      const out = join(dir.path, "out");
      const result = await h.spawnLeecher(tracker, id, out, 30, [
        "--json",
        "--log-level",
        "debug",
      ]).done(60_000);
      assert.equal(result.code, 0, result.stderr);
      await h.assertSameFile(join(out, "from-lt.bin"), file);
      const done = h.doneEvent(result.stdout);
      assert.ok(done.chunksByPeer[`127.0.0.1:${ltPort}`]! > 0, result.stdout);
      // The tracker said libtorrent is a BitTorrent client: no Shoal
      // handshake was tried and waited out first.
      assert.doesNotMatch(result.stderr, /did not answer in Shoal/);
    } finally {
      assert.equal(await tracker.stop(), 0);
    }
  },
});
