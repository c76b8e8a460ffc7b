import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import { SMALL_WRITE_MAX, type SmallFile, SmallFileWriter } from "./small_writer.js";
import { removeDir, tempDir } from "./testkit.js";

let dir = "";
before(async () => {
  dir = await tempDir("ferry-small-writer-");
});
after(() => removeDir(dir));

const isRoot = process.getuid?.() === 0;
const file = (folder: string, name: string, data: Buffer[], extra: Partial<SmallFile> = {}): SmallFile => ({
  tmp: Buffer.from(join(folder, `.tmp-${name}`)),
  path: Buffer.from(join(folder, name)),
  data,
  mode: 0o640,
  uid: 1234,
  gid: 5678,
  mtime: 1_700_000_000.5,
  ...extra,
});

test("writes many files in batches: content, mode, times and owner, and no temp file left", async () => {
  const folder = join(dir, "many");
  mkdirSync(folder);
  const w = new SmallFileWriter(isRoot);
  const want = new Map<string, Buffer>();
  const done: Promise<void>[] = [];
  // More files than a batch holds, bytes past a batch's buffer, an empty file and the largest.
  for (let i = 0; i < 700; i++) {
    const size = i === 0 ? 0 : i === 1 ? SMALL_WRITE_MAX : (i * 7919) % 9000;
    const data = randomBytes(size);
    want.set(`f${i}`, data);
    // Content in several pieces, as chunks arrive.
    const pieces = [data.subarray(0, size >> 1), data.subarray(size >> 1)];
    done.push(w.write(file(folder, `f${i}`, pieces, { mode: i % 2 ? 0o640 : 0o4755 })));
  }
  await Promise.all(done);
  assert.equal(w.inflight, 0);
  await w.close();
  assert.deepEqual(readdirSync(folder).sort(), [...want.keys()].sort());
  for (const [name, data] of want) {
    const p = join(folder, name);
    assert.ok(readFileSync(p).equals(data), name);
    const st = lstatSync(p);
    const i = Number(name.slice(1));
    assert.equal(st.mode & 0o7777, i % 2 ? 0o640 : 0o4755, name);
    assert.equal(st.mtimeMs, 1_700_000_000_500);
    if (isRoot) assert.deepEqual([st.uid, st.gid], [1234, 5678]);
  }
});

test("a leftover temp file or a planted link at the temp name is replaced, never followed", async () => {
  const folder = join(dir, "planted");
  mkdirSync(folder);
  const outside = join(dir, "outside.txt");
  writeFileSync(outside, "keep me");
  symlinkSync(outside, join(folder, ".tmp-a"));
  writeFileSync(join(folder, ".tmp-b"), "old half-written content");
  const w = new SmallFileWriter(false);
  await Promise.all([
    w.write(file(folder, "a", [Buffer.from("new a")])),
    w.write(file(folder, "b", [Buffer.from("new b")])),
  ]);
  await w.close();
  assert.equal(readFileSync(outside, "utf8"), "keep me");
  assert.equal(readFileSync(join(folder, "a"), "utf8"), "new a");
  assert.equal(readFileSync(join(folder, "b"), "utf8"), "new b");
  assert.deepEqual(readdirSync(folder).sort(), ["a", "b"]);
});

test("a file that cannot be written fails alone, with its errno and step; the batch goes on", async () => {
  const folder = join(dir, "errors");
  mkdirSync(folder);
  mkdirSync(join(folder, "taken"));
  writeFileSync(join(folder, "taken", "inside"), "x");
  const w = new SmallFileWriter(false);
  const results = await Promise.allSettled([
    w.write(file(folder, "ok1", [Buffer.from("1")])),
    // Its folder does not exist: the create fails.
    w.write(file(join(folder, "missing"), "x", [Buffer.from("2")])),
    // A folder stands at its path: the rename fails, and the temp file is removed.
    w.write(file(folder, "taken", [Buffer.from("3")])),
    w.write(file(folder, "ok2", [Buffer.from("4")])),
  ]);
  await w.close();
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "rejected", "fulfilled"],
  );
  const reason = (i: number) =>
    (results[i] as PromiseRejectedResult).reason as NodeJS.ErrnoException & { step: string };
  assert.equal(reason(1).code, "ENOENT");
  assert.equal(reason(1).step, "create");
  assert.equal(reason(2).step, "rename");
  assert.match(String(reason(2).code), /^(EISDIR|ENOTEMPTY|EEXIST)$/);
  assert.deepEqual(readdirSync(folder).sort(), ["ok1", "ok2", "taken"]);
  assert.equal(readFileSync(join(folder, "ok2"), "utf8"), "4");
  assert.ok(!existsSync(join(folder, ".tmp-taken")));
});

test("content larger than the small-file limit is refused before anything is queued", async () => {
  const w = new SmallFileWriter(false);
  assert.throws(() => w.write(file(dir, "big", [Buffer.alloc(SMALL_WRITE_MAX + 1)])), /too big/);
  assert.equal(w.inflight, 0);
  await w.close();
});

// Review finding: when the writer thread died, a batch queued or sent to it was never answered
// and unpack waited forever. Every file in flight must fail with E_INTERNAL, and close() return.
test("a writer thread that dies fails every file in flight, later ones too, and close() returns", async () => {
  const folder = join(dir, "dies");
  mkdirSync(folder);
  const hang = (p: Promise<unknown>) =>
    Promise.race([
      p.then(
        () => "fulfilled",
        (e: unknown) => (e as { code?: string }).code ?? "rejected",
      ),
      new Promise((r) => setTimeout(() => r("hung"), 5000).unref()),
    ]);
  // Dies on its first batch, without answering.
  const dying = () => new Worker("process.exit(7)", { eval: true });
  const w = new SmallFileWriter(false, dying);
  const a = w.write(file(folder, "a", [Buffer.from("a")]));
  await new Promise((r) => setImmediate(r)); // a's batch is sent
  const b = w.write(file(folder, "b", [Buffer.from("b")]));
  // b's batch goes out on the next check phase; the thread's exit is seen in the poll phase
  // before it. Holding this thread makes sure the exit has happened by then.
  const until = Date.now() + 500;
  while (Date.now() < until) {}
  assert.equal(await hang(a), "E_INTERNAL");
  assert.equal(await hang(b), "E_INTERNAL");
  assert.equal(await hang(w.write(file(folder, "c", [Buffer.from("c")]))), "E_INTERNAL");
  assert.equal(w.inflight, 0);
  assert.equal(await hang(w.close()), "fulfilled");
  assert.deepEqual(readdirSync(folder), []);
});
