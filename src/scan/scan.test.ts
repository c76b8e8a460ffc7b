import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FerryError } from "../errors.js";
import { planTransfer } from "../plan/planner.js";
import { resolvePlanInput } from "../plan/input.js";
import { classifyFile } from "./classes.js";
import { scanSource } from "./scan.js";

let dir = "";
const MiB = 2 ** 20;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-scan-"));
  await mkdir(join(dir, "text", "deep", "er"), { recursive: true });
  await mkdir(join(dir, "img"));
  await mkdir(join(dir, "empty"));
  // 4 MiB of very compressible text in 4 files
  const line = "the quick brown fox jumps over the lazy dog 0123456789\n";
  const text = Buffer.from(line.repeat(Math.ceil(MiB / line.length))).subarray(0, MiB);
  for (let i = 0; i < 4; i++)
    await writeFile(join(dir, "text", i < 2 ? "" : "deep/er", `part-${i}.jsonl`), text);
  // 4 MiB of incompressible "images": 2 distinct + 2 exact copies of the first
  const a = randomBytes(MiB);
  await writeFile(join(dir, "img", "a.jpg"), a);
  await writeFile(join(dir, "img", "b.jpg"), randomBytes(MiB));
  await writeFile(join(dir, "img", "a-copy.jpg"), a);
  await writeFile(join(dir, "img", "a-copy2.jpg"), a);
  // 10 small files and an empty one
  for (let i = 0; i < 10; i++) await writeFile(join(dir, `note-${i}.txt`), `note ${i}\n`);
  await writeFile(join(dir, "empty.bin"), "");
  await symlink(join(dir, "img"), join(dir, "link-to-img"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("classifyFile by extension", () => {
  assert.equal(classifyFile("a/b/shard-0001.tar"), "archive");
  assert.equal(classifyFile("part.JSONL"), "text");
  assert.equal(classifyFile("x.jsonl.gz"), "compressed");
  assert.equal(classifyFile("model.safetensors"), "tensor");
  assert.equal(classifyFile("frame.PNG"), "image");
  assert.equal(classifyFile(".bashrc"), "other");
  assert.equal(classifyFile("README"), "other");
});

test("scanSource counts files and bytes by class, small files, links and dirs", async () => {
  const s = await scanSource(dir, { seed: 7 });
  assert.equal(s.files, 4 + 4 + 10 + 1);
  const smallBytes = Array.from({ length: 10 }, (_, i) => `note ${i}\n`.length).reduce((a, b) => a + b, 0);
  assert.equal(s.bytes, 8 * MiB + smallBytes);
  assert.equal(s.byClass.text.files, 14);
  assert.equal(s.byClass.text.bytes, 4 * MiB + smallBytes);
  assert.equal(s.byClass.image.files, 4);
  assert.equal(s.byClass.image.bytes, 4 * MiB);
  assert.equal(s.byClass.tensor.files, 1);
  assert.equal(s.symlinks, 1);
  assert.equal(s.dirs, 6);
  assert.equal(s.smallFiles.files, 11);
  assert.equal(s.smallFiles.bytes, smallBytes);
  assert.equal(s.skippedCount, 0);
  assert.ok(s.filesPerSecond > 0);
});

test("compressibility: text compresses, random images do not", async () => {
  const s = await scanSource(dir, { seed: 7 });
  assert.ok(s.compression.sampledFiles > 0);
  assert.ok(s.byClass.text.compressRatio !== undefined && s.byClass.text.compressRatio < 0.05);
  assert.ok(s.byClass.image.compressRatio !== undefined && s.byClass.image.compressRatio > 0.99);
  // half the bytes compress to almost nothing
  assert.ok(s.compressRatio > 0.45 && s.compressRatio < 0.55, `ratio ${s.compressRatio}`);
});

test("duplicates: copies among files that share a size are found", async () => {
  const s = await scanSource(dir, { seed: 7 });
  // 8 files of 1 MiB share a size, and so do the ten 7-byte notes (all different);
  // the 4 texts are identical (3 duplicates) and a.jpg has 2 copies
  assert.equal(s.duplicates.candidateBytes, 8 * MiB + 70);
  assert.equal(s.duplicates.foundBytes, 5 * MiB);
  assert.equal(s.duplicates.estimatedBytes, 5 * MiB);
  assert.ok(Math.abs(s.duplicateFraction - 5 / 8) < 0.01);
});

test("the scan feeds the planner directly", async () => {
  const s = await scanSource(dir);
  const plan = planTransfer(
    resolvePlanInput({ network: { bandwidth: "100 Mbit/s", utilisation: "100%" } }, s),
  );
  assert.equal(plan.outbound.logicalBytes, s.bytes);
  assert.ok(plan.outbound.packedBytes < s.bytes * (1 - s.duplicateFraction) * s.compressRatio + 1);
  assert.equal(plan.outbound.options[0]!.stages[0]!.name, "scan");
});

test("a missing or non-directory source is E_NO_SOURCE", async () => {
  await assert.rejects(
    scanSource(join(dir, "nope")),
    (e) => FerryError.is(e, "E_NO_SOURCE") && /does not exist/.test(e.message),
  );
  await assert.rejects(
    scanSource(join(dir, "empty.bin")),
    (e) => FerryError.is(e, "E_NO_SOURCE") && /not a directory/.test(e.message),
  );
});

test("sampling is repeatable for a seed", async () => {
  const a = await scanSource(dir, { seed: 3, sampleFiles: 3 });
  const b = await scanSource(dir, { seed: 3, sampleFiles: 3 });
  assert.equal(a.compressRatio, b.compressRatio);
  assert.equal(a.compression.sampledFiles, 3);
});
