/**
 * The bench corpus: seeded, reproducible, shaped like training data (70% large incompressible
 * "video", 20% small "images" of 50–500 KB, 10% CSV). `node dist/bench/corpus.js DIR SIZE` writes one;
 * `node dist/bench/corpus.js DIR --small-files N` writes N files of 4–64 KB.
 */
import { createCipheriv } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseBytes } from "../plan/units.js";

/** Seeded bytes: AES-128-CTR keystream of a key derived from the seed (fast, reproducible). */
function stream(seed: number) {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed >>> 0, 0);
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return (n: number) => c.update(Buffer.alloc(n));
}

/** 70% large incompressible "video", 20% small "images" of 50–500 KB, 10% CSV. */
export function makeCorpus(root: string, size: number, seed = 1): { files: number; bytes: number } {
  const rnd = stream(seed);
  const r32 = () => rnd(4).readUInt32LE(0);
  let files = 0;
  let bytes = 0;
  const put = (rel: string, data: Buffer) => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), data);
    files++;
    bytes += data.length;
  };
  for (let b = 0, i = 0; b < size * 0.7; i++) {
    const n = Math.min(Math.max(1 << 20, Math.floor(size * 0.7) - b), 64 << 20);
    put(`video/clip_${i}.mp4`, rnd(n));
    b += n;
  }
  for (let b = 0, i = 0; b < size * 0.2; i++) {
    const n = 50_000 + (r32() % 450_000);
    put(`images/${i % 16}/img_${i}.jpg`, rnd(n));
    b += n;
  }
  for (let b = 0, i = 0; b < size * 0.1; i++) {
    const rows: string[] = ["id,ts,sensor,value,label"];
    for (let r = 0; r < 20_000; r++)
      rows.push(
        `${r},${1_700_000_000 + r},s${r32() % 50},${(r32() % 100000) / 100},${r32() % 2 ? "cat" : "dog"}`,
      );
    const data = Buffer.from(`${rows.join("\n")}\n`);
    put(`tables/part_${i}.csv`, data);
    b += data.length;
  }
  return { files, bytes };
}

/**
 * `count` small files of 4–64 KB (uniform), incompressible like images, 1,000 per folder: the
 * many-small-files case (files/s). Seeded, so every run and machine packs the same bytes.
 */
export function makeSmallFiles(root: string, count: number, seed = 7): { files: number; bytes: number } {
  const rnd = stream(seed);
  let bytes = 0;
  let dir = "";
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) {
      dir = join(root, `d${String(i / 1000).padStart(4, "0")}`);
      mkdirSync(dir, { recursive: true });
    }
    const n = 4096 + (rnd(4).readUInt32LE(0) % (65536 - 4096 + 1));
    writeFileSync(join(dir, `f${i}.bin`), rnd(n));
    bytes += n;
  }
  return { files: count, bytes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [dir, size, n] = process.argv.slice(2);
  if (!dir) throw new Error("usage: node dist/bench/corpus.js DIR [SIZE | --small-files N]");
  const made =
    size === "--small-files"
      ? makeSmallFiles(dir, Number(n ?? 100_000))
      : makeCorpus(dir, parseBytes(size ?? "1 GiB", "SIZE"));
  process.stdout.write(`${JSON.stringify(made)}\n`);
}
