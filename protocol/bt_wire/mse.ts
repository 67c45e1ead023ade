/**
 * Message Stream Encryption (MSE, also called protocol encryption), the
 * answering side, as far as BitTorrent clients need it to reach a Shoal
 * seeder at once: libtorrent (so qBittorrent and Deluge) opens every
 * outgoing connection with an MSE handshake while encryption is allowed,
 * its default, and retries in plain text only at its next connection tick,
 * up to a second later, when the peer does not answer it.
 *
 * The handshake (https://wiki.vuze.com/w/Message_Stream_Encryption):
 *
 * 1. A → B: Ya (96 bytes, Diffie-Hellman over a 768-bit prime), PadA (0-512
 *    random bytes).
 * 2. B → A: Yb, PadB. Both now hold the secret S.
 * 3. A → B: SHA1("req1", S), SHA1("req2", SKEY) xor SHA1("req3", S), then
 *    RC4-encrypted: VC (8 zero bytes), crypto_provide (4), len(PadC) (2),
 *    PadC (0-512), len(IA) (2), IA (the initial payload: the BitTorrent
 *    handshake). SKEY is the torrent's 20-byte infohash.
 * 4. B → A: RC4-encrypted VC, crypto_select (4), len(PadD) (2), PadD.
 *
 * RC4 keys: SHA1("keyA", S, SKEY) for what A sends, SHA1("keyB", S, SKEY)
 * for what B sends; the first 1024 bytes of each key stream are dropped.
 * Shoal selects plain text (crypto_provide bit 0x01): after the handshake
 * the connection is the plain BitTorrent peer wire both ways (the IA
 * decrypted is its first bytes). A client that offers only RC4 (qBittorrent
 * does, by default) is declined: it retries in plain text.
 *
 * {@linkcode MseResponder} is a total, bounded state machine fed with the
 * bytes as they arrive: at most {@linkcode MAX_MSE_HANDSHAKE_BYTES} are ever
 * buffered, every length is checked against its bound before it is waited
 * for, and anything out of the rules ends it with a reason.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { BT_INFOHASH_BYTES } from "./constants.ts";
import { concatBytes } from "../bytes.ts";

/** The 768-bit safe prime of MSE's Diffie-Hellman exchange (generator 2). */
export const MSE_PRIME = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
);
/** Bytes of a Diffie-Hellman public key (and of the secret S). */
export const MSE_KEY_BYTES = 96;
/** Bytes of a private key: 160 bits, as the specification advises. */
export const MSE_PRIVATE_KEY_BYTES = 20;
/** Longest PadA, PadB, PadC or PadD. */
export const MAX_MSE_PAD_BYTES = 512;
/** Longest initial payload (IA); its length field is 16 bits. */
export const MAX_MSE_IA_BYTES = 65_535;
/** crypto_provide / crypto_select bit: plain text after the handshake. */
export const MSE_CRYPTO_PLAINTEXT = 0x01;
/** crypto_provide / crypto_select bit: RC4 after the handshake. */
export const MSE_CRYPTO_RC4 = 0x02;
/** Bytes of the hashes that open step 3. */
const HASH_BYTES = 20;
/** VC (8) + crypto_provide (4) + len(PadC) (2). */
const STEP3_HEAD_BYTES = 14;
/** The most bytes step 1 and step 3 take in all, IA included. */
export const MAX_MSE_HANDSHAKE_BYTES = MSE_KEY_BYTES + MAX_MSE_PAD_BYTES +
  2 * HASH_BYTES + STEP3_HEAD_BYTES + MAX_MSE_PAD_BYTES + 2 + MAX_MSE_IA_BYTES;
/** How far after Ya the sync hash may start: PadA's longest. */
const SYNC_SEARCH_BYTES = MAX_MSE_PAD_BYTES;

const encoder = new TextEncoder();

/**
 * MSE's HASH: SHA-1 of the parts one after another, a string part as its
 * ASCII bytes ("req1", "keyA", ...).
 *
 * @param parts the strings and bytes hashed
 * @returns the 20-byte digest
 */
export function mseHash(...parts: (string | Uint8Array)[]): Uint8Array {
  const hash = createHash("sha1");
  for (const part of parts) {
    hash.update(typeof part === "string" ? encoder.encode(part) : part);
  }
  return new Uint8Array(hash.digest());
}

/**
 * A Diffie-Hellman public key (Ya or Yb): 2^x mod P, on 96 bytes.
 *
 * @param privateKey x, big-endian (MSE: 20 random bytes)
 * @returns the public key
 */
export function msePublicKey(privateKey: Uint8Array): Uint8Array {
  return bytesFromBig(
    modPow(2n, bigFromBytes(privateKey), MSE_PRIME),
    MSE_KEY_BYTES,
  );
}

/**
 * The shared secret S: the other side's public key to the power x, mod P,
 * on 96 bytes.
 *
 * @param publicKey the other side's Ya or Yb (checked in range by the caller)
 * @param privateKey x, big-endian
 * @returns S
 */
export function mseSecret(
  publicKey: Uint8Array,
  privateKey: Uint8Array,
): Uint8Array {
  return bytesFromBig(
    modPow(bigFromBytes(publicKey), bigFromBytes(privateKey), MSE_PRIME),
    MSE_KEY_BYTES,
  );
}

function bigFromBytes(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function bytesFromBig(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** base^exponent mod modulus, by squaring. */
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

/**
 * RC4, the stream cipher MSE uses for its handshake (and, when selected,
 * for the whole connection; Shoal never selects it).
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  /**
   * @param key the key (MSE: 20 bytes)
   * @param discard key stream bytes to drop first (MSE: 1024)
   */
  constructor(key: Uint8Array, discard = 0) {
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.byteLength]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
    if (discard > 0) this.apply(new Uint8Array(discard));
  }

  /**
   * XORs the next key stream bytes into `bytes`, in place.
   *
   * @returns `bytes`
   */
  apply(bytes: Uint8Array): Uint8Array {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = 0; k < bytes.byteLength; k++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      bytes[k] = bytes[k]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return bytes;
  }
}

/** What {@linkcode MseResponder.push} asks of its caller. */
export type MseStep =
  /** Send these bytes, then wait for more. */
  | { kind: "send"; bytes: Uint8Array }
  /** Wait for more bytes. */
  | { kind: "more" }
  /**
   * The handshake is over, plain text selected: send `reply` (what is
   * left to send of this side's handshake, maybe nothing); the connection
   * is now the plain BitTorrent peer wire, and `payload` (the IA
   * decrypted, then whatever followed it) are its first bytes.
   */
  | {
    kind: "done";
    reply: Uint8Array;
    payload: Uint8Array;
    infoHash: Uint8Array;
  }
  /** The peer broke the rules: close, and say why. */
  | { kind: "fail"; reason: string }
  /**
   * The peer asks only for what Shoal does not offer (RC4 throughout, as
   * qBittorrent does by default): close quietly; it retries in plain text.
   */
  | { kind: "decline"; reason: string };

/** How {@linkcode MseResponder} finds the torrent and makes its keys. */
export interface MseResponderOptions {
  /**
   * The infohashes (20 bytes each) this peer would serve: SKEY is one of
   * them. Called once per handshake, when the peer names its torrent.
   */
  infoHashes: () => Iterable<Uint8Array>;
  /** Random bytes (the private key and PadB). @default {crypto.getRandomValues} */
  random?: (bytes: Uint8Array) => Uint8Array;
}

type State =
  | { at: "ya" }
  | { at: "sync"; secret: Uint8Array; req1: Uint8Array }
  | {
    at: "head" | "padc" | "ia";
    /** Where the encrypted part starts in the buffer. */
    from: number;
    decrypt: Rc4;
    encrypt: Rc4;
    infoHash: Uint8Array;
    provide: number;
    padC: number;
    ia: number;
  }
  | { at: "over" };

/**
 * The answering side of an MSE handshake (see the module comment), fed
 * with the bytes a connection delivers.
 *
 * @example
 * ```ts
 * import { MseResponder } from "./mse.ts";
 * const responder = new MseResponder({ infoHashes: () => [] });
 * responder.push(new Uint8Array(10)).kind; // "more": Ya is 96 bytes
 * ```
 */
export class MseResponder {
  readonly #options: MseResponderOptions;
  readonly #random: (bytes: Uint8Array) => Uint8Array;
  #buffer = new Uint8Array(1024);
  #filled = 0;
  #state: State = { at: "ya" };

  /** @param options the infohashes served, and a random source */
  constructor(options: MseResponderOptions) {
    this.#options = options;
    this.#random = options.random ??
      ((bytes) => crypto.getRandomValues(bytes));
  }

  /**
   * Takes the next bytes from the peer.
   *
   * @param bytes what arrived (copied; the caller may reuse its buffer)
   * @returns what to do next
   */
  push(bytes: Uint8Array): MseStep {
    if (this.#state.at === "over") {
      return { kind: "fail", reason: "MSE handshake already over" };
    }
    if (this.#filled + bytes.byteLength > MAX_MSE_HANDSHAKE_BYTES) {
      return this.#fail("MSE handshake longer than its limit");
    }
    this.#append(bytes);
    const sends: Uint8Array[] = [];
    for (;;) {
      const step = this.#advance();
      if (step === null) break;
      if (step === "again") continue;
      if (step.kind === "send") {
        sends.push(step.bytes);
        continue;
      }
      if (step.kind === "done" && sends.length > 0) {
        return { ...step, reply: concatBytes([...sends, step.reply]) };
      }
      return step;
    }
    if (sends.length === 0) return { kind: "more" };
    return { kind: "send", bytes: concatBytes(sends) };
  }

  #append(bytes: Uint8Array): void {
    const need = this.#filled + bytes.byteLength;
    if (need > this.#buffer.byteLength) {
      const grown = new Uint8Array(
        Math.min(
          MAX_MSE_HANDSHAKE_BYTES,
          Math.max(need, this.#buffer.byteLength * 2),
        ),
      );
      grown.set(this.#buffer.subarray(0, this.#filled));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#filled);
    this.#filled = need;
  }

  #fail(reason: string): MseStep {
    this.#state = { at: "over" };
    return { kind: "fail", reason };
  }

  /**
   * One step forward: what to tell the caller, "again" to take the next
   * step at once, or null when more bytes are needed.
   */
  #advance(): MseStep | "again" | null {
    const state = this.#state;
    const data = this.#buffer.subarray(0, this.#filled);
    switch (state.at) {
      case "ya": {
        if (data.byteLength < MSE_KEY_BYTES) return null;
        const ya = data.subarray(0, MSE_KEY_BYTES);
        // 1, P-1 and out-of-range keys would give away the secret.
        const value = bigFromBytes(ya);
        if (value < 2n || value > MSE_PRIME - 2n) {
          return this.#fail("MSE public key out of range");
        }
        const key = this.#random(new Uint8Array(MSE_PRIVATE_KEY_BYTES));
        const yb = msePublicKey(key);
        const secret = mseSecret(ya, key);
        this.#state = { at: "sync", secret, req1: mseHash("req1", secret) };
        const padLength = this.#random(new Uint8Array(2));
        const pad = this.#random(
          new Uint8Array(
            ((padLength[0]! << 8) | padLength[1]!) % (MAX_MSE_PAD_BYTES + 1),
          ),
        );
        return { kind: "send", bytes: concatBytes([yb, pad]) };
      }
      case "sync": {
        const at = indexOf(data, state.req1, MSE_KEY_BYTES);
        if (at < 0) {
          if (
            data.byteLength >= MSE_KEY_BYTES + SYNC_SEARCH_BYTES + HASH_BYTES
          ) {
            return this.#fail("no MSE sync hash after the public key");
          }
          return null;
        }
        const hashesEnd = at + 2 * HASH_BYTES;
        if (data.byteLength < hashesEnd) return null;
        const req3 = mseHash("req3", state.secret);
        const req2 = data.slice(at + HASH_BYTES, hashesEnd);
        for (let i = 0; i < HASH_BYTES; i++) req2[i] = req2[i]! ^ req3[i]!;
        const infoHash = this.#findInfoHash(req2);
        if (!infoHash) {
          return this.#fail("MSE handshake for a file not shared here");
        }
        this.#state = {
          at: "head",
          from: hashesEnd,
          decrypt: new Rc4(mseHash("keyA", state.secret, infoHash), 1024),
          encrypt: new Rc4(mseHash("keyB", state.secret, infoHash), 1024),
          infoHash,
          provide: 0,
          padC: 0,
          ia: 0,
        };
        return "again";
      }
      case "head": {
        if (data.byteLength < state.from + STEP3_HEAD_BYTES) return null;
        const head = state.decrypt.apply(
          data.subarray(state.from, state.from + STEP3_HEAD_BYTES),
        );
        if (head.subarray(0, 8).some((byte) => byte !== 0)) {
          return this.#fail("MSE verification constant is not zero");
        }
        const view = new DataView(
          head.buffer,
          head.byteOffset,
          head.byteLength,
        );
        state.provide = view.getUint32(8);
        state.padC = view.getUint16(12);
        if (state.padC > MAX_MSE_PAD_BYTES) {
          return this.#fail(
            `MSE PadC of ${state.padC} bytes (most ${MAX_MSE_PAD_BYTES})`,
          );
        }
        state.from += STEP3_HEAD_BYTES;
        state.at = "padc";
        return "again";
      }
      case "padc": {
        const end = state.from + state.padC + 2;
        if (data.byteLength < end) return null;
        const part = state.decrypt.apply(data.subarray(state.from, end));
        state.ia = (part[state.padC]! << 8) | part[state.padC + 1]!;
        state.from = end;
        state.at = "ia";
        if ((state.provide & MSE_CRYPTO_PLAINTEXT) === 0) {
          this.#state = { at: "over" };
          return {
            kind: "decline",
            reason:
              "MSE peer offers only RC4 (Shoal selects plain text after the handshake)",
          };
        }
        // Step 4 (VC, crypto_select, len(PadD) = 0) leaves before the IA
        // comes: libtorrent may hold its IA back until this side's ACK,
        // which a delayed ACK puts off by 40 ms.
        const reply = new Uint8Array(8 + 4 + 2);
        reply[11] = MSE_CRYPTO_PLAINTEXT;
        state.encrypt.apply(reply);
        return { kind: "send", bytes: reply };
      }
      case "ia": {
        const end = state.from + state.ia;
        if (data.byteLength < end) return null;
        state.decrypt.apply(data.subarray(state.from, end));
        const payload = data.slice(state.from);
        this.#state = { at: "over" };
        return {
          kind: "done",
          reply: new Uint8Array(0),
          payload,
          infoHash: state.infoHash,
        };
      }
      case "over":
        return null;
    }
  }

  #findInfoHash(req2: Uint8Array): Uint8Array | null {
    const prefix = encoder.encode("req2");
    for (const infoHash of this.#options.infoHashes()) {
      if (infoHash.byteLength !== BT_INFOHASH_BYTES) continue;
      const hash = mseHash(prefix, infoHash);
      if (hash.every((byte, i) => byte === req2[i])) return infoHash;
    }
    return null;
  }
}

function indexOf(data: Uint8Array, needle: Uint8Array, from: number): number {
  const last = Math.min(
    data.byteLength - needle.byteLength,
    from + SYNC_SEARCH_BYTES,
  );
  outer: for (let i = from; i <= last; i++) {
    for (let k = 0; k < needle.byteLength; k++) {
      if (data[i + k] !== needle[k]) continue outer;
    }
    return i;
  }
  return -1;
}
