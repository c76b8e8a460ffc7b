/**
 * Manual benchmark (not a test): `npx tsc -p . && node dist/chunk/bench.js [MiB]`.
 * Prints single-core MB/s for the FastCDC kernel, the incremental Chunker, chunk ids and
 * maybeCompress/decompress on random and CSV-like data. MB/s = 1e6 bytes of input per second.
 *
 * @example
 * // node dist/chunk/bench.js 256
 */
import { decompress, maybeCompress } from "./compress.js";
import { Chunker, DEFAULT_CHUNK_PARAMS, findCut } from "./fastcdc.js";
import { chunkId } from "./id.js";
import { csvText, xorshift32Bytes } from "./testdata.js";

const mib = Number(process.argv[2] ?? 256);
const N = mib * 1024 * 1024;
const ROUNDS = 5;

/**
 * Best of ROUNDS, by wall clock and by process CPU time (user + system, all threads). On a shared
 * machine the CPU-time figure is the better estimate of single-core speed.
 */
function best(label: string, bytes: number, fn: () => void): number {
  let bestWall = 0;
  let bestCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    fn();
    const cpu = process.cpuUsage(c);
    const wall = Number(process.hrtime.bigint() - t) / 1e9;
    bestWall = Math.max(bestWall, bytes / 1e6 / wall);
    bestCpu = Math.max(bestCpu, bytes / 1e6 / ((cpu.user + cpu.system) / 1e6));
  }
  const f = (x: number) => x.toFixed(0).padStart(7);
  console.log(`${label.padEnd(44)} ${f(bestWall)} MB/s wall ${f(bestCpu)} MB/s cpu (best of ${ROUNDS})`);
  return bestWall;
}

const random = xorshift32Bytes(0x9e3779b9, N);
const p = DEFAULT_CHUNK_PARAMS;
console.log(
  `input ${mib} MiB, params min ${p.minSize} avg ${p.avgSize} max ${p.maxSize} nc ${p.normalization}`,
);

const sizes: number[] = [];
best("findCut kernel, random", N, () => {
  sizes.length = 0;
  for (let s = 0; s < N; ) {
    const c = findCut(random, s, N, p);
    sizes.push(c - s);
    s = c;
  }
});
const mean = N / sizes.length;
console.log(
  `  ${sizes.length} chunks, mean ${(mean / 1024).toFixed(0)} KiB, min ${Math.min(...sizes)}, max ${Math.max(...sizes)}`,
);

for (const read of [64 * 1024, 1024 * 1024, 16 * 1024 * 1024]) {
  best(`Chunker.push, random, ${read / 1024} KiB reads`, N, () => {
    const c = new Chunker(p);
    for (let off = 0; off < N; off += read) c.push(random.subarray(off, Math.min(N, off + read)));
    c.finish();
  });
}

const chunks: Buffer[] = [];
{
  const c = new Chunker(p);
  chunks.push(...c.push(random), ...c.finish());
}
const key = Buffer.alloc(32, 7);
best("chunkId (keyed BLAKE3), random chunks", N, () => {
  for (const ch of chunks) chunkId(key, ch);
});

function compressBench(label: string, data: Buffer): void {
  const cs: Buffer[] = [];
  const c = new Chunker(p);
  cs.push(...c.push(data), ...c.finish());
  let outBytes = 0;
  let kept = 0;
  best(`maybeCompress L1, ${label}`, data.length, () => {
    outBytes = 0;
    kept = 0;
    for (const ch of cs) {
      const r = maybeCompress(ch);
      outBytes += r.data.length;
      if (r.compressed) kept++;
    }
  });
  console.log(`  ratio ${(outBytes / data.length).toFixed(3)}, ${kept}/${cs.length} chunks compressed`);
  const packed = cs.map((ch) => ({ r: maybeCompress(ch), len: ch.length }));
  if (kept > 0) {
    best(`decompress, ${label}`, data.length, () => {
      for (const { r, len } of packed) if (r.compressed) decompress(r.data, len);
    });
  }
}

compressBench("random", random);
const csvMiB = Math.min(mib, 64);
compressBench(`CSV text (${csvMiB} MiB)`, csvText(csvMiB * 1024 * 1024));
