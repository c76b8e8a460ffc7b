/**
 * The chance a shipment cannot be rebuilt and must be re-shipped: drives fail at their
 * annual failure rate while they are in use, couriers lose whole bags, and a stripe group
 * with k data + m parity drives survives as long as at most m of its drives are gone.
 *
 * Pure functions, no I/O.
 */

const YEAR_SECONDS = 365.25 * 86400;

/**
 * The probability a drive fails within `seconds`, from its annual failure rate, assuming a
 * constant hazard: 1 − (1 − AFR)^(t / 1 year).
 *
 * @param afr annual failure rate, 0–1 (0.015 for 1.5%)
 * @param seconds how long the drive is at risk
 * @returns the probability, 0–1
 * @example
 * driveFailureProbability(0.015, 365.25 * 86400); // 0.015
 * driveFailureProbability(0.015, 7 * 86400);      // ≈ 0.00029
 */
export function driveFailureProbability(afr: number, seconds: number): number {
  if (afr <= 0 || seconds <= 0) return 0;
  if (afr >= 1) return 1;
  return 1 - (1 - afr) ** (seconds / YEAR_SECONDS);
}

/**
 * Probability that at most `x` of `n` independent trials fail, each with probability `p`.
 * @example
 * binomialCdf(1, 4, 0.1); // 0.9477: at most one of four fails
 */
export function binomialCdf(x: number, n: number, p: number): number {
  if (x < 0) return 0;
  if (x >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  let term = (1 - p) ** n; // P(0)
  let sum = term;
  for (let i = 1; i <= x; i++) {
    term *= ((n - i + 1) / i) * (p / (1 - p));
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * A stripe group for reliability: the bag of each of its drives, and its parity count.
 * @example
 * const g: GroupRisk = { bags: ["a", "b", "c", "d"], m: 1 };
 * reshipProbability([g], 0.001, 0);
 */
export interface GroupRisk {
  /** The bag each drive travels in. */
  bags: readonly string[];
  /** Parity blocks per stripe: how many of the group's drives may be lost. */
  m: number;
}

/**
 * The probability that at least one stripe group loses more than m drives, so the data
 * cannot be rebuilt and a re-ship is needed. Drives fail independently with `pDrive`;
 * each bag is lost whole with `pBag`. Loss patterns of up to four bags (fewer with many
 * bags, at most 20,000 patterns) are summed exactly; rarer patterns are counted as failures, so the answer errs high.
 *
 * @param groups the stripe groups
 * @param pDrive per-drive failure probability over the trip
 * @param pBag per-bag loss probability for one courier trip
 * @returns the probability, 0–1
 * @example
 * // 3 groups, one drive in each of 4 bags, 1 parity: a lost bag costs one drive per group.
 * const groups = [0, 1, 2].map(() => ({ bags: ["a", "b", "c", "d"], m: 1 }));
 * reshipProbability(groups, 0, 0.01); // ≈ 0.0006: two or more of the four bags lost
 */
export function reshipProbability(groups: readonly GroupRisk[], pDrive: number, pBag: number): number {
  const bagNames = [...new Set(groups.flatMap((g) => g.bags))];
  const b = bagNames.length;
  const survive = (lost: ReadonlySet<string>): number => {
    let ok = 1;
    for (const g of groups) {
      const gone = g.bags.filter((x) => lost.has(x)).length;
      ok *= binomialCdf(g.m - gone, g.bags.length - gone, pDrive);
      if (ok === 0) break;
    }
    return ok;
  };
  if (pBag <= 0) return clamp01(1 - survive(new Set()));
  if (pBag >= 1) return 1;
  // Sum patterns of up to four lost bags, fewer when there are many bags (≤ 20,000 patterns).
  let maxLost = 0;
  for (let L = 1, patterns = 1, choose = 1; L <= Math.min(b, 4); L++) {
    choose = (choose * (b - L + 1)) / L;
    patterns += choose;
    if (patterns > 20_000) break;
    maxLost = L;
  }
  let pOk = 0;
  const chosen: string[] = [];
  const visit = (start: number) => {
    const lost = chosen.length;
    const pattern = pBag ** lost * (1 - pBag) ** (b - lost);
    pOk += pattern * survive(new Set(chosen));
    if (lost === maxLost) return;
    for (let i = start; i < b; i++) {
      chosen.push(bagNames[i] ?? "");
      visit(i + 1);
      chosen.pop();
    }
  };
  visit(0);
  return clamp01(1 - pOk);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
