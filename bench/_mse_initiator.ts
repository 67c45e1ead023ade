/**
 * The opening side of an MSE handshake, written from the specification
 * (https://wiki.vuze.com/w/Message_Stream_Encryption) for the tests of
 * Shoal's answering side (protocol/bt_wire/mse.ts) and the fuzzer
 * (bench/fuzz.ts), with knobs to break each rule.
 *
 * @module
 */
import {
  MSE_PRIVATE_KEY_BYTES,
  mseHash,
  msePublicKey,
  mseSecret,
  Rc4,
} from "@shoal/protocol";
import { concatBytes as concat } from "./_bytes.ts";

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
  readonly #x: Uint8Array;
  readonly ya: Uint8Array;
  #secret: Uint8Array | null = null;
  #encrypt: Rc4 | null = null;
  #keyB: Uint8Array | null = null;
  #vcSent: Uint8Array | null = null;

  /** @param infoHash the 20-byte infohash (SKEY) */
  constructor(infoHash: Uint8Array) {
    this.infoHash = infoHash;
    this.#x = crypto.getRandomValues(new Uint8Array(MSE_PRIVATE_KEY_BYTES));
    this.ya = msePublicKey(this.#x);
  }

  /** Step 1: Ya and PadA. */
  step1(padA = new Uint8Array()): Uint8Array {
    return concat(this.ya, padA);
  }

  /** Reads Yb from step 2 (the first 96 bytes of what B sent). */
  takeYb(answer: Uint8Array): void {
    this.#secret = mseSecret(answer.subarray(0, this.ya.byteLength), this.#x);
  }

  /** Step 3, with the initial payload `ia`. */
  step3(ia: Uint8Array, options: MseStep3Options = {}): Uint8Array {
    const s = this.#secret!;
    const skey = options.skey ?? this.infoHash;
    const req2 = mseHash("req2", skey);
    const req3 = mseHash("req3", s);
    for (let i = 0; i < 20; i++) req2[i] = req2[i]! ^ req3[i]!;
    this.#encrypt = new Rc4(mseHash("keyA", s, skey), 1024);
    // B's step 4 starts with VC encrypted: A finds it after PadB by it.
    this.#keyB = mseHash("keyB", s, skey);
    this.#vcSent = new Rc4(this.#keyB, 1024).apply(new Uint8Array(8));
    const padC = options.padC ?? new Uint8Array();
    const head = new Uint8Array(14);
    head.set(options.vc ?? new Uint8Array(8));
    const view = new DataView(head.buffer);
    view.setUint32(8, options.provide ?? 3);
    view.setUint16(12, options.padCLength ?? padC.byteLength);
    const iaLength = new Uint8Array(2);
    new DataView(iaLength.buffer).setUint16(0, ia.byteLength);
    const secret = concat(head, padC, iaLength, ia);
    this.#encrypt.apply(secret);
    return concat(mseHash("req1", s), req2, secret);
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
