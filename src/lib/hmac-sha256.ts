/**
 * HMAC-SHA256 (RFC 2104 over SHA-256, FIPS 180-4) for one key and many short messages, synchronous.
 *
 * Why the gateway has its own: it signs every proxied request (gateway/origin-signature.ts), and the
 * asynchronous crypto.subtle.sign spent about 0.03 ms a request on promises, buffers and the hex of a
 * 150-byte message (docs/BENCHMARK.md); @noble/hashes, tried, allocated as much. Here the key's inner and
 * outer blocks are hashed once, when the key is made, and their chaining values kept (RFC 2104 section 4
 * suggests exactly this), so a message costs its own blocks and one outer block, with no allocation but
 * the result. Checked against RFC 4231's test cases and node:crypto (test/unit/hmac-sha256.test.ts).
 */

/** FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** FIPS 180-4 5.3.3: the initial hash value. */
const INITIAL = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/** The message schedule, reused: hashing is synchronous, so no two calls can share it at once. */
const W = new Int32Array(64);
/** The last block(s) of a message with its padding (at most two blocks), reused likewise. */
const tail = new Uint8Array(2 * BLOCK_BYTES);
const tailView = new DataView(tail.buffer);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** FIPS 180-4 6.2.2: one 64-byte block at `offset` of `bytes` into the 8-word chaining value `state`. */
function compress(state: Int32Array, bytes: DataView, offset: number): void {
  for (let i = 0; i < 16; i++) W[i] = bytes.getInt32(offset + 4 * i);
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h +
        (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
        ((e & f) ^ (~e & g)) +
        (K[i] as number) +
        (W[i] as number)) |
      0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/**
 * Hashes `message` on from `state`, which has absorbed `priorBytes` already (a multiple of 64), and pads it
 * (FIPS 180-4 5.1.1). `state` ends as the digest's 8 big-endian words.
 */
function finish(state: Int32Array, message: Uint8Array, priorBytes: number): void {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const whole = message.byteLength - (message.byteLength % BLOCK_BYTES);
  for (let offset = 0; offset < whole; offset += BLOCK_BYTES) compress(state, view, offset);
  const rest = message.byteLength - whole;
  const tailLength = rest + 9 <= BLOCK_BYTES ? BLOCK_BYTES : 2 * BLOCK_BYTES;
  tail.fill(0, 0, tailLength);
  tail.set(message.subarray(whole), 0);
  tail[rest] = 0x80;
  const bits = (priorBytes + message.byteLength) * 8;
  // The length is a 64-bit big-endian count of bits; messages here are far below 2^53 bits.
  tailView.setUint32(tailLength - 8, Math.floor(bits / 0x1_0000_0000));
  tailView.setUint32(tailLength - 4, bits >>> 0);
  compress(state, tailView, 0);
  if (tailLength > BLOCK_BYTES) compress(state, tailView, BLOCK_BYTES);
}

function digestBytes(state: Int32Array): Uint8Array {
  const out = new Uint8Array(DIGEST_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setInt32(4 * i, state[i] as number);
  return out;
}

/** SHA-256 of `bytes` (FIPS 180-4). */
export function sha256(bytes: Uint8Array): Uint8Array {
  const state = Int32Array.from(INITIAL);
  finish(state, bytes, 0);
  return digestBytes(state);
}

const ENCODER = new TextEncoder();

/** A key made ready to sign many messages. */
export class HmacSha256 {
  /** Chaining values after the key XOR ipad block, and after the key XOR opad block. */
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  /** Per-call working copies, so the keyed states above stay untouched. */
  private readonly work = new Int32Array(8);
  private readonly innerDigest = new Uint8Array(DIGEST_BYTES);
  private readonly innerDigestView = new DataView(this.innerDigest.buffer);

  /** `key`: any length (RFC 2104 section 2: a key longer than a block is hashed first). */
  constructor(key: Uint8Array) {
    const block = new Uint8Array(BLOCK_BYTES);
    block.set(key.byteLength > BLOCK_BYTES ? sha256(key) : key);
    for (const [state, pad] of [
      [this.inner, 0x36],
      [this.outer, 0x5c],
    ] as const) {
      const padded = block.map((byte) => byte ^ pad);
      state.set(INITIAL);
      compress(state, new DataView(padded.buffer), 0);
      padded.fill(0);
    }
    block.fill(0);
  }

  /** The MAC of `message`, 32 bytes. */
  sign(message: Uint8Array): Uint8Array {
    const work = this.work;
    work.set(this.inner);
    finish(work, message, BLOCK_BYTES);
    for (let i = 0; i < 8; i++) this.innerDigestView.setInt32(4 * i, work[i] as number);
    work.set(this.outer);
    finish(work, this.innerDigest, BLOCK_BYTES);
    return digestBytes(work);
  }

  /** The MAC of a string's UTF-8 bytes, 32 bytes. */
  signText(message: string): Uint8Array {
    return this.sign(ENCODER.encode(message));
  }
}
