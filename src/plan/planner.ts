/**
 * The planner: for each way of moving the data (network only, drives only, hybrid) a
 * stage-by-stage timeline, bytes on the wire, drives and bags, cost, parity layout and
 * re-ship chance, for the outbound trip and for bringing results back; then which option
 * wins and why, in one sentence.
 *
 * Pure functions, no I/O.
 */
import { type DriveSet, driveWaves, sizeDriveSet } from "./drives.js";
import type { BagSpec, Geometry, StripeGroup, TolerancePolicy } from "./geometry.js";
import type { CouriersInput, NetworkInput, PlanInput } from "./input.js";
import { type NetworkThroughput, networkThroughput } from "./network.js";
import { driveFailureProbability, reshipProbability } from "./reliability.js";
import { formatBytes, formatDuration, formatPercent, formatRate, type Price } from "./units.js";

/**
 * The three ways to move data.
 * @example
 * plan.outbound.winner satisfies OptionKind; // "drives"
 */
export type OptionKind = "network" | "drives" | "hybrid";

/**
 * Which way the data goes.
 * @example
 * plan.return?.direction satisfies Direction | undefined; // "return"
 */
export type Direction = "outbound" | "return";

/**
 * The stages of a timeline.
 * @example
 * plan.outbound.options[1]!.stages.map((s) => s.name satisfies StageName); // ["pack", "transit", "verify", "ingest"]
 */
export type StageName =
  | "scan"
  | "transfer"
  | "pack"
  | "handover"
  | "transit"
  | "receive"
  | "verify"
  | "ingest";

/**
 * One stage of an option's timeline.
 * @example
 * const pack: Stage | undefined = plan.outbound.options.find((o) => o.kind === "drives")?.stages[0];
 * pack?.detail; // "60 drives, 4 at once: 15 waves × 2.0 h writing 1.78 TB at 250 MB/s (1 host × 4)"
 */
export interface Stage {
  name: StageName;
  /** "network" or "drives": hybrid runs both lanes at once. */
  lane: "network" | "drives" | "both";
  /** Seconds from the start of the plan. */
  start: number;
  seconds: number;
  /** What the time is made of, in words ("15 waves of 4 drives × 2.0 h"). */
  detail: string;
}

/**
 * One line of an option's cost.
 * @example
 * plan.outbound.options[1]!.cost.items; // [{ what: "60 drives", amount: 7200 }, { what: "courier: 4 bags", amount: 1600 }]
 */
export interface CostLine {
  what: string;
  amount: number;
}

/**
 * An option's cost: the known lines, and the prices that were not given.
 * @example
 * formatCost(plan.outbound.options[1]!.cost); // "$8,800"
 */
export interface Cost {
  /** Sum of the known lines. */
  total: number;
  items: CostLine[];
  /** Plan fields whose price is missing (the total is then a lower bound). */
  missing: string[];
  currency: string;
}

/**
 * The parity an option uses.
 * @example
 * plan.outbound.options[1]!.parity; // { tolerate: "bag", k: 3, m: 1, groups: 15, overhead: 0.333, … }
 */
export interface ParityPlan {
  tolerate: string;
  description: string;
  /** Data and parity blocks per stripe (the same in every group). */
  k: number;
  m: number;
  groups: number;
  /** m/k. */
  overhead: number;
}

/**
 * The drives an option uses.
 * @example
 * plan.outbound.options[1]!.drives?.pack; // { hosts: 1, perHost: 4, atOnce: 4, waves: 15, limit: "drive" }
 */
export interface DrivePlan {
  count: number;
  bags: BagSpec[];
  /** Bytes written to each drive. */
  perDriveBytes: number;
  /** Packed data plus parity. */
  rawBytes: number;
  /** Bytes ferry may fill on each drive. */
  usable: number;
  /** Drives bought for this trip (the rest are reused). */
  bought: number;
  pack: { hosts: number; perHost: number; atOnce: number; waves: number; limit: "drive" | "host" };
  verify: { atOnce: number; waves: number };
  /** The full geometry, as pack will use it. */
  geometry: Geometry;
}

/**
 * One option, fully worked out.
 * @example
 * for (const o of plan.outbound.options) console.log(o.label, formatDuration(o.totalSeconds));
 */
export interface OptionPlan {
  kind: OptionKind;
  label: string;
  /** Seconds until training can start (or the results are back). */
  totalSeconds: number;
  stages: Stage[];
  /** Bytes sent over the network. */
  wireBytes: number;
  /** Packed bytes carried on drives (parity not counted). */
  driveBytes: number;
  /** Share of the packed data that goes over the network. */
  networkShare: number;
  drives?: DrivePlan;
  parity?: ParityPlan;
  cost: Cost;
  /** Probability that drives or bags are lost beyond what parity rebuilds, so a re-ship is needed. */
  reshipProbability: number;
  network?: NetworkThroughput;
}

/**
 * A stage's share of the drive timeline.
 * @example
 * plan.outbound.driveShares?.map((s) => `${s.name} ${formatPercent(s.share)}`); // ["pack 28%", "transit 22%", …]
 */
export interface StageShare {
  name: StageName;
  seconds: number;
  share: number;
}

/**
 * The drive option recomputed with other host settings.
 * @example
 * plan.outbound.whatIf?.[2]; // { hosts: 2, perHost: 4, packSeconds: 56_889, totalSeconds: … }
 */
export interface WhatIf {
  hosts: number;
  perHost: number;
  packSeconds: number;
  totalSeconds: number;
}

/**
 * The plan for one direction.
 * @example
 * const d: DirectionPlan = plan.outbound;
 * console.log(d.why);
 */
export interface DirectionPlan {
  direction: Direction;
  /** "training can start" or "the results are back". */
  goal: string;
  /** Bytes as they are at the sender. */
  logicalBytes: number;
  /** Bytes after deduplication and compression: what is carried. */
  packedBytes: number;
  options: OptionPlan[];
  unavailable: { kind: OptionKind; reason: string }[];
  winner: OptionKind;
  /** Which option wins and why, in one sentence. */
  why: string;
  /** Each stage's share of the drives-only timeline. */
  driveShares?: StageShare[];
  /** The drives-only option with more hosts or more drives per host. */
  whatIf?: WhatIf[];
  /** Fewest drives written at once for drives to beat the network; null if they never do. */
  minAtOnceToBeatNetwork?: number | null;
  /** Further findings, one sentence each. */
  notes: string[];
}

/**
 * The drive layout to hand to `ferry pack --plan`: bags, tolerance and the stripe groups.
 * @example
 * plan.layout?.bags; // [{ name: "bag1", drives: 15 }, …]
 */
export interface PlanLayout {
  tolerate: string;
  bags: BagSpec[];
  /** Data and parity blocks per stripe. */
  k: number;
  m: number;
  groups: StripeGroup[];
  overhead: number;
  description: string;
  drives: number;
  /** Bytes each drive will hold. */
  perDriveBytes: number;
  /** Bytes ferry may fill on each drive. */
  usableBytes: number;
  /** The option the layout belongs to. */
  option: OptionKind;
}

/**
 * A complete plan.
 * @example
 * const plan: Plan = planTransfer(resolvePlanInput(raw));
 */
export interface Plan {
  version: 1;
  input: PlanInput;
  outbound: DirectionPlan;
  return?: DirectionPlan;
  /** The recommended drive layout (from the winning drive option), for `ferry pack --plan`. */
  layout?: PlanLayout;
  /** Defaults that were assumed. */
  assumptions: string[];
}

/**
 * A hybrid must beat the best single option by this share of time to win (two pipelines cost effort).
 * @example
 * hybrid.totalSeconds < best.totalSeconds * (1 - HYBRID_MARGIN); // the hybrid wins
 */
export const HYBRID_MARGIN = 0.1;

const MONTH_SECONDS = 30.4375 * 86400;

interface Ctx {
  direction: Direction;
  goal: string;
  logical: number;
  packed: number;
  files?: number;
  scanRate: number;
  smallBytes?: number;
  network?: NetworkInput;
  drives?: {
    usable: number;
    write: number;
    read: number;
    afr: number;
    price?: Price;
    hosts: number;
    perHost: number;
    hostRate?: number;
    count?: number;
    bags?: number;
    /** Drives already at the sender (return trip: the outbound drives). */
    owned: number;
  };
  couriers: CouriersInput;
  tolerate?: TolerancePolicy;
  verifyAtOnce: number;
  ingestRate?: number;
  ingestWhere: string;
  currency: string;
}

interface Lane {
  stages: Stage[];
  end: number;
}

function scanStage(ctx: Ctx): Stage | undefined {
  if (ctx.files === undefined) return undefined;
  const seconds = ctx.files / ctx.scanRate;
  return {
    name: "scan",
    lane: "both",
    start: 0,
    seconds,
    detail: `list ${ctx.files.toLocaleString("en-US")} files at ${Math.round(ctx.scanRate).toLocaleString("en-US")} files/s`,
  };
}

function netDetail(t: NetworkThroughput, n: NetworkInput): string {
  const base = `${formatRate(n.bandwidth, true)} × ${formatPercent(n.utilisation)}`;
  if (t.limit === "link") return `${formatRate(t.rate, true)} (${base})`;
  const why = t.limit === "window" ? "TCP window ÷ RTT" : "packet loss (Mathis)";
  return `${formatRate(t.rate, true)}: ${t.streams} stream${t.streams === 1 ? "" : "s"} capped by ${why}, below ${base}`;
}

function networkLane(
  ctx: Ctx,
  share: number,
  start: number,
): { lane: Lane; thr: NetworkThroughput; wire: number } {
  const n = ctx.network!;
  const thr = networkThroughput(n);
  const wire = ctx.packed * share;
  const logical = ctx.logical * share;
  const byNet = wire / thr.rate;
  const byIngest = ctx.ingestRate ? logical / ctx.ingestRate : 0;
  const seconds = Math.max(byNet, byIngest);
  const detail =
    byIngest > byNet
      ? `${formatBytes(wire)}, limited by ${ctx.ingestWhere} ingest (${formatRate(ctx.ingestRate!)}) below the link's ${formatRate(thr.rate, true)}`
      : `${formatBytes(wire)} at ${netDetail(thr, n)}`;
  const stage: Stage = { name: "transfer", lane: "network", start, seconds, detail };
  return { lane: { stages: [stage], end: start + seconds }, thr, wire };
}

interface DriveLane extends Lane {
  set: DriveSet;
  packed: number;
  pack: ReturnType<typeof driveWaves>;
  verify: ReturnType<typeof driveWaves>;
  exposure: number;
}

function sizeFor(ctx: Ctx, packed: number): DriveSet {
  const d = ctx.drives!;
  const c: Parameters<typeof sizeDriveSet>[1] = { usable: d.usable, drivesPerBag: ctx.couriers.drivesPerBag };
  if (d.count !== undefined) c.count = d.count;
  if (d.bags !== undefined) c.bags = d.bags;
  if (ctx.tolerate) c.tolerate = ctx.tolerate;
  return sizeDriveSet(packed, c);
}

function driveLane(
  ctx: Ctx,
  set: DriveSet,
  packed: number,
  start: number,
  hosts?: number,
  perHost?: number,
): DriveLane {
  const d = ctx.drives!;
  const h = hosts ?? d.hosts;
  const ph = perHost ?? d.perHost;
  const per = packed / set.dataDrives;
  const pack = driveWaves(set.drives, per, h, ph, d.write, d.hostRate);
  const verify = driveWaves(set.drives, per, 1, ctx.verifyAtOnce, d.read);
  const unpackReads = driveWaves(set.dataDrives, per, 1, ctx.verifyAtOnce, d.read);
  const logical = ctx.logical * (ctx.packed > 0 ? packed / ctx.packed : 0);
  const byIngest = ctx.ingestRate ? logical / ctx.ingestRate : 0;
  const ingestSeconds = Math.max(unpackReads.seconds, byIngest);
  const hand = ctx.couriers.handling;
  const stages: Stage[] = [];
  let t = start;
  const push = (name: StageName, seconds: number, detail: string) => {
    stages.push({ name, lane: "drives", start: t, seconds, detail });
    t += seconds;
  };
  const waves = (w: ReturnType<typeof driveWaves>, verb: string) =>
    `${set.drives} drives, ${w.atOnce} at once: ${w.waves} wave${w.waves === 1 ? "" : "s"} × ${formatDuration(w.perDriveSeconds)} ${verb} ${formatBytes(per)} at ${formatRate(w.perDriveRate)}`;
  const hostWords = `${h} host${h === 1 ? "" : "s"} × ${ph}`;
  push(
    "pack",
    pack.seconds,
    `${waves(pack, "writing")} (${hostWords}${pack.limit === "host" ? ", limited by the host rate" : ""})`,
  );
  if (hand > 0) push("handover", hand, "hand-over to the courier");
  push(
    "transit",
    ctx.couriers.doorToDoor,
    `${set.bags.length} bag${set.bags.length === 1 ? "" : "s"} door to door`,
  );
  if (hand > 0) push("receive", hand, "receiving and racking the drives");
  push("verify", verify.seconds, waves(verify, "reading"));
  push(
    "ingest",
    ingestSeconds,
    byIngest > unpackReads.seconds
      ? `${formatBytes(logical)} into ${ctx.ingestWhere} at ${formatRate(ctx.ingestRate!)}`
      : `${formatBytes(logical)} unpacked, limited by reading ${set.dataDrives} data drive${set.dataDrives === 1 ? "" : "s"} ${unpackReads.atOnce} at once`,
  );
  const exposure = pack.seconds + 2 * hand + ctx.couriers.doorToDoor + verify.seconds;
  return { stages, end: t, set, packed, pack, verify, exposure };
}

function drivePlanOf(ctx: Ctx, lane: DriveLane, hosts: number, perHost: number): DrivePlan {
  const d = ctx.drives!;
  return {
    count: lane.set.drives,
    bags: lane.set.bags,
    perDriveBytes: lane.set.drives > 0 ? lane.packed / lane.set.dataDrives : 0,
    rawBytes: (lane.packed / lane.set.dataDrives) * lane.set.drives,
    usable: d.usable,
    bought: Math.max(0, lane.set.drives - d.owned),
    pack: { hosts, perHost, atOnce: lane.pack.atOnce, waves: lane.pack.waves, limit: lane.pack.limit },
    verify: { atOnce: lane.verify.atOnce, waves: lane.verify.waves },
    geometry: lane.set.geometry,
  };
}

function parityOf(g: Geometry): ParityPlan {
  const first = g.groups[0]!;
  return {
    tolerate: g.tolerate,
    description: g.description,
    k: first.k,
    m: first.m,
    groups: g.groups.length,
    overhead: g.overhead,
  };
}

function reshipOf(ctx: Ctx, lane: DriveLane): number {
  const pDrive = driveFailureProbability(ctx.drives!.afr, lane.exposure);
  const groups = lane.set.geometry.groups.map((g) => ({ bags: g.drives.map((x) => x.bag), m: g.m }));
  return reshipProbability(groups, pDrive, ctx.couriers.bagLoss);
}

function networkCost(ctx: Ctx, wire: number, seconds: number, items: CostLine[], missing: string[]): void {
  const p = ctx.network?.price;
  if (!p) {
    missing.push("network.price");
    return;
  }
  if (p.basis === "byte")
    items.push({ what: `network: ${formatBytes(wire)} transferred`, amount: p.amount * wire });
  else
    items.push({
      what: `network: link for ${formatDuration(seconds)}`,
      amount: (p.amount * seconds) / MONTH_SECONDS,
    });
}

function driveCost(ctx: Ctx, plan: DrivePlan, items: CostLine[], missing: string[]): void {
  const d = ctx.drives!;
  if (plan.bought > 0) {
    if (d.price) items.push({ what: `${plan.bought} drives`, amount: plan.bought * d.price.amount });
    else missing.push("drives.price");
  }
  if (ctx.couriers.price) {
    const b = plan.bags.length;
    items.push({ what: `courier: ${b} bag${b === 1 ? "" : "s"}`, amount: b * ctx.couriers.price.amount });
  } else missing.push("couriers.price");
}

function costOf(ctx: Ctx, items: CostLine[], missing: string[]): Cost {
  return { total: items.reduce((a, i) => a + i.amount, 0), items, missing, currency: ctx.currency };
}

function networkOption(ctx: Ctx): OptionPlan {
  const scan = scanStage(ctx);
  const start = scan ? scan.seconds : 0;
  const { lane, thr, wire } = networkLane(ctx, 1, start);
  const items: CostLine[] = [];
  const missing: string[] = [];
  networkCost(ctx, wire, lane.end - start, items, missing);
  return {
    kind: "network",
    label: "network only",
    totalSeconds: lane.end,
    stages: [...(scan ? [scan] : []), ...lane.stages],
    wireBytes: wire,
    driveBytes: 0,
    networkShare: 1,
    cost: costOf(ctx, items, missing),
    reshipProbability: 0,
    network: thr,
  };
}

function drivesOption(ctx: Ctx, set: DriveSet, hosts?: number, perHost?: number): OptionPlan {
  const scan = scanStage(ctx);
  const start = scan ? scan.seconds : 0;
  const lane = driveLane(ctx, set, ctx.packed, start, hosts, perHost);
  const plan = drivePlanOf(ctx, lane, hosts ?? ctx.drives!.hosts, perHost ?? ctx.drives!.perHost);
  const items: CostLine[] = [];
  const missing: string[] = [];
  driveCost(ctx, plan, items, missing);
  return {
    kind: "drives",
    label: "drives only",
    totalSeconds: lane.end,
    stages: [...(scan ? [scan] : []), ...lane.stages],
    wireBytes: 0,
    driveBytes: ctx.packed,
    networkShare: 0,
    drives: plan,
    parity: parityOf(set.geometry),
    cost: costOf(ctx, items, missing),
    reshipProbability: reshipOf(ctx, lane),
  };
}

/** Seconds until the drive lane ends, for what-if loops (no cost or risk). */
function driveTotal(
  ctx: Ctx,
  set: DriveSet,
  hosts: number,
  perHost: number,
): { total: number; pack: number } {
  const scan = scanStage(ctx);
  const lane = driveLane(ctx, set, ctx.packed, scan ? scan.seconds : 0, hosts, perHost);
  return { total: lane.end, pack: lane.pack.seconds };
}

function hybridOption(ctx: Ctx): OptionPlan {
  const scan = scanStage(ctx);
  const start = scan ? scan.seconds : 0;
  const evaluate = (f: number) => {
    const net = networkLane(ctx, f, start);
    const packed = ctx.packed * (1 - f);
    const set = sizeFor(ctx, packed);
    const dl = driveLane(ctx, set, packed, start);
    return { f, net, dl, total: Math.max(net.lane.end, dl.end) };
  };
  let best = evaluate(0);
  const tryF = (f: number) => {
    if (f <= 0 || f >= 1) return;
    try {
      const r = evaluate(f);
      if (r.total < best.total - 1e-6) best = r;
    } catch {
      // a share the drives cannot be sized for: skip it
    }
  };
  for (let i = 1; i < 100; i++) tryF(i / 100);
  const coarse = best.f;
  for (let i = -50; i <= 50; i++) tryF(coarse + i / 5000);
  const { f, net, dl } = best;
  const plan = drivePlanOf(ctx, dl, ctx.drives!.hosts, ctx.drives!.perHost);
  const items: CostLine[] = [];
  const missing: string[] = [];
  networkCost(ctx, net.wire, net.lane.end - start, items, missing);
  driveCost(ctx, plan, items, missing);
  const stages = [...(scan ? [scan] : []), ...net.lane.stages, ...dl.stages];
  const small =
    ctx.smallBytes && ctx.smallBytes > 0
      ? ctx.logical * f >= ctx.smallBytes
        ? "small files first"
        : "the smallest files"
      : "small files, then stragglers";
  stages[scan ? 1 : 0]!.detail = `${small}: ${stages[scan ? 1 : 0]!.detail}`;
  return {
    kind: "hybrid",
    label: "hybrid",
    totalSeconds: best.total,
    stages,
    wireBytes: net.wire,
    driveBytes: dl.packed,
    networkShare: f,
    drives: plan,
    parity: parityOf(dl.set.geometry),
    cost: costOf(ctx, items, missing),
    reshipProbability: reshipOf(ctx, dl),
    network: net.thr,
  };
}

function sharesOf(o: OptionPlan): StageShare[] {
  return o.stages.map((s) => ({
    name: s.name,
    seconds: s.seconds,
    share: o.totalSeconds > 0 ? s.seconds / o.totalSeconds : 0,
  }));
}

function sooner(a: number, b: number): string {
  return formatDuration(Math.abs(b - a));
}

function whySentence(ctx: Ctx, winner: OptionPlan, options: OptionPlan[]): string {
  const goal = ctx.goal;
  const by = (k: OptionKind) => options.find((o) => o.kind === k);
  const net = by("network");
  const drv = by("drives");
  const size = formatBytes(ctx.logical);
  if (options.length === 1) {
    const only = winner.kind === "network" ? "the network was described" : "drives were described";
    return `Only ${only}, so ${winner.label} it is: ${goal} in ${formatDuration(winner.totalSeconds)}.`;
  }
  if (winner.kind === "drives" && net) {
    const eff = ctx.logical / winner.totalSeconds;
    return `Drives win: ${goal} in ${formatDuration(winner.totalSeconds)} instead of ${formatDuration(net.totalSeconds)} over the network (${sooner(winner.totalSeconds, net.totalSeconds)} sooner), because ${winner.drives!.count} drives carrying ${size} door to door amount to ${formatRate(eff, true)} end to end, against ${formatRate(net.network!.rate, true)} on the link.`;
  }
  if (winner.kind === "network" && drv) {
    const fixed = ctx.couriers.doorToDoor + 2 * ctx.couriers.handling;
    return `The network wins: ${goal} in ${formatDuration(winner.totalSeconds)} instead of ${formatDuration(drv.totalSeconds)} with drives (${sooner(winner.totalSeconds, drv.totalSeconds)} sooner), because at ${formatRate(winner.network!.rate, true)} ${size} arrives before drives can be written, spend ${formatDuration(fixed)} with couriers and be read back.`;
  }
  const singles = options.filter((o) => o.kind !== "hybrid").sort((a, b) => a.totalSeconds - b.totalSeconds);
  const next = singles[0]!;
  return `Hybrid wins: ${winner.drives!.count} drives carry ${formatBytes(winner.driveBytes)} while the network carries ${formatBytes(winner.wireBytes)} in the same time, so ${goal} in ${formatDuration(winner.totalSeconds)} instead of ${formatDuration(next.totalSeconds)} with ${next.label} (${sooner(winner.totalSeconds, next.totalSeconds)} sooner).`;
}

function planDirection(ctx: Ctx): DirectionPlan {
  const options: OptionPlan[] = [];
  const unavailable: DirectionPlan["unavailable"] = [];
  const notes: string[] = [];
  let set: DriveSet | undefined;
  if (ctx.network) options.push(networkOption(ctx));
  else unavailable.push({ kind: "network", reason: "no network described (network.bandwidth)" });
  if (ctx.drives) {
    set = sizeFor(ctx, ctx.packed);
    options.push(drivesOption(ctx, set));
  } else unavailable.push({ kind: "drives", reason: "no drives described (drives.capacity)" });
  const singles = [...options].sort((a, b) => a.totalSeconds - b.totalSeconds);
  let winner = singles[0]!;
  if (ctx.network && ctx.drives) {
    const h = hybridOption(ctx);
    if (h.totalSeconds < winner.totalSeconds - 1 && h.networkShare > 0 && h.networkShare < 1) options.push(h);
    else
      unavailable.push({
        kind: "hybrid",
        reason:
          winner.kind === "network"
            ? "no faster than the network alone: it finishes before drives could arrive"
            : "no faster than drives alone",
      });
  } else unavailable.push({ kind: "hybrid", reason: "needs both a network and drives" });
  const hybrid = options.find((o) => o.kind === "hybrid");
  if (hybrid) {
    const gain = winner.totalSeconds - hybrid.totalSeconds;
    if (gain >= HYBRID_MARGIN * winner.totalSeconds && gain >= 3600) winner = hybrid;
    else if (gain > 0 && hybrid.networkShare > 0) {
      notes.push(
        `A hybrid (network carrying ${formatBytes(hybrid.wireBytes)}, ${formatPercent(hybrid.networkShare)}) would save only ${formatDuration(gain)} (${formatPercent(gain / winner.totalSeconds)}) over ${winner.label}: not worth running two pipelines.`,
      );
    }
  }
  const dir: DirectionPlan = {
    direction: ctx.direction,
    goal: ctx.goal,
    logicalBytes: ctx.logical,
    packedBytes: ctx.packed,
    options,
    unavailable,
    winner: winner.kind,
    why: whySentence(ctx, winner, options),
    notes,
  };

  const net = options.find((o) => o.kind === "network");
  if (net?.network && net.network.limit !== "link") {
    const t = net.network;
    notes.push(
      `One TCP stream tops out at ${formatRate(t.perStream, true)} (${t.limit === "window" ? "window ÷ RTT" : "packet loss, Mathis model"}); ${t.streamsToFill} parallel streams (--streams) would fill the usable ${formatRate(t.linkRate, true)}.`,
    );
  }

  const drv = options.find((o) => o.kind === "drives");
  let worthSaying = ctx.direction === "outbound" || winner.kind !== "network";
  if (drv?.drives && set && ctx.drives) {
    dir.driveShares = sharesOf(drv);
    const d = ctx.drives;
    const packStage = drv.stages.find((s) => s.name === "pack")!;
    const variants: [number, number][] = [
      [d.hosts, d.perHost],
      [d.hosts, d.perHost * 2],
      [d.hosts * 2, d.perHost],
    ];
    dir.whatIf = variants.map(([h, p]) => {
      const o = driveTotal(ctx, set!, h, p);
      return { hosts: h, perHost: p, packSeconds: o.pack, totalSeconds: o.total };
    });
    let min: number | null | undefined;
    if (net) {
      min = null;
      for (let s = 1; s <= set.drives; s++) {
        const h = Math.min(d.hosts, s);
        if (driveTotal(ctx, set, h, Math.ceil(s / h)).total < net.totalSeconds) {
          min = s;
          break;
        }
      }
      dir.minAtOnceToBeatNetwork = min;
      if (min === null) worthSaying = false;
    }
    const share = formatPercent(packStage.seconds / drv.totalSeconds);
    const now = `${d.hosts} host${d.hosts === 1 ? "" : "s"} writing ${d.perHost} drive${d.perHost === 1 ? "" : "s"} at once`;
    const moreHosts = dir.whatIf[2]!;
    const morePer = dir.whatIf[1]!;
    if (!worthSaying) {
      // the network wins the return; host settings do not change that story
    } else if (drv.drives.pack.waves > 1) {
      notes.push(
        `Packing is ${share} of the drive timeline with ${now} (${drv.drives.pack.waves} waves); ${moreHosts.hosts} hosts would pack in ${formatDuration(moreHosts.packSeconds)} and ${dir.goal} ${sooner(moreHosts.totalSeconds, drv.totalSeconds)} sooner, ${morePer.perHost} drives per host in ${formatDuration(morePer.packSeconds)}${drv.drives.pack.limit === "host" || morePer.packSeconds > moreHosts.packSeconds + 1 ? " (the host rate limits)" : ""}.`,
      );
    } else {
      notes.push(
        `Packing is ${share} of the drive timeline; all ${drv.drives.count} drives are written at once, so more hosts would not help.`,
      );
    }
    if (net && (worthSaying || min === null) && min !== undefined) {
      const atOnce = drv.drives.pack.atOnce;
      if (min === null) notes.push("Drives cannot beat the network here, however many are written at once.");
      else if (min === 1) notes.push("Drives beat the network even writing one drive at a time.");
      else if (min <= atOnce)
        notes.push(
          `The answer depends on the hosts: with fewer than ${min} drives written at once the network would win.`,
        );
      else
        notes.push(
          `The answer depends on the hosts: writing ${min} or more drives at once (now ${atOnce}) would make drives beat the network.`,
        );
    }
  }
  return dir;
}

/**
 * Work out the plan: every available option for the outbound trip and, when a return
 * payload is given, for bringing the results back, with the winner and why.
 *
 * Packed bytes are the source bytes less duplicates, times the compression ratio; both the
 * network and the drives carry ferry's packed stream. The return trip reuses the outbound
 * drives when there are enough.
 *
 * @param input resolved inputs (see {@link resolvePlanInput})
 * @returns the plan
 * @throws FerryError E_USAGE / E_POLICY when the drives cannot hold the data under the policy
 * @example
 * const plan = planTransfer(resolvePlanInput({
 *   data: { size: "80 TB" },
 *   network: { bandwidth: "100 Mbit/s", utilisation: "80%" },
 *   drives: { capacity: "2 TB", write: "250 MB/s", count: 60 },
 *   couriers: { bags: 4, drivesPerBag: 15, doorToDoor: "24 h" },
 * }));
 * plan.outbound.winner; // "drives"
 * plan.outbound.why;    // "Drives win: training can start in … instead of 92.6 d over the network …"
 */
export function planTransfer(input: PlanInput): Plan {
  const packed = input.data.bytes * (1 - input.data.duplicateFraction) * input.data.compressRatio;
  const base = {
    couriers: input.couriers,
    currency: input.currency,
  };
  const out: Ctx = {
    ...base,
    direction: "outbound",
    goal: "training can start",
    logical: input.data.bytes,
    packed,
    scanRate: input.data.scanRate,
    verifyAtOnce: input.destination.drivesAtOnce,
    ingestWhere: input.destination.description ?? "the destination",
  };
  if (input.tolerate) out.tolerate = input.tolerate;
  if (input.data.files !== undefined) out.files = input.data.files;
  if (input.data.smallFileBytes !== undefined) out.smallBytes = input.data.smallFileBytes;
  if (input.network) out.network = input.network;
  if (input.destination.rate !== undefined) out.ingestRate = input.destination.rate;
  const d = input.drives;
  if (d) {
    out.drives = {
      usable: d.usable,
      write: d.write,
      read: d.read,
      afr: d.afr,
      hosts: d.hosts,
      perHost: d.perHost,
      owned: 0,
    };
    if (d.price) out.drives.price = d.price;
    if (d.hostRate !== undefined) out.drives.hostRate = d.hostRate;
    if (d.count !== undefined) out.drives.count = d.count;
    if (input.couriers.bags !== undefined) out.drives.bags = input.couriers.bags;
  }
  const outbound = planDirection(out);

  let ret: DirectionPlan | undefined;
  if (input.return) {
    const r = input.return;
    const ownedFrom =
      outbound.options.find((o) => o.kind === outbound.winner)?.drives ??
      outbound.options.find((o) => o.drives)?.drives;
    const back: Ctx = {
      ...base,
      direction: "return",
      goal: "the results are back",
      logical: r.bytes,
      packed: r.bytes * r.compressRatio,
      scanRate: input.data.scanRate,
      verifyAtOnce: d ? d.hosts * d.perHost : r.drivesAtOnce,
      ingestWhere: "the origin",
    };
    if (input.tolerate) back.tolerate = input.tolerate;
    if (r.network) back.network = r.network;
    if (r.ingest !== undefined) back.ingestRate = r.ingest;
    if (d) {
      back.drives = {
        usable: d.usable,
        write: d.write,
        read: d.read,
        afr: d.afr,
        hosts: 1,
        perHost: r.drivesAtOnce,
        owned: ownedFrom?.count ?? 0,
      };
      if (d.price) back.drives.price = d.price;
    }
    ret = planDirection(back);
    const rd = ret.options.find((o) => o.kind === "drives")?.drives;
    if (rd && rd.bought === 0 && ownedFrom) {
      ret.notes.push(
        `The return reuses ${rd.count} of the ${ownedFrom.count} outbound drives, so it buys none.`,
      );
    }
  }

  const plan: Plan = { version: 1, input, outbound, assumptions: input.assumptions };
  if (ret) plan.return = ret;
  const layout = layoutOf(outbound);
  if (layout) plan.layout = layout;
  return plan;
}

function layoutOf(dir: DirectionPlan): PlanLayout | undefined {
  const o =
    dir.options.find((x) => x.kind === dir.winner && x.drives) ??
    dir.options.find((x) => x.kind === "drives");
  if (!o?.drives) return undefined;
  const g = o.drives.geometry;
  const first = g.groups[0]!;
  return {
    tolerate: g.tolerate,
    bags: o.drives.bags,
    k: first.k,
    m: first.m,
    groups: g.groups,
    overhead: g.overhead,
    description: g.description,
    drives: o.drives.count,
    perDriveBytes: o.drives.perDriveBytes,
    usableBytes: o.drives.usable,
    option: o.kind,
  };
}
