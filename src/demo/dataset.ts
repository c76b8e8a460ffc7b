import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A small seeded PRNG (xorshift32) so the demo dataset is the same on every machine. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomBytesSeeded(next: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE((next() * 0x100000000) >>> 0, i);
  for (; i < n; i++) b[i] = (next() * 256) | 0;
  return b;
}

/**
 * Writes a mixed training-data-like tree: CSV spreadsheets, image-like and video-like
 * binary files, exact duplicates, nested and empty folders, a symlink. Returns its size.
 *
 * @example
 * const { files, bytes } = makeDemoDataset("/tmp/src", 1);
 */
export function makeDemoDataset(root: string, seed = 1, scale = 1): { files: number; bytes: number } {
  const next = rng(seed);
  let files = 0;
  let bytes = 0;
  const put = (rel: string, data: Buffer | string) => {
    const p = join(root, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, data);
    const t = 1_700_000_000 + Math.floor(next() * 10_000_000);
    utimesSync(p, t, t);
    files++;
    bytes += typeof data === "string" ? Buffer.byteLength(data) : data.length;
  };
  // Spreadsheets: compressible text.
  for (let i = 0; i < 6 * scale; i++) {
    const rows: string[] = ["id,timestamp,sensor,value,label"];
    const n = 5000 + Math.floor(next() * 20000);
    for (let r = 0; r < n; r++) {
      rows.push(
        `${r},${1_700_000_000 + r * 7},s${Math.floor(next() * 40)},${(next() * 1000).toFixed(3)},${next() < 0.5 ? "cat" : "dog"}`,
      );
    }
    put(`tables/2026/part-${String(i).padStart(3, "0")}.csv`, `${rows.join("\n")}\n`);
  }
  // Images: 50–500 KB, incompressible.
  const images: string[] = [];
  for (let i = 0; i < 40 * scale; i++) {
    const rel = `images/class-${i % 4}/img_${String(i).padStart(5, "0")}.jpg`;
    put(rel, randomBytesSeeded(next, 50_000 + Math.floor(next() * 450_000)));
    images.push(rel);
  }
  // Video: a few large incompressible files.
  for (let i = 0; i < 3 * scale; i++) {
    put(`video/clip_${i}.mp4`, randomBytesSeeded(next, 20_000_000 + Math.floor(next() * 20_000_000)));
  }
  // Duplicates: the same images under another name (dedup stores them once).
  for (let i = 0; i < 5 * scale; i++) {
    put(`curated/best_${i}.jpg`, readFileSync(join(root, images[i]!)));
  }
  mkdirSync(join(root, "empty/nested"), { recursive: true });
  put("README.txt", "Demo dataset for ferry: spreadsheets, images, video, duplicates.\n");
  symlinkSync("images/class-0", join(root, "latest-images"));
  return { files, bytes };
}
