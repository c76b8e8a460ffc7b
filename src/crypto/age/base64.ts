/**
 * Unpadded ("raw") standard base64 as the age spec demands: encoders emit canonical text; decoders
 * reject `=` padding, characters outside A–Z a–z 0–9 + /, impossible lengths (4k+1) and
 * non-canonical encodings whose unused trailing bits are not zero.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const REV: Int8Array = (() => {
  const r = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) r[ALPHABET.charCodeAt(i)] = i;
  return r;
})();

/**
 * Canonical unpadded base64 of `data`.
 *
 * @example
 * rawBase64Encode(Buffer.from("age")); // "YWdl"
 */
export function rawBase64Encode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64").replace(/=+$/, "");
}

/**
 * True when `c` (a char code) is in the base64 alphabet.
 *
 * @example
 * isBase64Char("+".charCodeAt(0)); // true; "=" and "-" are false
 */
export function isBase64Char(c: number): boolean {
  return c < 128 && REV[c]! >= 0;
}

/**
 * Strictly decodes canonical unpadded base64; returns `null` for anything else, so callers choose
 * the error.
 *
 * @example
 * rawBase64Decode("YWdl"); // Buffer "age"
 * rawBase64Decode("YWdl="); // null (padding)
 * rawBase64Decode("YWdm"); // Buffer "agf"
 * rawBase64Decode("YR"); // null (non-canonical: trailing bits set)
 */
export function rawBase64Decode(s: string): Buffer | null {
  const n = s.length;
  const rem = n % 4;
  if (rem === 1) return null;
  for (let i = 0; i < n; i++) if (!isBase64Char(s.charCodeAt(i))) return null;
  if (rem !== 0) {
    const last = REV[s.charCodeAt(n - 1)]!;
    // 2 chars carry 12 bits for 8 (4 spare), 3 chars carry 18 bits for 16 (2 spare).
    const spare = rem === 2 ? 0x0f : 0x03;
    if ((last & spare) !== 0) return null;
  }
  const out = Buffer.from(s, "base64");
  if (out.length !== Math.floor((n * 3) / 4)) return null;
  return out;
}
