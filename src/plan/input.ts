/**
 * Plan inputs: the raw form people write (a plan file or flags, values with units) and
 * the resolved form the planner computes with (bytes, bytes per second, seconds). Every
 * value is checked here, and every error names its field and its flag.
 *
 * Pure functions, no I/O.
 */
import { FerryError } from "../errors.js";
import { parseTolerance, type TolerancePolicy } from "./geometry.js";
import {
  type Price,
  parseBytes,
  parseCount,
  parseDuration,
  parseFraction,
  parseNumber,
  parsePrice,
  parseRate,
  type UnitInput,
} from "./units.js";

/** A raw value: text with units, or a number (counts, fractions, ratios). */
type V = UnitInput;

/**
 * Plan inputs as written in a plan file (YAML or JSON) or assembled from flags. Values keep
 * their units as text ("80 TB", "1 Gbit/s", "24 h", "80%", "$0.09/GB").
 * @example
 * const raw: RawPlanInput = {
 *   data: { size: "80 TB" },
 *   network: { bandwidth: "100 Mbit/s", utilisation: "80%" },
 *   drives: { capacity: "2 TB", write: "250 MB/s", count: 60 },
 *   couriers: { bags: 4, drivesPerBag: 15, doorToDoor: "24 h" },
 *   return: "300 GB",
 * };
 */
export interface RawPlanInput {
  data?: {
    /** Total size to move ("80 TB"). With `source` too, the scan is taken as a sample of this total. */
    size?: V;
    /** A folder to scan (the CLI scans it; the planner gets the result as a {@link SourceProfile}). */
    source?: string;
    /** File count, when known without a scan. */
    files?: V;
    /** Packed size ÷ original size after compression (0.62), overrides the scan's sample. */
    compressRatio?: V;
    /** Share of bytes that are duplicates ("5%"), overrides the scan's estimate. */
    duplicates?: V;
    /** Files per second pack's scan lists (default 10,000, or measured by a scan). */
    scanRate?: V;
  };
  /** Results to bring back; a size alone ("300 GB") is shorthand for `{ size }`. */
  return?:
    | V
    | {
        size?: V;
        /** Link rate for the return (default: the outbound `network.bandwidth`). */
        bandwidth?: V;
        utilisation?: V;
        /** How fast the origin ingests the results (default: limited by drive reads only). */
        ingest?: V;
        compressRatio?: V;
        /** Drives the destination can write at once (default `destination.drivesAtOnce`). */
        drivesAtOnce?: V;
      };
  network?: {
    /** Link rate ("1 Gbit/s", "100 Mbps"). */
    bandwidth?: V;
    /** Share of the link this transfer may use (default 80%). */
    utilisation?: V;
    /** Round-trip time ("150 ms"); enables the TCP window bound. */
    rtt?: V;
    /** Packet loss ("0.01%"); enables the Mathis bound. */
    loss?: V;
    /** Parallel TCP streams (default 1). */
    streams?: V;
    /** Largest TCP window (default 6 MiB, Linux's autotuning limit). */
    window?: V;
    /** "$0.09/GB" or "$500/month". */
    price?: V;
  };
  drives?: {
    /** Capacity of one drive ("2 TB"). */
    capacity?: V;
    /** Sustained write rate of one drive ("250 MB/s"). */
    write?: V;
    /** Sustained read rate of one drive (default: the write rate). */
    read?: V;
    /** How many drives you have; omit to let the plan size the set. */
    count?: V;
    /** Hosts writing drives at the origin (default 1). */
    hosts?: V;
    /** Drives one host writes at once (default 4). */
    perHost?: V;
    /** What one host can push in total (source reads, compression, encryption, ports); default unlimited. */
    hostRate?: V;
    /** Price of one drive ("$120"). */
    price?: V;
    /** Annual failure rate ("1.5%", default 1.5%). */
    afr?: V;
    /** Share of each drive kept free for the file system and ferry's metadata (default 2%). */
    reserve?: V;
  };
  couriers?: {
    /** Number of bags (courier cases). */
    bags?: V;
    /** Most drives one bag carries (default 15). */
    drivesPerBag?: V;
    /** Door-to-door courier time ("24 h"). */
    doorToDoor?: V;
    /** Handling delay at each end: hand-over, customs, getting drives into the rack (default 0). */
    handling?: V;
    /** Courier price per bag per trip ("$400"). */
    price?: V;
    /** Chance a courier loses or destroys a whole bag on one trip ("0.1%", default 0). */
    bagLoss?: V;
  };
  destination?: {
    /** Servers ingesting at the destination. */
    servers?: V;
    /** Ingest rate of one server ("500 MB/s"). */
    perServer?: V;
    /** Aggregate rate of an object store instead ("2 GB/s"). */
    objectStore?: V;
    /** Drives the destination reads at once when verifying and unpacking (default: as many as the origin writes). */
    drivesAtOnce?: V;
  };
  /** Parity policy: "bag", "2", "bag+1"; omit to let the plan recommend one. */
  tolerate?: V;
}

/**
 * What a scan of the source found, as the planner needs it. `scanSource` returns a superset.
 * @example
 * const profile: SourceProfile = { files: 1_200_000, bytes: 80e12, compressRatio: 0.7, duplicateFraction: 0.03 };
 * resolvePlanInput({ network: { bandwidth: "1 Gbit/s" } }, profile);
 */
export interface SourceProfile {
  /** The folder scanned. */
  root?: string;
  /** Regular files found. */
  files: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Compressed ÷ original bytes in the compressibility sample (≤ 1). */
  compressRatio?: number;
  /** Estimated share of bytes in files that duplicate another file. */
  duplicateFraction?: number;
  /** Files below a size threshold: candidates for the network in a hybrid plan. */
  smallFiles?: { threshold: number; files: number; bytes: number };
  /** Files per second the scan listed (a measured scan rate). */
  filesPerSecond?: number;
  /** Bytes and files by type class ("image", "text", "tensor"…). */
  byClass?: Record<string, { files: number; bytes: number; compressRatio?: number }>;
}

/**
 * The link, resolved.
 * @example
 * resolvePlanInput({ data: { size: "1 TB" }, network: { bandwidth: "1 Gbit/s" } }).network; // { bandwidth: 125e6, utilisation: 0.8, streams: 1 }
 */
export interface NetworkInput {
  /** Bytes per second. */
  bandwidth: number;
  utilisation: number;
  /** Seconds. */
  rtt?: number;
  loss?: number;
  streams: number;
  /** Bytes. */
  window?: number;
  price?: Price;
}

/**
 * The drives and the hosts that write them, resolved.
 * @example
 * resolvePlanInput(raw).drives?.usable; // capacity × (1 − reserve), in bytes
 */
export interface DrivesInput {
  /** Bytes per drive as labelled. */
  capacity: number;
  /** Bytes per drive ferry may fill: capacity × (1 − reserve). */
  usable: number;
  reserve: number;
  /** Bytes per second, one drive. */
  write: number;
  read: number;
  /** A fixed number of drives, or undefined to size the set. */
  count?: number;
  hosts: number;
  perHost: number;
  /** Bytes per second one host can push in total; undefined for unlimited. */
  hostRate?: number;
  price?: Price;
  afr: number;
}

/**
 * Couriers, resolved.
 * @example
 * resolvePlanInput(raw).couriers.doorToDoor; // 86400 for "24 h"
 */
export interface CouriersInput {
  /** A fixed number of bags, or undefined to size. */
  bags?: number;
  /** Most drives per bag. */
  drivesPerBag: number;
  /** True when drivesPerBag was given rather than defaulted. */
  drivesPerBagGiven: boolean;
  /** Seconds door to door. */
  doorToDoor: number;
  /** Seconds of handling at each end. */
  handling: number;
  price?: Price;
  bagLoss: number;
}

/**
 * Destination ingest, resolved.
 * @example
 * resolvePlanInput({ ...raw, destination: { servers: 4, perServer: "500 MB/s" } }).destination.rate; // 2e9
 */
export interface DestinationInput {
  /** Aggregate bytes per second, or undefined when only drive reads limit ingest. */
  rate?: number;
  /** How the rate was described ("4 servers × 500 MB/s"). */
  description?: string;
  /** Drives read at once when verifying and unpacking. */
  drivesAtOnce: number;
}

/**
 * The return trip, resolved.
 * @example
 * resolvePlanInput({ ...raw, return: "300 GB" }).return?.bytes; // 300e9
 */
export interface ReturnInput {
  /** Bytes of results. */
  bytes: number;
  compressRatio: number;
  /** The link for the return (the outbound link unless overridden). */
  network?: NetworkInput;
  /** Bytes per second the origin ingests, undefined when only drive reads limit it. */
  ingest?: number;
  /** Drives the destination writes at once. */
  drivesAtOnce: number;
}

/**
 * Everything the planner needs, in bytes, bytes per second and seconds.
 * @example
 * const input: PlanInput = resolvePlanInput(raw);
 * planTransfer(input);
 */
export interface PlanInput {
  data: {
    /** Bytes to move, as they are at the source. */
    bytes: number;
    files?: number;
    /** Packed ÷ original after compression (1 when unknown). */
    compressRatio: number;
    /** Share of bytes that are duplicates (0 when unknown). */
    duplicateFraction: number;
    /** Files per second pack lists at the source. */
    scanRate: number;
    /** Bytes in small files (from a scan). */
    smallFileBytes?: number;
    smallFileThreshold?: number;
    /** The scan, when one was run. */
    source?: SourceProfile;
  };
  network?: NetworkInput;
  drives?: DrivesInput;
  couriers: CouriersInput;
  destination: DestinationInput;
  /** The parity policy, or undefined to let the plan recommend one. */
  tolerate?: TolerancePolicy;
  return?: ReturnInput;
  /** Currency as written in prices ("$" when none was written). */
  currency: string;
  /** Defaults the plan had to assume, in words (shown so people can correct them). */
  assumptions: string[];
}

/**
 * The flag for each plan-file field, for error messages and `--help`.
 * @example
 * PLAN_FLAGS["network.bandwidth"]; // "--bandwidth"
 */
export const PLAN_FLAGS: Readonly<Record<string, string>> = {
  "data.size": "--size",
  "data.source": "--source",
  "data.files": "--files",
  "data.compressRatio": "--compress-ratio",
  "data.duplicates": "--duplicates",
  "data.scanRate": "--scan-rate",
  "return.size": "--return",
  "return.bandwidth": "--return-bandwidth",
  "return.utilisation": "--return-utilisation",
  "return.ingest": "--return-ingest",
  "return.compressRatio": "--return-compress-ratio",
  "return.drivesAtOnce": "--return-drives-at-once",
  "network.bandwidth": "--bandwidth",
  "network.utilisation": "--utilisation",
  "network.rtt": "--rtt",
  "network.loss": "--loss",
  "network.streams": "--streams",
  "network.window": "--tcp-window",
  "network.price": "--net-price",
  "drives.capacity": "--drive-size",
  "drives.write": "--drive-write",
  "drives.read": "--drive-read",
  "drives.count": "--drives",
  "drives.hosts": "--hosts",
  "drives.perHost": "--drives-per-host",
  "drives.hostRate": "--host-rate",
  "drives.price": "--drive-price",
  "drives.afr": "--afr",
  "drives.reserve": "--reserve",
  "couriers.bags": "--bags",
  "couriers.drivesPerBag": "--drives-per-bag",
  "couriers.doorToDoor": "--door-to-door",
  "couriers.handling": "--handling",
  "couriers.price": "--courier-price",
  "couriers.bagLoss": "--bag-loss",
  "destination.servers": "--dest-servers",
  "destination.perServer": "--dest-server-rate",
  "destination.objectStore": "--dest-store-rate",
  "destination.drivesAtOnce": "--dest-drives-at-once",
  tolerate: "--tolerate",
};

const ALIASES: Record<string, string> = { utilization: "utilisation" };

/**
 * Default files per second for pack's listing of the source when nothing was measured.
 * @example
 * resolvePlanInput({ data: { size: "1 TB", files: 10_000 }, network: { bandwidth: "1 Gbit/s" } }).data.scanRate; // 10_000
 */
export const DEFAULT_SCAN_RATE = 10_000;

/**
 * `network.utilisation (--utilisation)`: how errors name a field.
 * @example
 * fieldLabel("network.bandwidth"); // "network.bandwidth (--bandwidth)"
 */
export function fieldLabel(field: string): string {
  const flag = PLAN_FLAGS[field];
  return flag ? `${field} (${flag})` : field;
}

function bad(field: string, message: string, hint: string): FerryError {
  return new FerryError("E_USAGE", `plan: ${fieldLabel(field)} ${message}`, { hint, detail: { field } });
}

/**
 * Check a raw plan object for unknown keys (typos such as `network.bandwith`) and wrong
 * shapes, and normalise aliases (`utilization` → `utilisation`). Used on plan files.
 *
 * @param raw the parsed plan file
 * @param source the file name, for the error
 * @returns the same data typed as {@link RawPlanInput}
 * @throws FerryError E_USAGE naming the unknown key
 * @example
 * checkRawPlan({ network: { bandwidth: "1 Gbit/s" } }, "plan.yaml"); // ok
 * checkRawPlan({ network: { bandwith: "1 Gbit/s" } }, "plan.yaml"); // throws: unknown key network.bandwith
 */
export function checkRawPlan(raw: unknown, source = "the plan"): RawPlanInput {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new FerryError(
      "E_USAGE",
      `plan: ${source} must hold a mapping of sections (data, network, drives…)`,
      {
        hint: "see docs/PLAN.md for a plan file example",
      },
    );
  }
  const sections = new Set(Object.keys(PLAN_FLAGS).map((k) => k.split(".")[0] ?? k));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!sections.has(key)) {
      throw new FerryError("E_USAGE", `plan: unknown key "${key}" in ${source}`, {
        hint: `top-level keys are ${[...sections].join(", ")}`,
        detail: { field: key },
      });
    }
    if (
      key === "tolerate" ||
      (key === "return" && (typeof value === "string" || typeof value === "number"))
    ) {
      out[key] = value;
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      if (value === null) continue;
      throw new FerryError("E_USAGE", `plan: "${key}" in ${source} must be a section of keys`, {
        hint: `write it as\n${key}:\n  <key>: <value>`,
        detail: { field: key },
      });
    }
    const inner: Record<string, unknown> = {};
    for (const [k0, v] of Object.entries(value as Record<string, unknown>)) {
      const k = ALIASES[k0] ?? k0;
      if (!(`${key}.${k}` in PLAN_FLAGS)) {
        const known = Object.keys(PLAN_FLAGS)
          .filter((f) => f.startsWith(`${key}.`))
          .map((f) => f.slice(key.length + 1));
        throw new FerryError("E_USAGE", `plan: unknown key "${key}.${k0}" in ${source}`, {
          hint: `keys under ${key} are ${known.join(", ")}`,
          detail: { field: `${key}.${k0}` },
        });
      }
      if (v !== null && typeof v === "object") {
        throw new FerryError("E_USAGE", `plan: ${key}.${k} in ${source} must be a single value`, {
          hint: `write it like ${key}.${k}: "80 TB"`,
          detail: { field: `${key}.${k}` },
        });
      }
      if (v !== null && v !== undefined) inner[k] = v;
    }
    out[key] = inner;
  }
  return out as RawPlanInput;
}

/**
 * Merge raw plans: later ones win key by key (a plan file, then flags).
 *
 * @param layers raw plans, lowest priority first
 * @returns the merged plan
 * @example
 * mergeRawPlans({ network: { bandwidth: "1 Gbit/s", utilisation: "50%" } }, { network: { utilisation: "80%" } });
 * // { network: { bandwidth: "1 Gbit/s", utilisation: "80%" } }
 */
export function mergeRawPlans(...layers: RawPlanInput[]): RawPlanInput {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (key === "return" && (typeof value !== "object" || value === null)) {
        out[key] = { ...((typeof out[key] === "object" && out[key]) || {}), size: value };
      } else if (typeof value === "object" && value !== null) {
        const prev = typeof out[key] === "object" && out[key] !== null ? (out[key] as object) : {};
        const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
        out[key] = { ...prev, ...defined };
      } else {
        out[key] = value;
      }
    }
  }
  return out as RawPlanInput;
}

function positive(n: number, field: string, raw: V, example: string): number {
  if (!(n > 0))
    throw bad(
      field,
      `must be greater than zero (got ${JSON.stringify(raw)})`,
      `give a value such as ${example}`,
    );
  return n;
}

/**
 * Resolve a raw plan into numbers, check it, and fill defaults (each default is listed in
 * `assumptions`). A scan of the source, when one was run, supplies the size, file count,
 * compressibility and duplicates that the raw plan does not.
 *
 * @param raw the plan as written
 * @param source the scan of `data.source`, if the caller ran one
 * @returns the resolved input
 * @throws FerryError E_USAGE naming the field for a missing, malformed, non-positive or inconsistent value
 * @example
 * const input = resolvePlanInput({ data: { size: "80 TB" }, network: { bandwidth: "100 Mbit/s", utilisation: "80%" } });
 * input.data.bytes;          // 80e12
 * input.network?.bandwidth;  // 12.5e6
 */
export function resolvePlanInput(raw: RawPlanInput, source?: SourceProfile): PlanInput {
  const assumptions: string[] = [];
  const currencies: { field: string; currency: string }[] = [];
  const L = fieldLabel;
  const price = (v: V | undefined, field: string): Price | undefined => {
    if (v === undefined || v === "") return undefined;
    const p = parsePrice(v, L(field));
    if (p.currency) currencies.push({ field, currency: p.currency });
    return p;
  };

  // --- data
  const d = raw.data ?? {};
  let bytes: number;
  if (d.size !== undefined && d.size !== "") {
    bytes = positive(parseBytes(d.size, L("data.size")), "data.size", d.size, '"80 TB"');
  } else if (source) {
    bytes = source.bytes;
    if (!(bytes > 0)) {
      throw bad(
        "data.source",
        `holds no data (0 bytes in ${source.files} files)`,
        "point --source at the data, or give --size",
      );
    }
  } else {
    throw bad(
      "data.size",
      "is missing",
      'give the size to move (--size "80 TB") or a folder to scan (--source PATH)',
    );
  }
  const scale = source && source.bytes > 0 ? bytes / source.bytes : 1;
  let files = d.files !== undefined && d.files !== "" ? parseCount(d.files, L("data.files"), 0) : undefined;
  if (files === undefined && source) files = Math.round(source.files * scale);
  let compressRatio = 1;
  if (d.compressRatio !== undefined && d.compressRatio !== "") {
    compressRatio = parseNumber(d.compressRatio, L("data.compressRatio"));
    if (compressRatio <= 0 || compressRatio > 1) {
      throw bad(
        "data.compressRatio",
        `must be above 0 and at most 1 (got ${JSON.stringify(d.compressRatio)})`,
        "packed size ÷ original size, e.g. 0.7",
      );
    }
  } else if (source?.compressRatio !== undefined) {
    compressRatio = Math.min(1, Math.max(0.01, source.compressRatio));
  }
  let duplicateFraction = 0;
  if (d.duplicates !== undefined && d.duplicates !== "") {
    duplicateFraction = parseFraction(d.duplicates, L("data.duplicates"));
    if (duplicateFraction >= 1)
      throw bad("data.duplicates", "must be below 100%", 'give the share of duplicate bytes, e.g. "5%"');
  } else if (source?.duplicateFraction !== undefined) {
    duplicateFraction = Math.min(0.99, Math.max(0, source.duplicateFraction));
  }
  let scanRate = DEFAULT_SCAN_RATE;
  if (d.scanRate !== undefined && d.scanRate !== "") {
    const text =
      typeof d.scanRate === "number"
        ? d.scanRate
        : d.scanRate.replace(/\s*files?\s*\/\s*s(ec(ond)?)?\s*$/i, "");
    scanRate = positive(
      parseNumber(text, L("data.scanRate")),
      "data.scanRate",
      d.scanRate,
      '"10000 files/s"',
    );
  } else if (source?.filesPerSecond && source.filesPerSecond > 0) {
    scanRate = source.filesPerSecond;
  } else if (files !== undefined) {
    assumptions.push(
      `pack lists ${DEFAULT_SCAN_RATE.toLocaleString("en-US")} files/s at the source (data.scanRate)`,
    );
  }
  const data: PlanInput["data"] = { bytes, compressRatio, duplicateFraction, scanRate };
  if (files !== undefined) data.files = files;
  if (source?.smallFiles) {
    data.smallFileBytes = source.smallFiles.bytes * scale;
    data.smallFileThreshold = source.smallFiles.threshold;
  }
  if (source) data.source = source;

  // --- network
  const netRaw = raw.network ?? {};
  const network = resolveNetwork(netRaw, "network", assumptions, price);

  // --- drives
  const dr = raw.drives ?? {};
  const anyDrive = Object.values(dr).some((v) => v !== undefined && v !== "");
  let drives: DrivesInput | undefined;
  if (anyDrive) {
    if (dr.capacity === undefined || dr.capacity === "") {
      throw bad("drives.capacity", "is missing", 'give the capacity of one drive, e.g. --drive-size "2 TB"');
    }
    const capacity = positive(
      parseBytes(dr.capacity, L("drives.capacity")),
      "drives.capacity",
      dr.capacity,
      '"2 TB"',
    );
    if (dr.write === undefined || dr.write === "") {
      throw bad(
        "drives.write",
        "is missing",
        'give the sustained write rate of one drive, e.g. --drive-write "250 MB/s"',
      );
    }
    const write = positive(parseRate(dr.write, L("drives.write")), "drives.write", dr.write, '"250 MB/s"');
    let read = write;
    if (dr.read !== undefined && dr.read !== "") {
      read = positive(parseRate(dr.read, L("drives.read")), "drives.read", dr.read, '"250 MB/s"');
    } else assumptions.push("drives read as fast as they write (drives.read)");
    let reserve = 0.02;
    if (dr.reserve !== undefined && dr.reserve !== "") {
      reserve = parseFraction(dr.reserve, L("drives.reserve"));
      if (reserve >= 1)
        throw bad("drives.reserve", "must be below 100%", 'keep a small share free, e.g. "2%"');
    }
    const hosts = dr.hosts !== undefined && dr.hosts !== "" ? parseCount(dr.hosts, L("drives.hosts")) : 1;
    const perHost =
      dr.perHost !== undefined && dr.perHost !== "" ? parseCount(dr.perHost, L("drives.perHost")) : 4;
    if (dr.hosts === undefined || dr.perHost === undefined) {
      assumptions.push(
        `${hosts} host${hosts === 1 ? "" : "s"} writing ${perHost} drives at once each (drives.hosts, drives.perHost)`,
      );
    }
    let afr = 0.015;
    if (dr.afr !== undefined && dr.afr !== "") afr = parseFraction(dr.afr, L("drives.afr"));
    else assumptions.push("drives fail at 1.5% a year (drives.afr)");
    drives = { capacity, usable: capacity * (1 - reserve), reserve, write, read, hosts, perHost, afr };
    if (dr.count !== undefined && dr.count !== "") drives.count = parseCount(dr.count, L("drives.count"));
    if (dr.hostRate !== undefined && dr.hostRate !== "") {
      drives.hostRate = positive(
        parseRate(dr.hostRate, L("drives.hostRate")),
        "drives.hostRate",
        dr.hostRate,
        '"1 GB/s"',
      );
    }
    const p = price(dr.price, "drives.price");
    if (p) {
      if (p.basis !== "each") throw bad("drives.price", "is a price per drive", 'write it like "$120"');
      drives.price = p;
    }
  }

  // --- couriers
  const c = raw.couriers ?? {};
  const couriers: CouriersInput = {
    drivesPerBag: 15,
    drivesPerBagGiven: false,
    doorToDoor: 0,
    handling: 0,
    bagLoss: 0,
  };
  if (c.bags !== undefined && c.bags !== "") couriers.bags = parseCount(c.bags, L("couriers.bags"));
  if (c.drivesPerBag !== undefined && c.drivesPerBag !== "") {
    couriers.drivesPerBag = parseCount(c.drivesPerBag, L("couriers.drivesPerBag"));
    couriers.drivesPerBagGiven = true;
  }
  if (drives) {
    if (c.doorToDoor === undefined || c.doorToDoor === "") {
      throw bad(
        "couriers.doorToDoor",
        "is missing",
        'say how long a courier takes door to door, e.g. --door-to-door "24 h"',
      );
    }
    couriers.doorToDoor = parseDuration(c.doorToDoor, L("couriers.doorToDoor"));
    if (c.handling !== undefined && c.handling !== "")
      couriers.handling = parseDuration(c.handling, L("couriers.handling"));
    else assumptions.push("no handling delay at either end (couriers.handling)");
    if (!couriers.drivesPerBagGiven && drives.count === undefined) {
      assumptions.push("a bag carries up to 15 drives (couriers.drivesPerBag)");
    }
  }
  if (c.bagLoss !== undefined && c.bagLoss !== "")
    couriers.bagLoss = parseFraction(c.bagLoss, L("couriers.bagLoss"));
  const cp = price(c.price, "couriers.price");
  if (cp) {
    if (cp.basis !== "each")
      throw bad("couriers.price", "is a price per bag per trip", 'write it like "$400"');
    couriers.price = cp;
  }
  if (drives?.count !== undefined) {
    const n = drives.count;
    if (couriers.bags !== undefined && couriers.bags > n) {
      throw bad(
        "couriers.bags",
        `asks for ${couriers.bags} bags for only ${n} drives`,
        "every bag needs at least one drive",
      );
    }
    if (
      couriers.bags !== undefined &&
      couriers.drivesPerBagGiven &&
      couriers.bags * couriers.drivesPerBag < n
    ) {
      throw bad(
        "drives.count",
        `is ${n} but ${couriers.bags} bags of ${couriers.drivesPerBag} hold only ${couriers.bags * couriers.drivesPerBag}`,
        "add bags, allow more drives per bag, or use fewer drives",
      );
    }
  }

  // --- destination
  const ds = raw.destination ?? {};
  const destination: DestinationInput = { drivesAtOnce: drives ? drives.hosts * drives.perHost : 4 };
  const hasServers =
    (ds.servers !== undefined && ds.servers !== "") || (ds.perServer !== undefined && ds.perServer !== "");
  if (hasServers && ds.objectStore !== undefined && ds.objectStore !== "") {
    throw bad(
      "destination.objectStore",
      "was given together with destination servers",
      "describe the destination either as servers × rate or as an object store rate",
    );
  }
  if (hasServers) {
    if (ds.perServer === undefined || ds.perServer === "") {
      throw bad(
        "destination.perServer",
        "is missing",
        'give the ingest rate of one server, e.g. --dest-server-rate "500 MB/s"',
      );
    }
    const servers =
      ds.servers !== undefined && ds.servers !== "" ? parseCount(ds.servers, L("destination.servers")) : 1;
    const per = positive(
      parseRate(ds.perServer, L("destination.perServer")),
      "destination.perServer",
      ds.perServer,
      '"500 MB/s"',
    );
    destination.rate = servers * per;
    destination.description = `${servers} server${servers === 1 ? "" : "s"} × ${String(ds.perServer).trim()}`;
  } else if (ds.objectStore !== undefined && ds.objectStore !== "") {
    destination.rate = positive(
      parseRate(ds.objectStore, L("destination.objectStore")),
      "destination.objectStore",
      ds.objectStore,
      '"2 GB/s"',
    );
    destination.description = `object store at ${String(ds.objectStore).trim()}`;
  } else {
    assumptions.push(
      "the destination ingests as fast as data arrives (destination.servers with destination.perServer, or destination.objectStore)",
    );
  }
  if (ds.drivesAtOnce !== undefined && ds.drivesAtOnce !== "") {
    destination.drivesAtOnce = parseCount(ds.drivesAtOnce, L("destination.drivesAtOnce"));
  } else if (drives) {
    assumptions.push(
      `the destination reads ${destination.drivesAtOnce} drives at once, like the origin (destination.drivesAtOnce)`,
    );
  }

  if (!network && !drives) {
    throw bad(
      "network.bandwidth",
      "and drives.capacity are both missing: there is nothing to plan with",
      'describe the network (--bandwidth "1 Gbit/s"), the drives (--drive-size "2 TB" --drive-write "250 MB/s" --door-to-door "24 h"), or both',
    );
  }

  let tolerate: TolerancePolicy | undefined;
  if (raw.tolerate !== undefined && raw.tolerate !== "") tolerate = parseTolerance(String(raw.tolerate));

  // --- return
  let ret: ReturnInput | undefined;
  const r =
    typeof raw.return === "object" && raw.return !== null
      ? raw.return
      : raw.return !== undefined
        ? { size: raw.return }
        : undefined;
  if (r && r.size !== undefined && r.size !== "") {
    const rb = positive(parseBytes(r.size, L("return.size")), "return.size", r.size, '"300 GB"');
    ret = { bytes: rb, compressRatio: 1, drivesAtOnce: destination.drivesAtOnce };
    if (r.compressRatio !== undefined && r.compressRatio !== "") {
      ret.compressRatio = parseNumber(r.compressRatio, L("return.compressRatio"));
      if (ret.compressRatio <= 0 || ret.compressRatio > 1) {
        throw bad(
          "return.compressRatio",
          "must be above 0 and at most 1",
          "packed size ÷ original size, e.g. 0.9",
        );
      }
    }
    if (r.bandwidth !== undefined && r.bandwidth !== "") {
      const rn = resolveNetwork(
        {
          ...netRaw,
          bandwidth: r.bandwidth,
          utilisation: r.utilisation ?? netRaw.utilisation,
          price: netRaw.price,
        },
        "return",
        assumptions,
        () => network?.price,
      );
      if (rn) ret.network = rn;
    } else if (network) {
      ret.network =
        r.utilisation !== undefined
          ? { ...network, utilisation: parseFraction(r.utilisation, L("return.utilisation")) }
          : network;
    }
    if (r.ingest !== undefined && r.ingest !== "") {
      ret.ingest = positive(parseRate(r.ingest, L("return.ingest")), "return.ingest", r.ingest, '"500 MB/s"');
    }
    if (r.drivesAtOnce !== undefined && r.drivesAtOnce !== "") {
      ret.drivesAtOnce = parseCount(r.drivesAtOnce, L("return.drivesAtOnce"));
    }
  } else if (r) {
    const extra = Object.keys(r).filter((k) => k !== "size");
    if (extra.length > 0)
      throw bad(
        "return.size",
        "is missing",
        'give the size of the results to bring back, e.g. --return "300 GB"',
      );
  }

  const distinct = [...new Set(currencies.map((x) => x.currency))];
  if (distinct.length > 1) {
    const second = currencies.find((x) => x.currency !== distinct[0]);
    throw bad(
      second?.field ?? "drives.price",
      `is in ${second?.currency} but another price is in ${distinct[0]}`,
      "write every price in one currency",
    );
  }

  const withFlags = assumptions.map((a) =>
    a.replace(/\b(data|return|network|drives|couriers|destination)\.[A-Za-z]+\b/g, (f) =>
      PLAN_FLAGS[f] ? `${f}, ${PLAN_FLAGS[f]}` : f,
    ),
  );
  const out: PlanInput = {
    data,
    couriers,
    destination,
    currency: distinct[0] ?? "$",
    assumptions: withFlags,
  };
  if (network) out.network = network;
  if (drives) out.drives = drives;
  if (tolerate) out.tolerate = tolerate;
  if (ret) out.return = ret;
  return out;
}

function resolveNetwork(
  n: NonNullable<RawPlanInput["network"]>,
  section: "network" | "return",
  assumptions: string[],
  price: (v: V | undefined, field: string) => Price | undefined,
): NetworkInput | undefined {
  const given = Object.values(n).some((v) => v !== undefined && v !== "");
  if (!given) return undefined;
  const f = (k: string) =>
    section === "return" && (k === "bandwidth" || k === "utilisation") ? `return.${k}` : `network.${k}`;
  if (n.bandwidth === undefined || n.bandwidth === "") {
    throw bad("network.bandwidth", "is missing", 'give the link rate, e.g. --bandwidth "1 Gbit/s"');
  }
  const bandwidth = positive(
    parseRate(n.bandwidth, fieldLabel(f("bandwidth"))),
    f("bandwidth"),
    n.bandwidth,
    '"1 Gbit/s"',
  );
  let utilisation = 0.8;
  if (n.utilisation !== undefined && n.utilisation !== "") {
    utilisation = positive(
      parseFraction(n.utilisation, fieldLabel(f("utilisation"))),
      f("utilisation"),
      n.utilisation,
      '"80%"',
    );
  } else if (section === "network")
    assumptions.push("the transfer gets 80% of the link (network.utilisation)");
  const out: NetworkInput = { bandwidth, utilisation, streams: 1 };
  if (n.rtt !== undefined && n.rtt !== "") out.rtt = parseDuration(n.rtt, fieldLabel("network.rtt"));
  if (n.loss !== undefined && n.loss !== "") {
    out.loss = parseFraction(n.loss, fieldLabel("network.loss"));
    if (out.loss >= 1) throw bad("network.loss", "must be below 100%", 'give a loss rate such as "0.01%"');
  }
  if (n.streams !== undefined && n.streams !== "")
    out.streams = parseCount(n.streams, fieldLabel("network.streams"));
  if (n.window !== undefined && n.window !== "") {
    out.window = positive(
      parseBytes(n.window, fieldLabel("network.window")),
      "network.window",
      n.window,
      '"16 MiB"',
    );
  }
  if ((out.loss ?? 0) > 0 && !out.rtt) {
    throw bad("network.rtt", "is needed with network.loss", 'give the round-trip time, e.g. --rtt "150 ms"');
  }
  const p = price(n.price, "network.price");
  if (p) {
    if (p.basis === "each")
      throw bad("network.price", "needs a basis", 'write "$0.09/GB" (per transfer) or "$500/month" (a link)');
    out.price = p;
  }
  return out;
}
