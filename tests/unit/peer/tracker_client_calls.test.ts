/**
 * The tracker client's calls on a fake transport: REGISTER batching, how
 * replies are read, and DNS failures.
 */
import assert from "node:assert/strict";
import {
  createMessage,
  ErrorCode,
  type FileAnnouncement,
  MAX_DATAGRAM_BYTES,
} from "@shoal/protocol";
import { TrackerClient, TrackerError } from "../../../peer/tracker_client.ts";
import {
  MAX_FILES_PER_REGISTER,
  registerBatches,
} from "../../../peer/tracker_client/batching.ts";
import { resolveTrackerHost } from "../../../peer/tracker_client/resolve.ts";
import {
  FakeTransport,
  openFakeClient,
  settle,
} from "../../_helpers/fake_tracker_transport.ts";
import { giveCookie } from "./_tracker_replies.ts";

const PEER_ID = new Uint8Array(16).fill(7);

function file(index: number, nameBytes = 8): FileAnnouncement {
  const fileId = new Uint8Array(32);
  new DataView(fileId.buffer).setUint32(0, index);
  return {
    id: fileId,
    name: `f${index}`.padEnd(nameBytes, "x"),
    size: 1000 + index,
    chunkCount: 1,
    complete: true,
  };
}

/** Whether `batch` fits one REGISTER datagram (the encoder refuses more). */
function fitsOneRegister(batch: FileAnnouncement[]): boolean {
  try {
    return createMessage({
      kind: "register",
      txid: 1,
      cookie: 1n,
      peerId: PEER_ID,
      port: 7000,
      files: batch,
    }).byteLength <= MAX_DATAGRAM_BYTES;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

Deno.test("registerBatches() fills each REGISTER up to the datagram limit, in order", () => {
  for (const nameBytes of [1, 60, 200]) {
    const files = Array.from({ length: 300 }, (_, i) => file(i, nameBytes));
    const batches = registerBatches(files);
    assert.ok(batches.length > 1, `${nameBytes}-byte names`);
    assert.deepEqual(batches.flat(), files, "every file once, in order");
    batches.forEach((batch, index) => {
      assert.ok(batch.length <= MAX_FILES_PER_REGISTER);
      assert.ok(fitsOneRegister(batch));
      const next = batches[index + 1]?.[0];
      if (next) {
        assert.ok(
          !fitsOneRegister([...batch, next]),
          "a batch is closed only when the next file does not fit",
        );
      }
    });
  }
  assert.deepEqual(registerBatches([]), [[]], "REGISTER of the peer alone");
});

Deno.test("TrackerClient.register() sends many files as several REGISTER datagrams, each after the last ACK", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const files = Array.from({ length: 100 }, (_, i) => file(i, 60));
    let settled = false;
    const call = client.register(PEER_ID, 7000, files);
    call.finally(() => settled = true).catch(() => {});
    await settle();
    transport.answer({
      kind: "cookie",
      txid: transport.last("connect").txid,
      cookie: 3n,
    });
    for (let acks = 0; acks < 50 && !settled; acks++) {
      await settle();
      const register = transport.last("register");
      assert.equal(
        transport.sent.filter((m) => m.kind === "register").length,
        acks + 1,
        "one REGISTER in flight at a time",
      );
      transport.answer({
        kind: "ack",
        txid: register.txid,
        intervalSeconds: 30 + acks,
      });
      await settle();
    }
    const { intervalSeconds } = await call;
    const registers = transport.sent.filter((m) => m.kind === "register");
    assert.deepEqual(
      registers.map((m) => m.kind === "register" && m.files.length),
      registerBatches(files).map((batch) => batch.length),
    );
    assert.equal(intervalSeconds, 30 + registers.length - 1, "the last ACK's");
    assert.deepEqual(
      registers.flatMap((m) => m.kind === "register" ? m.files : []),
      files,
    );
    assert.ok(registers.every((m) => m.kind === "register" && m.cookie === 3n));
    for (const bytes of transport.sentBytes) {
      assert.ok(bytes.byteLength <= MAX_DATAGRAM_BYTES, `${bytes.byteLength}`);
    }
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient.request() reads PEER_LIST, UNKNOWN_FILE and a reply of the wrong kind", async () => {
  const { client, transport } = await openFakeClient();
  try {
    const fileId = new Uint8Array(32).fill(1);
    const peers = client.request({ id: fileId }, 10);
    await giveCookie(transport, 3n);
    const request = transport.last("request");
    assert.equal(request.wanted, 10);
    transport.answer({
      kind: "peer_list",
      txid: request.txid,
      fileId,
      name: "a.bin",
      size: 5,
      chunkCount: 1,
      peers: [{ host: "127.0.0.1", port: 7001, complete: true }],
    });
    const found = await peers;
    assert.equal(found.kind, "peers");
    assert.equal(found.kind === "peers" && found.peers[0]?.port, 7001);

    const unknown = client.request({ name: "b.bin" });
    await settle();
    transport.answer({
      kind: "error",
      txid: transport.last("request").txid,
      code: ErrorCode.UNKNOWN_FILE,
      text: "unknown file",
    });
    assert.deepEqual(await unknown, { kind: "unknown" });

    const odd = client.request({ name: "c.bin" });
    await settle();
    transport.answer({
      kind: "ack",
      txid: transport.last("request").txid,
      intervalSeconds: 30,
    });
    await assert.rejects(odd, (error) => {
      assert.ok(error instanceof TrackerError, String(error));
      assert.equal(error.code, "bad_reply");
      assert.match(error.message, /tracker answered ack/);
      return true;
    });
  } finally {
    await client.close();
  }
});

Deno.test("TrackerClient.open() fails with TrackerError resolve when DNS has no address", async () => {
  let opened = false;
  const lookups: string[] = [];
  await assert.rejects(
    TrackerClient.open({
      host: "no-such-host.invalid",
      port: 6969,
      resolveDns: (name, type) => {
        lookups.push(`${type} ${name}`);
        return Promise.reject(new Deno.errors.NotFound("no such name"));
      },
      openTransport: () => {
        opened = true;
        return new FakeTransport();
      },
    }),
    (error) => {
      // peer/main.ts turns a TrackerError at start into exit code 7.
      assert.ok(error instanceof TrackerError, String(error));
      assert.equal(error.code, "resolve");
      assert.equal(
        error.message,
        'Cannot resolve tracker host "no-such-host.invalid": no address found; check the name',
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    },
  );
  assert.deepEqual(lookups, [
    "A no-such-host.invalid",
    "AAAA no-such-host.invalid",
  ]);
  assert.equal(opened, false, "no socket for an unresolved tracker");
});

Deno.test("resolveTrackerHost() takes IPs and localhost as they are and falls back from A to AAAA", async () => {
  const never = () => Promise.reject(new Error("looked up"));
  assert.equal(await resolveTrackerHost("[::1]", never), "::1");
  assert.equal(await resolveTrackerHost("10.0.0.1", never), "10.0.0.1");
  assert.equal(await resolveTrackerHost("localhost", never), "127.0.0.1");
  assert.equal(
    await resolveTrackerHost(
      "tracker.example",
      (_, type) => Promise.resolve(type === "A" ? [] : ["2001:db8::1"]),
    ),
    "2001:db8::1",
  );
  await assert.rejects(
    resolveTrackerHost("empty.example", () => Promise.resolve([])),
    (error) => error instanceof TrackerError && error.code === "resolve",
  );
});
