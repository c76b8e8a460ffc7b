/**
 * Bech32 (BIP-173) as age uses it: the plain Bech32 checksum (not Bech32m), and no limit on the
 * length of the data part (age identities and post-quantum recipients are longer than BIP-173's 90
 * characters). A string must be all-lowercase or all-uppercase; the checksum is always computed over
 * the lowercase form.
 *
 * These functions throw plain `Error`s; callers that parse user input (age.ts) wrap them in a
 * `FerryError("E_BAD_KEY_FILE", …)` so that no secret string ends up in a message.
 */

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const CHARSET_REV: Int8Array = (() => {
  const rev = new Int8Array(128).fill(-1);
  for (let i = 0; i < CHARSET.length; i++) rev[CHARSET.charCodeAt(i)] = i;
  return rev;
})();
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/** Longest string {@link bech32Decode} accepts (age's post-quantum recipients are ~1,960 chars). */
export const BECH32_MAX_LENGTH = 8192;

function polymod(values: ArrayLike<number>, chk: number): number {
  for (let i = 0; i < values.length; i++) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ values[i]!;
    for (let g = 0; g < 5; g++) if ((top >>> g) & 1) chk ^= GENERATORS[g]!;
  }
  return chk;
}

function hrpChecksumState(hrp: string): number {
  const v: number[] = [];
  for (let i = 0; i < hrp.length; i++) v.push(hrp.charCodeAt(i) >>> 5);
  v.push(0);
  for (let i = 0; i < hrp.length; i++) v.push(hrp.charCodeAt(i) & 31);
  return polymod(v, 1);
}

function checkHrp(hrp: string): void {
  if (hrp.length < 1) throw new Error("bech32: empty human-readable part");
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error("bech32: invalid character in human-readable part");
  }
}

/**
 * Encodes 5-bit words under `hrp` as a lowercase Bech32 string (BIP-173 checksum).
 *
 * @example
 * bech32EncodeWords("a", []); // "a12uel5l"
 */
export function bech32EncodeWords(hrp: string, words: ArrayLike<number>): string {
  checkHrp(hrp);
  const lower = hrp.toLowerCase();
  let chk = hrpChecksumState(lower);
  chk = polymod(words, chk);
  chk = polymod([0, 0, 0, 0, 0, 0], chk) ^ 1;
  let out = `${lower}1`;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w < 0 || w > 31 || !Number.isInteger(w)) throw new Error("bech32: word out of range");
    out += CHARSET[w];
  }
  for (let i = 0; i < 6; i++) out += CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return out;
}

/**
 * Decodes a Bech32 string into its (lowercased) human-readable part and 5-bit words, verifying the
 * checksum, the character set and that the string is not mixed-case.
 *
 * @example
 * bech32DecodeWords("A12UEL5L"); // { hrp: "a", words: [] }
 */
export function bech32DecodeWords(s: string): { hrp: string; words: number[] } {
  if (s.length > BECH32_MAX_LENGTH) throw new Error("bech32: string too long");
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) throw new Error("bech32: mixed case");
  const sep = lower.lastIndexOf("1");
  if (sep < 1) throw new Error("bech32: missing separator or empty human-readable part");
  if (sep + 7 > lower.length) throw new Error("bech32: checksum too short");
  const hrp = lower.slice(0, sep);
  checkHrp(hrp);
  const words: number[] = [];
  for (let i = sep + 1; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    const v = c < 128 ? CHARSET_REV[c]! : -1;
    if (v < 0) throw new Error("bech32: invalid character in data part");
    words.push(v);
  }
  if (polymod(words, hrpChecksumState(hrp)) !== 1) throw new Error("bech32: bad checksum");
  return { hrp, words: words.slice(0, words.length - 6) };
}

/** Regroups bits; `pad` adds zero bits at the end, otherwise leftover bits must be < `from` and zero. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | data[i]!;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || (acc & ((1 << bits) - 1)) !== 0) {
    throw new Error("bech32: non-zero or excess padding bits");
  }
  return out;
}

/**
 * Encodes bytes as a lowercase Bech32 string. Uppercase the result yourself where a format wants
 * it (age secret keys are written uppercase).
 *
 * @example
 * bech32Encode("age", publicKey32); // "age1…"
 */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  return bech32EncodeWords(hrp, convertBits(data, 8, 5, true));
}

/**
 * Decodes a Bech32 string carrying bytes; rejects bad checksums, mixed case and non-zero padding.
 * The returned `hrp` is lowercase.
 *
 * @example
 * const { hrp, data } = bech32Decode("age1…"); // hrp === "age", data.length === 32
 */
export function bech32Decode(s: string): { hrp: string; data: Buffer } {
  const { hrp, words } = bech32DecodeWords(s);
  return { hrp, data: Buffer.from(convertBits(words, 5, 8, false)) };
}
