/**
 * The parity geometry rule shared by `ferry plan` and `ferry pack`: how drives in bags are
 * split into stripe groups, and how many data (k) and parity (m) blocks each stripe has,
 * for a tolerance policy (`--tolerate N | bag | bag+N`).
 *
 * Pure functions, no I/O. `ferry pack` imports {@link chooseGeometry} from here so that
 * the layout a plan recommends is exactly the layout pack writes.
 */
import { FerryError } from "../errors.js";

/**
 * What a drive set must survive: any `drives` lost drives, or (kind "bag") any one whole
 * bag plus `extra` more drives.
 * @example
 * const p: TolerancePolicy = parseTolerance("bag+1"); // { kind: "bag", extra: 1 }
 */
export type TolerancePolicy = { kind: "drives"; drives: number } | { kind: "bag"; extra: number };

/**
 * A bag of drives as given to pack (`--drive BAG=PATH`, one per drive).
 * @example
 * const bags: BagSpec[] = [{ name: "alice", drives: 15 }, { name: "bob", drives: 15 }];
 */
export interface BagSpec {
  /** The bag's name, as on pack's command line. */
  name: string;
  /** How many drives travel in it. */
  drives: number;
}

/**
 * One drive's place: its bag and its 0-based position within that bag, in the order given.
 * @example
 * chooseGeometry(bags, parseTolerance("bag")).groups[0]!.drives[1]; // { bag: "bob", index: 0 }
 */
export interface DriveRef {
  bag: string;
  index: number;
}

/**
 * A stripe group: every stripe puts one block on each of its drives, `k` data + `m` parity.
 * @example
 * const g: StripeGroup = chooseGeometry(bags, parseTolerance("2")).groups[0]!;
 * g.k + g.m === g.drives.length; // true
 */
export interface StripeGroup {
  drives: DriveRef[];
  k: number;
  m: number;
}

/**
 * The chosen geometry.
 * @example
 * const g: Geometry = chooseGeometry(bags, parseTolerance("bag"));
 * g.description; // "15 stripe groups of 2 drives (one from each bag), 1 data + 1 parity each: …"
 */
export interface Geometry {
  /** The stripe groups; together they hold every drive exactly once. */
  groups: StripeGroup[];
  /** Parity per data byte, m/k (0.333 for 3 data + 1 parity). */
  overhead: number;
  /** One sentence for people: the groups, k + m, what it survives, the overhead. */
  description: string;
  /** "single" (one group of all drives) or "across-bags" (one group per slot, one drive from every bag). */
  shape: "single" | "across-bags";
  /** The policy, written as on the command line ("bag", "2", "bag+1"). */
  tolerate: string;
}

/**
 * Reed-Solomon over GF(2^8): at most 256 blocks per stripe.
 * @example
 * bags.reduce((n, b) => n + b.drives, 0) <= MAX_STRIPE_WIDTH; // one group can span them all
 */
export const MAX_STRIPE_WIDTH = 256;

/**
 * Parse a tolerance policy as written on the command line: a number of drives ("2"),
 * "bag" (any one bag), or "bag+N" (a bag and N more drives).
 *
 * @param s the text
 * @returns the policy
 * @throws FerryError E_USAGE for anything else
 * @example
 * parseTolerance("2");     // { kind: "drives", drives: 2 }
 * parseTolerance("bag");   // { kind: "bag", extra: 0 }
 * parseTolerance("bag+1"); // { kind: "bag", extra: 1 }
 */
export function parseTolerance(s: string): TolerancePolicy {
  const t = String(s).trim().toLowerCase();
  let m = /^(\d+)$/.exec(t);
  if (m) return { kind: "drives", drives: Number(m[1]) };
  m = /^bag(?:\s*\+\s*(\d+))?$/.exec(t);
  if (m) return { kind: "bag", extra: m[1] === undefined ? 0 : Number(m[1]) };
  throw new FerryError(
    "E_USAGE",
    `tolerate must be a number of drives, "bag" or "bag+N" (got ${JSON.stringify(s)})`,
    {
      hint: "use --tolerate 2 (any two drives), --tolerate bag (any one bag) or --tolerate bag+1",
      detail: { field: "tolerate" },
    },
  );
}

/**
 * Write a policy as on the command line; the inverse of {@link parseTolerance}.
 *
 * @param p the policy
 * @returns "2", "bag" or "bag+1"
 * @example
 * formatTolerance({ kind: "bag", extra: 1 }); // "bag+1"
 */
export function formatTolerance(p: TolerancePolicy): string {
  if (p.kind === "drives") return String(p.drives);
  return p.extra === 0 ? "bag" : `bag+${p.extra}`;
}

/**
 * The shape of a candidate without its drive lists, for fast sizing.
 * @example
 * const best: GeometryShape | undefined = geometryCandidates([15, 15, 15, 15], parseTolerance("bag"))[0];
 */
export interface GeometryShape {
  shape: "single" | "across-bags";
  /** How many stripe groups. */
  groups: number;
  /** Drives per group. */
  width: number;
  k: number;
  m: number;
  overhead: number;
}

function validateBags(bags: readonly BagSpec[]): void {
  if (bags.length === 0) {
    throw new FerryError("E_USAGE", "no bags: a drive set needs at least one bag with one drive", {
      hint: "give each drive a bag, e.g. --drive bag1=/mnt/d1",
    });
  }
  const seen = new Set<string>();
  for (const b of bags) {
    if (!Number.isSafeInteger(b.drives) || b.drives < 1) {
      throw new FerryError(
        "E_USAGE",
        `bag ${JSON.stringify(b.name)} must hold at least one drive (got ${b.drives})`,
        {
          hint: "drop empty bags",
        },
      );
    }
    if (seen.has(b.name)) {
      throw new FerryError("E_USAGE", `bag ${JSON.stringify(b.name)} is named twice`, {
        hint: "give each bag a distinct name",
      });
    }
    seen.add(b.name);
  }
}

/**
 * The valid candidate shapes for `bags` under `tolerate`, before choosing. Exposed for
 * sizing loops (the planner tries many drive counts); most callers want {@link chooseGeometry}.
 *
 * @param drivesPerBag how many drives each bag holds
 * @param tolerate the policy
 * @returns the candidates with k ≥ 1 and k + m ≤ 256, best first (lowest m/k, then more groups)
 * @example
 * geometryCandidates([3, 3, 3, 3], { kind: "bag", extra: 0 })[0]; // { shape: "across-bags", groups: 3, k: 3, m: 1, … }
 */
export function geometryCandidates(
  drivesPerBag: readonly number[],
  tolerate: TolerancePolicy,
): GeometryShape[] {
  const n = drivesPerBag.reduce((a, b) => a + b, 0);
  const b = drivesPerBag.length;
  const largest = Math.max(...drivesPerBag);
  const out: GeometryShape[] = [];
  const add = (shape: GeometryShape["shape"], groups: number, width: number, m: number) => {
    const k = width - m;
    if (k < 1 || width > MAX_STRIPE_WIDTH) return;
    out.push({ shape, groups, width, k, m, overhead: m / k });
  };
  const mSingle = tolerate.kind === "drives" ? tolerate.drives : largest + tolerate.extra;
  add("single", 1, n, mSingle);
  const c = drivesPerBag[0] ?? 0;
  if (c >= 2 && drivesPerBag.every((d) => d === c)) {
    const mAcross = tolerate.kind === "drives" ? tolerate.drives : 1 + tolerate.extra;
    add("across-bags", c, b, mAcross);
  }
  out.sort((x, y) => x.overhead - y.overhead || y.groups - x.groups);
  return out;
}

function describe(g: GeometryShape, tolerate: TolerancePolicy, bags: number): string {
  const pct = `${Math.round(g.overhead * 1000) / 10}% overhead`.replace(/\.0%/, "%");
  const groups =
    g.shape === "single"
      ? `1 stripe group of ${g.width} drive${g.width === 1 ? "" : "s"}`
      : `${g.groups} stripe groups of ${g.width} drives (one from each bag)`;
  const each = g.shape === "single" ? "" : " each";
  const survives =
    tolerate.kind === "drives"
      ? tolerate.drives === 0
        ? "no parity: any lost drive loses data"
        : `survives losing any ${tolerate.drives} drive${tolerate.drives === 1 ? "" : "s"}`
      : `survives losing any one of the ${bags} bags${tolerate.extra > 0 ? ` plus any ${tolerate.extra} more drive${tolerate.extra === 1 ? "" : "s"}` : ""}`;
  return `${groups}, ${g.k} data + ${g.m} parity${each}: ${survives}; ${pct}`;
}

/**
 * Choose how a drive set is striped, the rule `ferry pack` applies.
 *
 * Candidates: (a) one group of all n drives, m = N for `N`, the largest bag for `bag`,
 * the largest bag + N for `bag+N`, k = n − m; (b) only when every bag holds the same
 * number c ≥ 2 of drives: c groups, each with one drive from every bag (b bags), m = N,
 * 1 or 1 + N, k = b − m. A candidate needs k ≥ 1 and k + m ≤ 256. The lowest overhead m/k
 * wins; on a tie, more groups (smaller stripes, cheaper to compute).
 *
 * In group (a) drives are listed bag by bag; in (b) group j holds drive j of every bag.
 * `index` is the drive's 0-based position within its bag, in the order given.
 *
 * @param bags the bags and how many drives each holds, in pack's order
 * @param tolerate the policy
 * @returns the groups, overhead m/k and a one-sentence description
 * @throws FerryError E_POLICY when no candidate is valid; E_USAGE for an empty or duplicate bag
 * @example
 * const g = chooseGeometry(
 *   [{ name: "a", drives: 3 }, { name: "b", drives: 3 }, { name: "c", drives: 3 }, { name: "d", drives: 3 }],
 *   parseTolerance("bag"),
 * );
 * g.groups.length;   // 3, each k = 3, m = 1
 * g.overhead;        // 0.333…
 */
export function chooseGeometry(bags: readonly BagSpec[], tolerate: TolerancePolicy): Geometry {
  validateBags(bags);
  const counts = bags.map((b) => b.drives);
  const best = geometryCandidates(counts, tolerate)[0];
  if (!best) throw policyError(counts, tolerate);
  const groups: StripeGroup[] = [];
  if (best.shape === "single") {
    const drives: DriveRef[] = [];
    for (const b of bags) for (let i = 0; i < b.drives; i++) drives.push({ bag: b.name, index: i });
    groups.push({ drives, k: best.k, m: best.m });
  } else {
    for (let j = 0; j < best.groups; j++) {
      groups.push({ drives: bags.map((b) => ({ bag: b.name, index: j })), k: best.k, m: best.m });
    }
  }
  return {
    groups,
    overhead: best.overhead,
    description: describe(best, tolerate, bags.length),
    shape: best.shape,
    tolerate: formatTolerance(tolerate),
  };
}

function policyError(counts: readonly number[], tolerate: TolerancePolicy): FerryError {
  const n = counts.reduce((a, b) => a + b, 0);
  const b = counts.length;
  const detail = { bags: b, drives: n, tolerate: formatTolerance(tolerate) };
  if (tolerate.kind === "bag" && b === 1) {
    return new FerryError("E_POLICY", "cannot tolerate losing a bag with only one bag", {
      hint: "add a second bag or use --tolerate N",
      detail,
    });
  }
  if (n > MAX_STRIPE_WIDTH) {
    return new FerryError(
      "E_POLICY",
      `cannot stripe ${n} drives: a stripe spans at most ${MAX_STRIPE_WIDTH} drives, and the bags are not all the same size`,
      { hint: "put the same number of drives in every bag, or split the data into two sets", detail },
    );
  }
  const need =
    tolerate.kind === "drives"
      ? tolerate.drives
      : `a bag (${Math.max(...counts)} drives) plus ${tolerate.extra}`;
  return new FerryError(
    "E_POLICY",
    `cannot tolerate losing ${tolerate.kind === "drives" ? `${need} drive${tolerate.drives === 1 ? "" : "s"}` : need} with ${n} drive${n === 1 ? "" : "s"} in ${b} bag${b === 1 ? "" : "s"}: no drive would be left for data`,
    { hint: "add drives or bags, or tolerate fewer losses", detail },
  );
}
