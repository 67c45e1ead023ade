/**
 * Asks a real seeder for chunks over the Shoal wire, as a leecher would but
 * with nothing in between: a HANDSHAKE, then one GET per chunk, on one
 * connection from 127.0.0.1. For tests that check what a seeder serves
 * (seeder_trust.test.ts, fault_seeders.test.ts).
 *
 * @module
 */
import { createMessage, FrameDecoder, type Message } from "@shoal/protocol";

/** The first GET's txid; GET `k` (of `indexes`) has txid FIRST_TXID + k. */
const FIRST_TXID = 100;

/**
 * Sends a HANDSHAKE for `fileId` and a GET for each of `indexes`, and
 * returns the answers to the GETs (CHUNK_DATA, its bytes copied, or ERROR)
 * in the order they came, once all came, the seeder closed the connection,
 * or `timeoutMs` passed (so a refused handshake gives none).
 *
 * @param port the seeder's TCP port on 127.0.0.1
 * @param fileId the file asked for
 * @param indexes the chunks asked for
 * @param timeoutMs how long to wait for the answers
 */
export async function askChunks(
  port: number,
  fileId: Uint8Array,
  indexes: number[],
  timeoutMs = 15_000,
): Promise<Message[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const frames = [
      createMessage({
        kind: "handshake",
        txid: 1,
        fileId,
        peerId: new Uint8Array(16).fill(3),
        port: 0,
      }),
      ...indexes.map((index, k) =>
        createMessage({ kind: "get", txid: FIRST_TXID + k, index })
      ),
    ];
    for (const frame of frames) {
      for (let at = 0; at < frame.byteLength;) {
        at += await conn.write(frame.subarray(at));
      }
    }
    const isAnswer = (txid: number) =>
      txid >= FIRST_TXID && txid < FIRST_TXID + indexes.length;
    const decoder = new FrameDecoder();
    const answers: Message[] = [];
    const buffer = new Uint8Array(64 * 1024);
    const deadline = performance.now() + timeoutMs;
    while (answers.length < indexes.length && performance.now() < deadline) {
      const n = await conn.read(buffer);
      if (n === null) break;
      decoder.push(buffer.subarray(0, n), (message) => {
        if (!isAnswer(message.txid)) return;
        if (message.kind === "chunk_data") {
          answers.push({ ...message, data: message.data.slice() });
        } else if (message.kind === "error") answers.push(message);
      });
    }
    return answers;
  } finally {
    conn.close();
  }
}
