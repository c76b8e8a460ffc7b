/**
 * Regenerates test/vectors/set-v1: a complete three-drive set in format v1 (block size 512,
 * tolerate 1), its test identity (not a secret: it opens only this vector) and the expected
 * restored tree. A compatible reader must restore `expected.json` from these drives.
 * Run `npm run build && node dist/pipeline/gen_golden_set.js`; review the diff.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeTree } from "../demo/compare.js";
import { keygen } from "./keygen.js";
import { pack } from "./pack.js";

export const GOLDEN_DIR = fileURLToPath(new URL("../../test/vectors/set-v1", import.meta.url));

function makeTree(root: string): void {
  const put = (rel: string, data: Buffer | string, t: number) => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), data);
    utimesSync(join(root, rel), t, t);
  };
  let x = 12345;
  const noise = Buffer.alloc(3000);
  for (let i = 0; i < noise.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    noise[i] = x >>> 24;
  }
  put(
    "tables/metrics.csv",
    "step,loss\n".concat(
      Array.from({ length: 200 }, (_, i) => `${i},${(1 / (i + 1)).toFixed(6)}\n`).join(""),
    ),
    1700000000,
  );
  put("images/noise.bin", noise, 1700000100);
  put("images/copy-of-noise.bin", noise, 1700000200);
  put("données/été ✓.txt", "unicode name\n", 1700000300);
  put("empty-file", "", 1700000400);
  mkdirSync(join(root, "empty-dir"));
  symlinkSync("tables/metrics.csv", join(root, "latest.csv"));
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "ferry-golden-"));
  const src = join(tmp, "src");
  makeTree(src);
  rmSync(GOLDEN_DIR, { recursive: true, force: true });
  mkdirSync(GOLDEN_DIR, { recursive: true });
  const k = keygen(new Date("2026-01-01T00:00:00Z"));
  writeFileSync(join(GOLDEN_DIR, "identity.txt"), k.fileText);
  const drives = ["a", "b", "c"].map((bag, i) => ({ bag, path: join(GOLDEN_DIR, `drive${i}`) }));
  await pack({
    source: src,
    drives,
    tolerate: "1",
    recipients: [k.recipient],
    catalog: join(tmp, "catalog.db"),
    blockSize: 512,
    chunk: { minSize: 256, avgSize: 1024, maxSize: 4096 },
  });
  writeFileSync(
    join(GOLDEN_DIR, "expected.json"),
    `${JSON.stringify(Object.fromEntries(describeTree(src)), null, 2)}\n`,
  );
  rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(`wrote ${GOLDEN_DIR}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
