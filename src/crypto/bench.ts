/**
 * Manual AEAD throughput benchmark (not a test): `npx tsc -p . && node dist/crypto/bench.js [rounds]`.
 *
 * Seals and opens 1 MiB chunks with AES-256-GCM and compares ways of producing
 * `nonce || ciphertext || tag`, so that the choice in aead.ts stays measured:
 *
 * - `seal (out buffer)` / `open (out buffer)`: aead.ts writing into a reused caller buffer
 * - `seal (allocating)` / `open (allocating)`: aead.ts allocating its result
 * - `one update + copy`: a single 1 MiB cipher.update copied into a reused buffer
 * - `Buffer.concat`: nonce/update/final/tag joined with Buffer.concat
 * - `update only`: one cipher.update with no framing and no copy, an upper bound for node
 * - `webcrypto`: crypto.subtle.encrypt (async)
 * - `chacha20-poly1305`: update only, for comparison
 *
 * Variants run interleaved in rounds of 16 chunks and the best round counts, which tames noise
 * from other processes. Two rates are printed: per wall-clock second and per second of this
 * process's CPU time (steadier on a busy machine).
 *
 * @example
 * // node dist/crypto/bench.js 20   -> MB/s per variant, best of 20 rounds
 */
import { createCipheriv, randomBytes, randomFillSync, webcrypto } from "node:crypto";
import { open, SEAL_OVERHEAD, seal } from "./aead.js";

const CHUNK = 1 << 20;
const PER_ROUND = 16;

type Variant = [label: string, fn: () => unknown];

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 20);
  const key = randomBytes(32);
  const aad = Buffer.from("set 3f2a chunk 0000000000");
  const pt = randomBytes(CHUNK);
  const out = Buffer.allocUnsafe(CHUNK + SEAL_OVERHEAD);
  const back = Buffer.allocUnsafe(CHUNK);
  const sealed = seal(key, pt, aad);
  const nonce = Buffer.alloc(12);
  const wkey = await webcrypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);

  const variants: Variant[] = [
    ["seal (out buffer)", () => seal(key, pt, aad, out)],
    ["seal (allocating)", () => seal(key, pt, aad)],
    [
      "one update + copy",
      () => {
        randomFillSync(out, 0, 12);
        const c = createCipheriv("aes-256-gcm", key, out.subarray(0, 12));
        c.setAAD(aad);
        const n = 12 + c.update(pt).copy(out, 12);
        c.final();
        c.getAuthTag().copy(out, n);
      },
    ],
    [
      "Buffer.concat",
      () => {
        randomFillSync(nonce);
        const c = createCipheriv("aes-256-gcm", key, nonce);
        c.setAAD(aad);
        return Buffer.concat([nonce, c.update(pt), c.final(), c.getAuthTag()]);
      },
    ],
    [
      "update only",
      () => {
        const c = createCipheriv("aes-256-gcm", key, nonce);
        c.setAAD(aad);
        return c.update(pt);
      },
    ],
    ["open (out buffer)", () => open(key, sealed, aad, back)],
    ["open (allocating)", () => open(key, sealed, aad)],
    [
      "chacha20-poly1305",
      () => {
        const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
        c.setAAD(aad, { plaintextLength: pt.length });
        return c.update(pt);
      },
    ],
  ];

  const bestWall = new Map<string, number>();
  const bestCpu = new Map<string, number>();
  const bytes = PER_ROUND * CHUNK;
  for (let r = 0; r < rounds; r++) {
    for (const [label, fn] of variants) {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i++) fn();
      const ns = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      bestWall.set(label, Math.max(bestWall.get(label) ?? 0, (bytes / ns) * 1e3));
      bestCpu.set(label, Math.max(bestCpu.get(label) ?? 0, bytes / (cpu.user + cpu.system)));
    }
    // webcrypto is async, so it is timed separately in the same round.
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PER_ROUND; i++) {
      await webcrypto.subtle.encrypt({ name: "AES-GCM", iv: randomBytes(12), additionalData: aad }, wkey, pt);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    bestWall.set("webcrypto (async)", Math.max(bestWall.get("webcrypto (async)") ?? 0, (bytes / ns) * 1e3));
    bestCpu.set(
      "webcrypto (async)",
      Math.max(bestCpu.get("webcrypto (async)") ?? 0, bytes / (cpu.user + cpu.system)),
    );
  }

  console.log(`node ${process.version}, 1 MiB chunks, best of ${rounds} rounds x ${PER_ROUND} chunks`);
  console.log(`${"variant".padEnd(22)} ${"MB/s wall".padStart(10)} ${"MB/s CPU".padStart(10)}`);
  for (const label of bestWall.keys()) {
    const w = bestWall.get(label)!.toFixed(0).padStart(10);
    const c = bestCpu.get(label)!.toFixed(0).padStart(10);
    console.log(`${label.padEnd(22)} ${w} ${c}`);
  }
}

await main();
