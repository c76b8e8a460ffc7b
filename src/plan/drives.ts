/**
 * Drive-set sizing and drive-side stage times: how many drives in how many bags hold the
 * data with parity, and how long writing and reading them takes when a limited number of
 * drives can be attached at once.
 *
 * Pure functions, no I/O.
 */
import { FerryError } from "../errors.js";
import {
  type BagSpec,
  chooseGeometry,
  formatTolerance,
  type Geometry,
  geometryCandidates,
  MAX_STRIPE_WIDTH,
  type TolerancePolicy,
} from "./geometry.js";
import { fieldLabel } from "./input.js";
import { formatBytes, formatPercent } from "./units.js";

/**
 * A sized drive set.
 * @example
 * const set: DriveSet = sizeDriveSet(80e12, { usable: 1.96e12, drivesPerBag: 15 });
 * set.bags.length; // 4
 */
export interface DriveSet {
  /** Bags in order, named bag1, bag2, …, with how many drives each holds. */
  bags: BagSpec[];
  /** Total drives. */
  drives: number;
  /** The parity geometry pack will use for these bags. */
  geometry: Geometry;
  /** The policy the geometry satisfies. */
  tolerate: TolerancePolicy;
  /** Data blocks across all groups: how many drives' worth of data the set holds. */
  dataDrives: number;
  /** Bytes written to each drive (data and parity drives alike). */
  perDriveBytes: number;
  /** Bytes written to all drives: the packed data plus parity. */
  rawBytes: number;
}

/**
 * What {@link sizeDriveSet} may choose and what is fixed.
 * @example
 * const c: DriveSetConstraints = { usable: 1.96e12, count: 60, bags: 4, drivesPerBag: 15 };
 */
export interface DriveSetConstraints {
  /** Bytes each drive may hold. */
  usable: number;
  /** A fixed number of drives, or undefined to choose. */
  count?: number;
  /** A fixed number of bags, or undefined to choose. */
  bags?: number;
  /** Most drives in one bag. */
  drivesPerBag: number;
  /** The policy, or undefined to recommend one (any one bag when there can be two bags). */
  tolerate?: TolerancePolicy;
}

/**
 * Split `n` drives over `b` bags as evenly as possible, the larger bags first.
 *
 * @param n drives
 * @param b bags (1 ≤ b ≤ n)
 * @returns bag specs named bag1…bagB
 * @example
 * balancedBags(61, 5).map((b) => b.drives); // [13, 12, 12, 12, 12]
 */
export function balancedBags(n: number, b: number): BagSpec[] {
  const base = Math.floor(n / b);
  const extra = n % b;
  return Array.from({ length: b }, (_, i) => ({ name: `bag${i + 1}`, drives: base + (i < extra ? 1 : 0) }));
}

function dataDrivesOf(counts: number[], tolerate: TolerancePolicy): number | undefined {
  const best = geometryCandidates(counts, tolerate)[0];
  return best ? best.k * best.groups : undefined;
}

/**
 * Data drives of `n` drives spread evenly over `b` bags under `p`: the same choice as
 * {@link geometryCandidates} on {@link balancedBags}, in constant time for sizing loops.
 * @example
 * balancedDataDrives(12, 4, { kind: "bag", extra: 0 }); // 9: 3 groups of 3 data + 1 parity
 */
export function balancedDataDrives(n: number, b: number, p: TolerancePolicy): number | undefined {
  let best: { overhead: number; groups: number; data: number } | undefined;
  const consider = (groups: number, width: number, m: number) => {
    const k = width - m;
    if (k < 1 || width > MAX_STRIPE_WIDTH) return;
    const overhead = m / k;
    if (!best || overhead < best.overhead || (overhead === best.overhead && groups > best.groups)) {
      best = { overhead, groups, data: k * groups };
    }
  };
  consider(1, n, p.kind === "drives" ? p.drives : Math.ceil(n / b) + p.extra);
  if (n % b === 0 && n / b >= 2) consider(n / b, b, p.kind === "drives" ? p.drives : 1 + p.extra);
  return best?.data;
}

function build(bags: BagSpec[], tolerate: TolerancePolicy, packed: number): DriveSet {
  const geometry = chooseGeometry(bags, tolerate);
  const dataDrives = geometry.groups.reduce((a, g) => a + g.k, 0);
  const drives = bags.reduce((a, b) => a + b.drives, 0);
  const perDriveBytes = packed / dataDrives;
  return { bags, drives, geometry, tolerate, dataDrives, perDriveBytes, rawBytes: perDriveBytes * drives };
}

function autoPolicies(maxBags: number, drives: number): TolerancePolicy[] {
  const out: TolerancePolicy[] = [];
  if (maxBags >= 2) out.push({ kind: "bag", extra: 0 });
  if (drives >= 3) out.push({ kind: "drives", drives: 2 });
  if (drives >= 2) out.push({ kind: "drives", drives: 1 });
  out.push({ kind: "drives", drives: 0 });
  return out;
}

/**
 * Size a drive set for `packed` bytes: honour a fixed drive count and/or bag count, and
 * otherwise use the fewest bags, then the fewest drives, that hold the data with parity.
 * Bags are filled evenly. Without a policy it recommends surviving the loss of any one bag,
 * falling back to 2, 1, then 0 lost drives only when a fixed set cannot hold the data or
 * has a single bag.
 *
 * @param packed bytes of packed data to carry
 * @param c what is fixed
 * @returns the drive set
 * @throws FerryError E_USAGE naming drives.count / couriers.bags when the data does not fit; E_POLICY when the policy cannot be met
 * @example
 * const set = sizeDriveSet(80e12, { usable: 1.96e12, count: 60, bags: 4, drivesPerBag: 15, tolerate: { kind: "bag", extra: 0 } });
 * set.geometry.groups.length; // 15 groups of 3 data + 1 parity
 */
export function sizeDriveSet(packed: number, c: DriveSetConstraints): DriveSet {
  const { usable } = c;
  const fits = (bags: BagSpec[], p: TolerancePolicy) => {
    const dd = dataDrivesOf(
      bags.map((b) => b.drives),
      p,
    );
    return dd !== undefined && dd * usable >= packed;
  };

  if (c.count !== undefined) {
    const n = c.count;
    const b = c.bags ?? Math.ceil(n / c.drivesPerBag);
    if (b > n)
      throw usageError(
        "couriers.bags",
        `asks for ${b} bags for only ${n} drives`,
        "every bag needs at least one drive",
      );
    const bags = balancedBags(n, b);
    const policies = c.tolerate ? [c.tolerate] : autoPolicies(b, n);
    for (const p of policies) if (fits(bags, p)) return build(bags, p, packed);
    const p = policies[0] ?? { kind: "drives", drives: 0 };
    const dd = dataDrivesOf(
      bags.map((x) => x.drives),
      p,
    );
    if (dd === undefined) return build(bags, p, packed); // throws the E_POLICY error
    const overhead = (n - dd) / dd;
    throw usageError(
      "drives.count",
      `is too small: ${n} drives of ${formatBytes(usable)} usable hold ${formatBytes(dd * usable)} of data with ${formatPercent(overhead)} parity (tolerate ${formatTolerance(p)}), but the data packs to ${formatBytes(packed)}`,
      `use about ${Math.ceil((packed / usable) * (1 + overhead))} drives, bigger drives, or tolerate fewer losses`,
      { drives: n, usable, packed, dataCapacity: dd * usable },
    );
  }

  const minDrives = Math.max(1, Math.ceil(packed / usable));
  const maxPerBag = c.drivesPerBag;
  if (c.bags !== undefined) {
    const b = c.bags;
    const policies = c.tolerate ? [c.tolerate] : autoPolicies(b, b * maxPerBag);
    for (const p of policies) {
      for (let n = Math.max(b, minDrives); n <= b * maxPerBag; n++) {
        const dd = balancedDataDrives(n, b, p);
        if (dd !== undefined && dd * usable >= packed) return build(balancedBags(n, b), p, packed);
      }
    }
    const cap =
      (dataDrivesOf(
        balancedBags(b * maxPerBag, b).map((x) => x.drives),
        policies[0] ?? { kind: "drives", drives: 0 },
      ) ?? 0) * usable;
    throw usageError(
      "couriers.bags",
      `is too few: ${b} bags of at most ${maxPerBag} drives of ${formatBytes(usable)} usable hold ${formatBytes(cap)} of data with parity, but the data packs to ${formatBytes(packed)}`,
      "add bags, allow more drives per bag (--drives-per-bag), or use bigger drives",
      { bags: b, drivesPerBag: maxPerBag, usable, packed },
    );
  }

  // Free: the fewest bags, then the fewest drives.
  const policy = c.tolerate ?? { kind: "bag", extra: 0 };
  // Every valid layout has at most 256 bags: one group spans all drives (n ≤ 256), or one drive of every bag.
  const minBags = Math.max(policy.kind === "bag" ? 2 : 1, Math.ceil(minDrives / maxPerBag));
  for (let b = minBags; b <= MAX_STRIPE_WIDTH; b++) {
    for (let n = Math.max(b, minDrives); n <= b * maxPerBag; n++) {
      const dd = balancedDataDrives(n, b, policy);
      if (dd !== undefined && dd * usable >= packed) return build(balancedBags(n, b), policy, packed);
    }
  }
  throw new FerryError(
    "E_POLICY",
    `plan: no drive set of up to ${MAX_STRIPE_WIDTH} bags of ${maxPerBag} drives (${formatBytes(usable)} usable each) holds ${formatBytes(packed)} while tolerating ${formatTolerance(policy)}`,
    {
      hint: "use bigger drives, allow more drives per bag, tolerate fewer losses, or split the data into several sets",
      detail: { field: "drives.capacity", packed, usable, drivesPerBag: maxPerBag },
    },
  );
}

function usageError(
  field: string,
  message: string,
  hint: string,
  detail: Record<string, unknown> = {},
): FerryError {
  return new FerryError("E_USAGE", `plan: ${fieldLabel(field)} ${message}`, {
    hint,
    detail: { field, ...detail },
  });
}

/**
 * How long writing or reading a drive set takes when only some drives are attached at once.
 * @example
 * const w: DriveWaves = driveWaves(60, 1.78e12, 1, 4, 250e6);
 * w.waves; // 15
 */
export interface DriveWaves {
  /** Seconds for all drives. */
  seconds: number;
  /** Rounds of drives attached at once. */
  waves: number;
  /** Drives attached at once (≤ drives). */
  atOnce: number;
  /** Seconds for one drive. */
  perDriveSeconds: number;
  /** Bytes per second one drive gets (its own rate, or its share of the host). */
  perDriveRate: number;
  /** What limits the rate: the drive itself or the host. */
  limit: "drive" | "host";
}

/**
 * Time to fill (or read) `drives` drives of `perDriveBytes` each when `hosts` hosts attach
 * `perHost` drives each at once: the drives go in waves of hosts × perHost, each drive at
 * min(its own rate, host rate ÷ drives on that host).
 *
 * @param drives how many drives
 * @param perDriveBytes bytes on each
 * @param hosts hosts working in parallel
 * @param perHost drives per host at once
 * @param driveRate bytes per second one drive sustains
 * @param hostRate bytes per second one host can push in total (Infinity for no limit)
 * @returns the duration and its make-up
 * @example
 * driveWaves(60, 1.78e12, 1, 4, 250e6).waves;   // 15
 * driveWaves(60, 1.78e12, 1, 4, 250e6).seconds; // 15 × 7120 s ≈ 29.7 h
 */
export function driveWaves(
  drives: number,
  perDriveBytes: number,
  hosts: number,
  perHost: number,
  driveRate: number,
  hostRate = Number.POSITIVE_INFINITY,
): DriveWaves {
  if (drives <= 0 || perDriveBytes <= 0) {
    return { seconds: 0, waves: 0, atOnce: 0, perDriveSeconds: 0, perDriveRate: driveRate, limit: "drive" };
  }
  const atOnce = Math.min(drives, hosts * perHost);
  const onOneHost = Math.min(perHost, Math.ceil(atOnce / hosts));
  const share = hostRate / onOneHost;
  const perDriveRate = Math.min(driveRate, share);
  const waves = Math.ceil(drives / atOnce);
  const perDriveSeconds = perDriveBytes / perDriveRate;
  return {
    seconds: waves * perDriveSeconds,
    waves,
    atOnce,
    perDriveSeconds,
    perDriveRate,
    limit: share < driveRate ? "host" : "drive",
  };
}
