/**
 * SHA-256 of exactly 64 bytes (FIPS 180-4), in plain JavaScript: a BEP 52
 * inner node, SHA-256(left || right). Why not node:crypto: a call there
 * costs about 1 µs for 64 bytes, most of it the call, and leaves a native
 * hash object that only a full collection frees (peer/gc_schedule.ts);
 * this costs about 0.6 µs and leaves nothing. A 512 KiB piece has 31 inner
 * nodes; its 32 leaves of 16 KiB still go through node:crypto, whose
 * SHA-NI code is far faster on long inputs.
 *
 * A 64-byte message is one block, then a padding block that is always the
 * same (0x80, zeros, the length 512), so the padding block's message
 * schedule is worked out once, here. Checked against node:crypto over
 * random inputs and against libtorrent's trees (tests/unit/protocol).
 *
 * @module
 */

/** Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** The initial hash value. */
const IV = new Int32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

/** Expands w[0..15] into the message schedule w[16..63]. */
function expand(w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const a = w[t - 15]!;
    const b = w[t - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^
      (b >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
}

/** K[t] + W[t] of the padding block of every 64-byte message. */
const PAD_KW = new Int32Array(64);
{
  const w = new Int32Array(64);
  w[0] = 0x80000000 | 0;
  w[15] = 512; // the message length in bits
  expand(w);
  for (let t = 0; t < 64; t++) PAD_KW[t] = (K[t]! + w[t]!) | 0;
}

/** The running hash value; the message schedule; K[t] + W[t]. */
const H = new Int32Array(8);
const W = new Int32Array(64);
const KW = new Int32Array(64);

/** One compression of H with a block given as K[t] + W[t]. */
function compress(kw: Int32Array): void {
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^
      ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + kw[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
      ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * Writes SHA-256 of the 64 bytes at `from` in `view` to the 32 bytes at
 * `to`. The input is read in full first, so the output may overlap it (a
 * parent over its left child). The caller checks the bounds: DataView
 * throws RangeError past the end, and never reads or writes outside.
 */
export function sha256Pair(view: DataView, from: number, to: number): void {
  // Big-endian words, as SHA-256 reads them (DataView's default).
  for (let t = 0; t < 16; t++) W[t] = view.getInt32(from + 4 * t);
  expand(W);
  for (let t = 0; t < 64; t++) KW[t] = (K[t]! + W[t]!) | 0;
  H.set(IV);
  compress(KW);
  compress(PAD_KW);
  for (let i = 0; i < 8; i++) view.setInt32(to + 4 * i, H[i]!);
}
