import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { FerryError, readLayout } from "../index.js";
import { PLAN_HELP, planCommand } from "./cmd_plan.js";
import { type CliIO, EXIT } from "./io.js";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "ferry-plan-cli-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join("");
  return w;
}

async function run(args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const io: CliIO = { stdout, stderr, env: {}, cwd: dir };
  const code = await planCommand(args, io);
  return { code, out: stdout.text(), err: stderr.text() };
}

const SEED = [
  "--size",
  "80 TB",
  "--bandwidth",
  "100 Mbit/s",
  "--utilisation",
  "80%",
  "--drive-size",
  "2 TB",
  "--drive-write",
  "250 MB/s",
  "--drives",
  "60",
  "--bags",
  "4",
  "--drives-per-bag",
  "15",
  "--door-to-door",
  "24h",
];

test("the seed's case from flags: drives win by weeks, each stage's share shown", async () => {
  const r = await run([...SEED, "--return", "300 GB"]);
  assert.equal(r.code, EXIT.OK);
  assert.match(r.out, /training can start\s+92\.6 d\s+4\.5 d/);
  assert.match(r.out, /▶ Drives win: training can start in 4\.5 d instead of 92\.6 d over the network/);
  assert.match(r.out, /pack\s+0 s\s+29\.6 h\s+28%/);
  assert.match(r.out, /Packing is 28% of the drive timeline with 1 host writing 4 drives at once/);
  assert.match(r.out, /RETURN: 300 GB of results/);
  assert.equal(r.err, "");
});

test("--json carries the plan and the layout; --save-layout writes what pack reads", async () => {
  const r = await run([...SEED, "--tolerate", "bag", "--json", "--save-layout", "layout.json"]);
  assert.equal(r.code, EXIT.OK);
  const j = JSON.parse(r.out);
  assert.equal(j.outbound.winner, "drives");
  assert.equal(j.layout.tolerate, "bag");
  assert.deepEqual(
    j.layout.bags,
    [1, 2, 3, 4].map((i) => ({ name: `bag${i}`, drives: 15 })),
  );
  assert.match(r.err, /Wrote the drive layout to layout\.json/);
  const saved = JSON.parse(readFileSync(join(dir, "layout.json"), "utf8"));
  assert.equal(saved.kind, "ferry-plan");
  assert.equal(readLayout(saved).tolerate, "bag");
  assert.deepEqual([saved.layout.k, saved.layout.m, saved.layout.groups.length], [3, 1, 15]);
});

test("--out writes a self-contained HTML page or an SVG chart with every option", async () => {
  const r = await run([...SEED, "--out", "plan.html"]);
  assert.equal(r.code, EXIT.OK);
  assert.match(r.out, /Wrote the timeline chart to plan\.html/);
  const html = readFileSync(join(dir, "plan.html"), "utf8");
  assert.match(html, /^<!doctype html>/);
  for (const o of ['data-option="network"', 'data-option="drives"', 'data-option="hybrid"'])
    assert.ok(html.includes(o));
  await run([...SEED, "--out", "plan.svg"]);
  const svg = readFileSync(join(dir, "plan.svg"), "utf8");
  assert.match(svg, /^<\?xml/);
  assert.ok(svg.includes("drives only"));
  await assert.rejects(
    run([...SEED, "--out", "plan.png"]),
    (e) => FerryError.is(e, "E_USAGE") && /\.html or \.svg/.test(e.message),
  );
});

test("a YAML plan file, with flags on top", async () => {
  writeFileSync(
    join(dir, "plan.yaml"),
    [
      "# the seed's trip",
      "data:",
      "  size: 80 TB",
      "network:",
      "  bandwidth: 100 Mbit/s",
      "  utilization: 80%",
      "drives:",
      "  capacity: 2 TB",
      "  write: 250 MB/s",
      "  count: 60",
      "couriers:",
      "  bags: 4",
      "  drivesPerBag: 15",
      "  doorToDoor: 1 d",
      "return: 300 GB",
      "tolerate: bag",
    ].join("\n"),
  );
  const r = await run(["plan.yaml", "--json"]);
  const j = JSON.parse(r.out);
  assert.equal(j.outbound.winner, "drives");
  assert.equal(j.return.winner, "network");
  const faster = JSON.parse((await run(["-f", "plan.yaml", "--bandwidth", "10 Gbit/s", "--json"])).out);
  assert.equal(faster.outbound.winner, "network");
  writeFileSync(join(dir, "typo.yaml"), "network:\n  bandwith: 1 Gbit/s\n");
  await assert.rejects(
    run(["typo.yaml"]),
    (e) => FerryError.is(e, "E_USAGE") && /unknown key "network\.bandwith" in typo\.yaml/.test(e.message),
  );
  await assert.rejects(
    run(["missing.yaml"]),
    (e) => FerryError.is(e, "E_USAGE") && /cannot read plan file/.test(e.message),
  );
});

test("--source scans a folder and the plan uses what it found", async () => {
  const src = join(dir, "corpus");
  mkdirSync(join(src, "a"), { recursive: true });
  writeFileSync(join(src, "a", "x.jsonl"), '{"text": "hello world"}\n'.repeat(20000));
  writeFileSync(join(src, "b.jsonl"), '{"text": "hello again"}\n'.repeat(20000));
  const r = await run(["--source", "corpus", "--bandwidth", "1 Gbit/s", "--json"]);
  const j = JSON.parse(r.out);
  assert.equal(j.input.data.files, 2);
  assert.equal(j.input.data.bytes, 2 * 20000 * 24);
  assert.ok(j.input.data.compressRatio < 0.1);
  assert.ok(j.outbound.packedBytes < j.outbound.logicalBytes * 0.1);
  const text = await run(["--source", "corpus", "--bandwidth", "1 Gbit/s"]);
  assert.match(text.out, /Source .*corpus: 2 files/);
  assert.match(text.out, /text\s+960 kB\s+2 files, packs to/);
  await run(["--source", "corpus", "--bandwidth", "1 Gbit/s", "--out", "scan.html"]);
  const html = readFileSync(join(dir, "scan.html"), "utf8");
  assert.match(html, /<h2>Source <code>[^<]*corpus<\/code><\/h2><p>2 files, 960 kB; compresses to/);
  await assert.rejects(run(["--source", "nope", "--bandwidth", "1 Gbit/s"]), (e) =>
    FerryError.is(e, "E_NO_SOURCE"),
  );
});

test("bad input is a usage error naming the field", async () => {
  const bad = async (args: string[], re: RegExp) =>
    assert.rejects(run(args), (e) => FerryError.is(e, "E_USAGE") && re.test(e.message));
  await bad(["--size=-3 TB", "--bandwidth", "1 Gbit/s"], /data\.size \(--size\) must not be negative/);
  await bad(
    ["--size", "80 TB", "--bandwidth", "0 Mbit/s"],
    /network\.bandwidth \(--bandwidth\) must be greater than zero/,
  );
  await bad([...SEED.slice(2), "--size", "200 TB"], /drives\.count \(--drives\) is too small/);
  await bad(["--size", "80 TB"], /nothing to plan/);
  await bad(["--size", "80 TB", "--bandwidth", "1 Gbit/s", "--bogus"], /Unknown option '--bogus'/);
  await bad(["a.yaml", "b.yaml"], /one plan file/);
  await assert.rejects(run([...SEED, "--bags", "1", "--drives-per-bag", "60", "--tolerate", "bag"]), (e) =>
    FerryError.is(e, "E_POLICY"),
  );
});

test("--help", async () => {
  const r = await run(["--help"]);
  assert.equal(r.code, EXIT.OK);
  assert.equal(r.out, PLAN_HELP);
  assert.match(r.out, /--bandwidth RATE/);
});

test("through the ferry binary: exit codes and messages", () => {
  const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));
  const ok = spawnSync(
    process.execPath,
    [bin, "plan", "--size", "50 TB", "--bandwidth", "1 Gbit/s", "--utilisation", "80%"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /training can start\s+5\.8 d/);
  const bad = spawnSync(process.execPath, [bin, "plan", "--size", "80 TB", "--bandwidth", "0"], {
    encoding: "utf8",
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /network\.bandwidth \(--bandwidth\) must be greater than zero.*\[E_USAGE\]/);
});
