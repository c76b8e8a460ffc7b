/**
 * Deterministic test and benchmark inputs (not part of the public API). The xorshift32 stream is
 * the generator named in test/vectors/chunk.json, so it must not change.
 */

/**
 * `len` bytes of xorshift32 output: state x = seed (non-zero uint32); each step does
 * x ^= x << 13; x ^= x >>> 17; x ^= x << 5 (mod 2^32) and emits the new x as 4 bytes little-endian;
 * the last step's bytes are truncated to `len`.
 *
 * @example
 * xorshift32Bytes(0x9e3779b9, 8); // 8 pseudo-random bytes, same on every machine
 */
export function xorshift32Bytes(seed: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  let x = seed >>> 0;
  if (x === 0) throw new RangeError("xorshift32 seed must be non-zero");
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  if (i < len) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    for (let k = 0; i < len; i++, k++) out[i] = (x >>> (8 * k)) & 0xff;
  }
  return out;
}

/**
 * About `len` bytes of CSV-like text (sensor log rows), deterministic for a seed.
 *
 * @example
 * csvText(1 << 20).subarray(0, 40).toString(); // "ts,device,site,temp_c,humidity,status,note\n..."
 */
export function csvText(len: number, seed = 12345): Buffer {
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const sites = ["berlin-3", "lyon-1", "porto-2", "oslo-7", "turin-4"];
  const status = ["ok", "ok", "ok", "ok", "warn", "fail", "retry"];
  const notes = ["", "", "", "recalibrated", "door open", "battery low", "manual check"];
  const parts: string[] = ["ts,device,site,temp_c,humidity,status,note\n"];
  let size = parts[0]!.length;
  let t = 1_700_000_000;
  while (size < len) {
    t += 1 + (next() % 5);
    const r = next();
    const row =
      `${new Date(t * 1000).toISOString()},dev-${(r % 4096).toString(16).padStart(4, "0")},` +
      `${sites[r % sites.length]},${(((next() % 5000) - 1000) / 100).toFixed(2)},` +
      `${(next() % 1000) / 10},${status[next() % status.length]},${notes[next() % notes.length]}\n`;
    parts.push(row);
    size += row.length;
  }
  return Buffer.from(parts.join(""), "latin1").subarray(0, len);
}
