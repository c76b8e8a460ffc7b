/**
 * Interop with the real age binaries (Debian package "age"). Runs whenever `age` and `age-keygen`
 * are on PATH (CI installs them) and skips otherwise. age reads passphrases only from a terminal,
 * so the passphrase tests drive it through util-linux `script` (a pseudo-terminal) and skip when
 * `script` is missing; the pinned vectors in test/vectors/age-cli.json cover age's passphrase
 * output either way.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ageDecrypt, ageEncrypt } from "./age.js";
import { formatIdentityFile, generateIdentity, identityToRecipient, parseIdentities } from "./keys.js";

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

const AGE = has("age", ["--version"]) && has("age-keygen", ["--version"]);
const SCRIPT = AGE && has("script", ["--version"]);
const noAge = AGE ? false : "the age binary is not on PATH (apt-get install age)";
const noTty = SCRIPT ? false : noAge || "util-linux script (for a pseudo-terminal) is not on PATH";

const dir = mkdtempSync(join(tmpdir(), "ferry-age-interop-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);

/** Runs a command to completion; throws with its stderr when it fails. */
function run(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** Runs `age args…` inside a pseudo-terminal, answering each passphrase prompt with `pass`. */
function ageWithTty(args: string[], pass: string): Promise<void> {
  const quoted = ["age", ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", quoted, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let seen = "";
    let answered = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      seen += d.toString("latin1");
      const prompts = seen.match(/passphrase[^:]*:/gi)?.length ?? 0;
      for (; answered < prompts; answered++) child.stdin.write(`${pass}\n`);
    });
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (status === 0) resolve();
      else reject(new Error(`age ${args.join(" ")} exited ${status}: ${seen.trim()}`));
    });
  });
}

test("age -d decrypts ferry's X25519 file using ferry's identity file", { skip: noAge }, () => {
  const { identity, recipient } = generateIdentity();
  writeFileSync(path("ferry-id.txt"), formatIdentityFile(identity, recipient, new Date()));
  assert.equal(
    run("age-keygen", ["-y", path("ferry-id.txt")])
      .toString()
      .trim(),
    recipient,
  );
  for (const [name, pt] of [
    ["empty", Buffer.alloc(0)],
    ["small", randomBytes(100)],
    ["chunks", randomBytes(3 * 65536 + 5)],
    ["full", randomBytes(2 * 65536)],
  ] as const) {
    const others = [generateIdentity().recipient, generateIdentity().recipient];
    writeFileSync(path(`${name}.age`), ageEncrypt(pt, { recipients: [others[0]!, recipient, others[1]!] }));
    // To stdout: age creates no -o file for an empty plaintext.
    const out = run("age", ["-d", "-i", path("ferry-id.txt"), path(`${name}.age`)]);
    assert.deepEqual(out, pt, name);
  }
});

test("ferry decrypts age's X25519 files using age-keygen's identity file", { skip: noAge }, () => {
  const keys = [0, 1, 2].map((i) => {
    run("age-keygen", ["-o", path(`age-id${i}.txt`)]);
    const text = readFileSync(path(`age-id${i}.txt`), "utf8");
    const recipient = run("age-keygen", ["-y", path(`age-id${i}.txt`)])
      .toString()
      .trim();
    return { text, recipient };
  });
  for (const k of keys) {
    const ids = parseIdentities(k.text);
    assert.equal(ids.length, 1);
    assert.equal(identityToRecipient(ids[0]!), k.recipient);
  }
  const pt = randomBytes(150_000);
  writeFileSync(path("pt.bin"), pt);
  run("age", ["-o", path("three.age"), ...keys.flatMap((k) => ["-r", k.recipient]), path("pt.bin")]);
  const file = readFileSync(path("three.age"));
  for (const k of keys) assert.deepEqual(ageDecrypt(file, { identities: parseIdentities(k.text) }), pt);
  assert.throws(() => ageDecrypt(file, { identities: [generateIdentity().identity] }), /cannot open/);
});

test("passphrase interop in both directions (age -p through a pseudo-terminal)", {
  skip: noTty,
}, async () => {
  const pass = "correct horse battery staple";
  const pt = randomBytes(70_000);
  writeFileSync(path("pp.bin"), pt);
  await ageWithTty(["-p", "-o", path("by-age.age"), path("pp.bin")], pass);
  assert.deepEqual(ageDecrypt(readFileSync(path("by-age.age")), { passphrase: pass }), pt);

  writeFileSync(path("by-ferry.age"), ageEncrypt(pt, { passphrase: pass, scryptLogN: 12 }));
  await ageWithTty(["-d", "-o", path("by-ferry.out"), path("by-ferry.age")], pass);
  assert.deepEqual(readFileSync(path("by-ferry.out")), pt);
});
