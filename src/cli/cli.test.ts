import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

function ferry(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, FERRY_NO_TTY: "1", ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("ferry CLI end to end", () => {
  let dir = "";
  let src = "";
  let key = "";
  let recipient = "";
  const drives: { bag: string; path: string }[] = [];
  const driveArgs = () => drives.flatMap((d) => ["--drive", `${d.bag}=${d.path}`]);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-cli-"));
    src = join(dir, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "a.csv"), "x,y\n".repeat(5000));
    writeFileSync(join(src, "sub", "b.bin"), Buffer.alloc(70000, 7));
    for (const bag of ["red", "green", "blue"]) {
      for (const i of [1, 2]) drives.push({ bag, path: join(dir, `${bag}${i}`) });
    }
    key = join(dir, "key.txt");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("help, version and unknown commands", () => {
    assert.equal(ferry(["--help"]).code, 0);
    assert.match(ferry(["--help"]).out, /pack/);
    assert.match(ferry(["--version"]).out, /^ferry \d/);
    const u = ferry(["frobnicate"]);
    assert.equal(u.code, 2);
    assert.match(u.err, /unknown command.*\[E_USAGE\]/);
    assert.equal(ferry(["pack", "--bogus"]).code, 2);
  });

  test("keygen writes a 0600 age identity, prints the recipient, and never overwrites", () => {
    const r = ferry(["keygen", "--out", key]);
    assert.equal(r.code, 0, r.err);
    recipient = r.out.trim();
    assert.match(recipient, /^age1[0-9a-z]{58}$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.match(readFileSync(key, "utf8"), /^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
    const again = ferry(["keygen", "--out", key]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already exists/);
  });

  test("usage errors: stray arguments and block sizes the format cannot hold", () => {
    assert.equal(ferry(["keygen", "stray", "--out", join(dir, "k2.txt")]).code, 2);
    for (const bs of ["100", "128MiB"]) {
      const r = ferry([
        "pack",
        src,
        "--drive",
        `a=${join(dir, "bs1")}`,
        "--drive",
        `b=${join(dir, "bs2")}`,
        "--tolerate",
        "1",
        "--recipient",
        recipient,
        "--catalog",
        join(dir, "bs.db"),
        "--block-size",
        bs,
      ]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /block size .* out of range .*\[E_USAGE\]/);
    }
  });

  test("pack refuses an impossible policy with a clear one-line error", () => {
    const r = ferry([
      "pack",
      src,
      "--drive",
      `solo=${join(dir, "solo")}`,
      "--tolerate",
      "bag",
      "--recipient",
      recipient,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.err, /\[E_POLICY\]/);
    assert.match(r.err, /hint:/);
  });

  test("pack --json emits events and a summary", () => {
    const r = ferry([
      "pack",
      src,
      ...driveArgs(),
      "--tolerate",
      "bag",
      "--recipient",
      recipient,
      "--catalog",
      join(dir, "cat.db"),
      "--block-size",
      "4KiB",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const events = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(events[0].type, "start");
    const summary = events.at(-1);
    assert.equal(summary.type, "summary");
    assert.equal(summary.stats.files, 2);
    assert.equal(summary.layout.m, 1);
  });

  test("verify: 0 healthy, 3 with a bag missing, 4 beyond parity with the lost files named", () => {
    const all = drives.map((d) => d.path);
    const ok = ferry(["verify", ...all, "--full"]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /Status: HEALTHY/);
    const noGreen = drives.filter((d) => d.bag !== "green").map((d) => d.path);
    const degraded = ferry(["verify", ...noGreen, "--full", "--json"]);
    assert.equal(degraded.code, 3);
    const report = JSON.parse(degraded.out.trim().split("\n").at(-1)!);
    assert.equal(report.recoverable, true);
    assert.equal(report.bags.find((b: { bag: string }) => b.bag === "green").present, 0);
    const onlyRed = drives.filter((d) => d.bag === "red").map((d) => d.path);
    const lost = ferry(["verify", ...onlyRed, "--identity", key]);
    assert.equal(lost.code, 4);
    assert.match(lost.out, /DATA WOULD BE LOST/);
    assert.match(lost.out, /a\.csv|sub\/b\.bin/);
  });

  test("unpack restores from a subset; a wrong key is one clear line and writes nothing", () => {
    const subset = drives.filter((d) => d.bag !== "blue").map((d) => d.path);
    const out = join(dir, "out");
    const r = ferry(["unpack", ...subset, "--to", out, "--identity", key]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readFileSync(join(out, "sub", "b.bin")), readFileSync(join(src, "sub", "b.bin")));
    assert.equal(readFileSync(join(out, "a.csv"), "utf8"), readFileSync(join(src, "a.csv"), "utf8"));

    const other = join(dir, "other.txt");
    assert.equal(ferry(["keygen", "--out", other]).code, 0);
    const wrongOut = join(dir, "wrong");
    const w = ferry(["unpack", ...subset, "--to", wrongOut, "--identity", other]);
    assert.equal(w.code, 1);
    assert.match(w.err, /\[E_KEY\]/);
    assert.equal(w.err.trim().split("\n").length, 2); // the error and its hint
    let created = true;
    try {
      statSync(wrongOut);
    } catch {
      created = false;
    }
    assert.equal(created, false, "nothing is written with a wrong key");
  });

  test("a drive of another set is named and refused", () => {
    const otherSrc = join(dir, "src2");
    mkdirSync(otherSrc);
    writeFileSync(join(otherSrc, "z"), "z");
    const foreign = [join(dir, "f1"), join(dir, "f2")];
    const p = ferry([
      "pack",
      otherSrc,
      "--drive",
      `x=${foreign[0]}`,
      "--drive",
      `y=${foreign[1]}`,
      "--tolerate",
      "1",
      "--recipient",
      recipient,
      "--catalog",
      join(dir, "cat.db"),
    ]);
    assert.equal(p.code, 0, p.err);
    const v = ferry(["verify", drives[0]!.path, drives[1]!.path, drives[2]!.path, foreign[0]!]);
    assert.equal(v.code, 1);
    assert.match(v.err, /\[E_FOREIGN_DRIVE\]/);
    assert.ok(v.err.includes(foreign[0]!));
    renameSync(foreign[0]!, `${foreign[0]}.x`);
  });
});
