/**
 * The tracker's side of the tracker client's unit tests, on a
 * {@linkcode FakeTransport}: hand over a cookie, acknowledge a request.
 *
 * @module
 */
import type { Message, MessageOf } from "@shoal/protocol";
import {
  type FakeTransport,
  settle,
} from "../../_helpers/fake_tracker_transport.ts";

/** Answers the pending CONNECT with `cookie`, letting the client send before and after. */
export async function giveCookie(
  transport: FakeTransport,
  cookie: bigint,
): Promise<void> {
  await settle();
  transport.answer({
    kind: "cookie",
    txid: transport.last("connect").txid,
    cookie,
  });
  await settle();
}

/** Answers the last request, which must be of `kind`, with an ACK (interval 30 s); returns that request. */
export function ackLast<K extends Message["kind"]>(
  transport: FakeTransport,
  kind: K,
): MessageOf<K> {
  const request = transport.last(kind);
  transport.answer({ kind: "ack", txid: request.txid, intervalSeconds: 30 });
  return request;
}
