/**
 * Throughput of the erasure code. Not a test; run by hand:
 *
 *   npx tsc -p . && node dist/erasure/bench.js [seconds-per-case]
 *
 * MB/s is data bytes (k × shard length) processed per second, 1 MB = 10^6 bytes. Two
 * figures per case: per second of wall-clock time, and per second of this process's CPU
 * time (user + system), which is the steadier number on a shared, busy machine.
 */

import { ReedSolomon } from "./reedsolomon.js";
import { makeShards } from "./testing.js";

const SECONDS = Number(process.argv[2] ?? "1");

interface Case {
  name: string;
  k: number;
  m: number;
  shard: number;
  /** Which shards to drop before each reconstruct; undefined = encode. */
  lose?: "data" | "mixed";
  verify?: boolean;
}

/**
 * Runs `fn` repeatedly for about SECONDS after a warm-up; returns calls per second of
 * wall-clock time and per second of CPU time.
 *
 * @example
 * const { wall, cpu } = rate(() => rs.encode(shards));
 */
export function rate(fn: () => void): { wall: number; cpu: number } {
  const warmEnd = performance.now() + 200;
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let now = start;
  while (now < end) {
    fn();
    calls++;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (calls * 1000) / (now - start), cpu: (calls * 1e6) / (cpu.user + cpu.system) };
}

function run(c: Case): string {
  const rs = new ReedSolomon(c.k, c.m);
  const shards = makeShards(c.k, c.m, c.shard, 1);
  rs.encode(shards);
  let fn: () => void;
  if (c.lose !== undefined) {
    const lost =
      c.lose === "data"
        ? Array.from({ length: c.m }, (_, i) => i) // m data shards: full decode
        : Array.from({ length: c.m }, (_, i) => (i % 2 === 0 ? i : c.k + i)); // data and parity
    const work: (Uint8Array | null)[] = shards.slice();
    fn = () => {
      for (const i of lost) work[i] = null;
      rs.reconstruct(work);
    };
  } else if (c.verify) {
    fn = () => {
      if (!rs.verify(shards)) throw new Error("verify failed");
    };
  } else {
    fn = () => rs.encode(shards);
  }
  const r = rate(fn);
  const mb = (x: number) => ((x * c.k * c.shard) / 1e6).toFixed(0).padStart(6);
  return `${c.name.padEnd(44)} ${mb(r.wall)} MB/s wall ${mb(r.cpu)} MB/s cpu`;
}

const MiB = 1 << 20;
const cases: Case[] = [
  { name: "encode      k=9  m=3  1 MiB shards", k: 9, m: 3, shard: MiB },
  { name: "encode      k=3  m=1  1 MiB shards", k: 3, m: 1, shard: MiB },
  { name: "encode      k=10 m=4  1 MiB shards", k: 10, m: 4, shard: MiB },
  { name: "encode      k=9  m=3  4 KiB shards", k: 9, m: 3, shard: 4096 },
  { name: "verify      k=9  m=3  1 MiB shards", k: 9, m: 3, shard: MiB, verify: true },
  { name: "reconstruct k=9  m=3  1 MiB, 3 data lost", k: 9, m: 3, shard: MiB, lose: "data" },
  { name: "reconstruct k=9  m=3  1 MiB, 2 data+1 par", k: 9, m: 3, shard: MiB, lose: "mixed" },
  { name: "reconstruct k=3  m=1  1 MiB, 1 data lost", k: 3, m: 1, shard: MiB, lose: "data" },
];

console.log(`node ${process.version}, ${SECONDS}s per case`);
for (const c of cases) console.log(run(c));
