/**
 * The fault suite's own helpers: the scale knob (`FERRY_FAULTS=full`), the seed
 * (`FERRY_FAULTS_SEED`), the results file every fault class appends its counts to
 * (`FERRY_FAULTS_OUT`, default `<tmpdir>/ferry-faults-results.jsonl`), and set copies.
 * Everything else comes from the pipeline's test kit. Test-only.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync } from "node:fs";
import { cp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as tk from "../pipeline/testkit.js";

/** True for the full run (`npm run test:faults`); the fast subset runs inside `npm test`. */
export const FULL = process.env.FERRY_FAULTS === "full";
/** The suite's seed: fixed, printed, and overridable with FERRY_FAULTS_SEED. */
export const SEED = (() => {
  const s = process.env.FERRY_FAULTS_SEED;
  if (s === undefined || s === "") return 0x5eed2024;
  const n = Number(s);
  assert.ok(Number.isInteger(n), `FERRY_FAULTS_SEED must be an integer, got ${s}`);
  return n >>> 0;
})();
export const MODE = FULL ? "full" : "fast";
/** Where results go. */
export const RESULTS = process.env.FERRY_FAULTS_OUT ?? join(tmpdir(), "ferry-faults-results.jsonl");

/** `fast` in the fast subset, `full` in the full run. */
export function scale(fast: number, full: number): number {
  return FULL ? full : fast;
}

/** A PRNG for one fault class, derived from the suite seed and the class name. */
export function classRng(name: string): () => number {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return tk.rng(h);
}

/** A random integer in [0, n). */
export function pick(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** Fisher-Yates sample of `n` items (all of them when n ≥ length), order kept. */
export function sample<T>(rand: () => number, items: T[], n: number): T[] {
  if (n >= items.length) return items.slice();
  const idx = items.map((_x, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = pick(rand, i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}

/** The counts one fault case reports. `wrongBytes` must always be 0. */
export interface Counts {
  /** Cases (trials, combinations, inputs) run. */
  cases: number;
  /** Damage within the bound: verify said recoverable and unpack restored byte-exact. */
  healed: number;
  /** Damage beyond the bound: reported as loss (exit 4) with exactly the right files. */
  detected: number;
  /** Refused with a typed error before anything was written. */
  refused: number;
  /** Bytes restored that differ from the source, or damage accepted silently. Must be 0. */
  wrongBytes: number;
  /** Cases that (by design) change nothing, e.g. bytes appended after the last block. */
  harmless: number;
}

/** One line of the results file. */
export interface FaultRecord extends Counts {
  cls: string;
  name: string;
  mode: string;
  seed: number;
  date: string;
  ms: number;
  notes?: string | undefined;
}

/** Counts for one case of one class; `save()` appends them to the results file. */
export class Tally implements Counts {
  cases = 0;
  healed = 0;
  detected = 0;
  refused = 0;
  wrongBytes = 0;
  harmless = 0;
  notes: string | undefined;
  private readonly t0 = Date.now();
  constructor(
    readonly cls: string,
    readonly name: string,
  ) {}

  save(): FaultRecord {
    const rec: FaultRecord = {
      cls: this.cls,
      name: this.name,
      mode: MODE,
      seed: SEED,
      date: new Date().toISOString(),
      ms: Date.now() - this.t0,
      cases: this.cases,
      healed: this.healed,
      detected: this.detected,
      refused: this.refused,
      wrongBytes: this.wrongBytes,
      harmless: this.harmless,
      notes: this.notes,
    };
    mkdirSync(dirname(RESULTS), { recursive: true });
    appendFileSync(RESULTS, `${JSON.stringify(rec)}\n`);
    process.stdout.write(
      `faults ${rec.cls} / ${rec.name}: ${rec.cases} cases, ${rec.healed} healed, ${rec.detected} detected, ${rec.refused} refused, ${rec.harmless} harmless, ${rec.wrongBytes} wrong (seed ${SEED}, ${MODE}, ${rec.ms} ms)\n`,
    );
    assert.equal(rec.wrongBytes, 0, `${rec.cls} / ${rec.name}: wrong bytes or silent acceptance`);
    return rec;
  }
}

/** Copies every drive folder of a set under `root` (as drive-0…); returns the new paths. */
export async function copySet(paths: string[], root: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    const p = join(root, `drive-${i}`);
    await cp(paths[i]!, p, { recursive: true });
    out.push(p);
  }
  return out;
}

/** Saves files before a trial damages them and puts them back afterwards. */
export class Restorer {
  private saved = new Map<string, Buffer | null>();
  async keep(file: string): Promise<void> {
    if (this.saved.has(file)) return;
    try {
      this.saved.set(file, await readFile(file));
    } catch {
      this.saved.set(file, null);
    }
  }
  async restore(): Promise<void> {
    const { rm } = await import("node:fs/promises");
    for (const [file, bytes] of this.saved) {
      if (bytes === null) await rm(file, { force: true });
      else {
        mkdirSync(dirname(file), { recursive: true });
        await writeFile(file, bytes);
      }
    }
    this.saved.clear();
  }
}

/** Line for the test log: how to repeat this run. */
export function banner(cls: string): string {
  return `fault class ${cls}: ${MODE} run, seed ${SEED} (FERRY_FAULTS_SEED=${SEED}${FULL ? " FERRY_FAULTS=full" : ""}); results to ${RESULTS}`;
}

/**
 * The restored tree must equal the source; a difference is counted as a wrong byte in `t`
 * (the number the reliability report must keep at 0) before the test fails.
 */
export async function expectSameTree(
  t: { wrongBytes: number },
  src: string,
  to: string,
  opts?: tk.CompareOptions,
): Promise<void> {
  try {
    await tk.compareTrees(src, to, opts);
  } catch (e) {
    t.wrongBytes++;
    throw e;
  }
}
