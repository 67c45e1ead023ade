/**
 * The opening side of an MSE handshake, written from the specification
 * (https://wiki.vuze.com/w/Message_Stream_Encryption) for the tests of
 * Shoal's answering side (protocol/bt_wire/mse.ts) and the fuzzer
 * (bench/fuzz.ts), with knobs to break each rule.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { MSE_KEY_BYTES, MSE_PRIME, Rc4 } from "@shoal/protocol";

const encoder = new TextEncoder();

function sha1(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha1");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function big(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function bytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

/** Step 3's fields, each overridable to break a rule. */
export interface MseStep3Options {
  /** crypto_provide. @default {3: plain text or RC4} */
  provide?: number;
  /** PadC. @default {none} */
  padC?: Uint8Array;
  /** len(PadC) as sent. @default {padC's length} */
  padCLength?: number;
  /** The verification constant. @default {8 zero bytes} */
  vc?: Uint8Array;
  /** The infohash named (SKEY). @default {the initiator's} */
  skey?: Uint8Array;
}

/** An MSE initiator for one torrent. */
export class MseInitiator {
  readonly infoHash: Uint8Array;
  readonly #x: bigint;
  readonly ya: Uint8Array;
  #secret: Uint8Array | null = null;
  #encrypt: Rc4 | null = null;
  #keyB: Uint8Array | null = null;
  #vcSent: Uint8Array | null = null;

  /** @param infoHash the 20-byte infohash (SKEY) */
  constructor(infoHash: Uint8Array) {
    this.infoHash = infoHash;
    this.#x = big(crypto.getRandomValues(new Uint8Array(20)));
    this.ya = bytes(modPow(2n, this.#x, MSE_PRIME), MSE_KEY_BYTES);
  }

  /** Step 1: Ya and PadA. */
  step1(padA = new Uint8Array()): Uint8Array {
    return concat([this.ya, padA]);
  }

  /** Reads Yb from step 2 (the first 96 bytes of what B sent). */
  takeYb(answer: Uint8Array): void {
    const yb = big(answer.subarray(0, MSE_KEY_BYTES));
    this.#secret = bytes(modPow(yb, this.#x, MSE_PRIME), MSE_KEY_BYTES);
  }

  /** Step 3, with the initial payload `ia`. */
  step3(ia: Uint8Array, options: MseStep3Options = {}): Uint8Array {
    const s = this.#secret!;
    const skey = options.skey ?? this.infoHash;
    const req2 = sha1(encoder.encode("req2"), skey);
    const req3 = sha1(encoder.encode("req3"), s);
    for (let i = 0; i < 20; i++) req2[i] = req2[i]! ^ req3[i]!;
    this.#encrypt = new Rc4(sha1(encoder.encode("keyA"), s, skey), 1024);
    // B's step 4 starts with VC encrypted: A finds it after PadB by it.
    this.#keyB = sha1(encoder.encode("keyB"), s, skey);
    this.#vcSent = new Rc4(this.#keyB, 1024).apply(new Uint8Array(8));
    const padC = options.padC ?? new Uint8Array();
    const head = new Uint8Array(14);
    head.set(options.vc ?? new Uint8Array(8));
    const view = new DataView(head.buffer);
    view.setUint32(8, options.provide ?? 3);
    view.setUint16(12, options.padCLength ?? padC.byteLength);
    const iaLength = new Uint8Array(2);
    new DataView(iaLength.buffer).setUint16(0, ia.byteLength);
    const secret = concat([head, padC, iaLength, ia]);
    this.#encrypt.apply(secret);
    return concat([sha1(encoder.encode("req1"), s), req2, secret]);
  }

  /**
   * Finds and decrypts step 4 in what B sent after Yb (PadB, then step 4,
   * then the plain stream): crypto_select and the bytes after PadD, or
   * null when step 4 has not fully arrived.
   */
  readStep4(
    received: Uint8Array,
  ): { select: number; after: Uint8Array } | null {
    const vc = this.#vcSent!;
    let at = -1;
    for (let i = 0; i + 8 <= received.byteLength && at < 0; i++) {
      if (vc.every((byte, k) => received[i + k] === byte)) at = i;
    }
    if (at < 0 || received.byteLength < at + 14) return null;
    // From the start of B's key stream each time: callable again as more arrives.
    const decrypt = new Rc4(this.#keyB!, 1024 + 8);
    const head = decrypt.apply(received.slice(at + 8, at + 14));
    const view = new DataView(head.buffer);
    const padD = view.getUint16(4);
    if (received.byteLength < at + 14 + padD) return null;
    decrypt.apply(received.slice(at + 14, at + 14 + padD));
    return {
      select: view.getUint32(0),
      after: received.slice(at + 14 + padD),
    };
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
