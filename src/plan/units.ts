/**
 * Units as people write them: sizes (TB vs TiB), rates (MB/s vs Mbit/s), durations
 * (h, d, "1d 12h"), fractions ("80%" or 0.8) and prices ("$0.09/GB", "$500/month").
 *
 * Every parser takes the name of the field it is parsing, so an error says which input
 * was wrong: `plan: network.bandwidth must be greater than zero (got "0 Mbit/s")`.
 * Sizes are returned in bytes, rates in bytes per second, durations in seconds.
 *
 * A bare number is refused for any input that has a unit ("80" could be bytes or TB),
 * except zero, which means the same in every unit.
 *
 * Pure functions, no I/O.
 */
import { FerryError } from "../errors.js";

/**
 * A value as it comes from a flag or a plan file: text, or a number from JSON/YAML.
 * @example
 * const size: UnitInput = "80 TB"; // or 0, or 4 for a count
 */
export type UnitInput = string | number;

const INTEGER = String.raw`(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)`;
const NUMBER = String.raw`[+-]?(?:${INTEGER}(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;

function usage(field: string, message: string, hint: string): FerryError {
  return new FerryError("E_USAGE", `plan: ${field} ${message}`, { hint, detail: { field } });
}

function show(v: UnitInput): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

function toNumber(text: string): number {
  return Number(text.replace(/[_,]/g, ""));
}

const DECIMAL: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15, e: 1e18 };
const BINARY: Record<string, number> = {
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
  ei: 2 ** 60,
};

/** Multiplier of an SI (k, M, G…) or IEC (Ki, Mi, Gi…) prefix, case-insensitive; undefined if unknown. */
function prefixFactor(prefix: string): number | undefined {
  const p = prefix.toLowerCase();
  return DECIMAL[p] ?? BINARY[p];
}

/**
 * Parse a size into bytes. Decimal (kB, MB, GB, TB, PB: powers of 1000) and binary
 * (KiB, MiB, GiB, TiB, PiB: powers of 1024) units; case does not matter ("80tb" is
 * 80 TB); "bit" units are divided by 8. Negative values are refused.
 *
 * @param value the text ("80 TB", "1.5TiB", "300GB") or 0
 * @param field the input's name, used in the error ("data.size")
 * @returns bytes
 * @throws FerryError E_USAGE naming `field` when the text has no unit, an unknown unit, or is negative
 * @example
 * parseBytes("80 TB", "data.size");   // 80e12
 * parseBytes("1 TiB", "data.size");   // 1099511627776
 * parseBytes("-3 TB", "data.size");   // throws "plan: data.size must not be negative (got "-3 TB")"
 */
export function parseBytes(value: UnitInput, field: string): number {
  const n = parseMagnitude(value, field, "a size", "80 TB", (unit) => {
    const u = unit.trim();
    const bits = /^([a-z]*?)(?:bits?)$/i.exec(u);
    if (bits) {
      const f = prefixFactor(bits[1] ?? "");
      return f === undefined ? undefined : f / 8;
    }
    const m = /^([a-z]*?)(?:b|bytes?)$/i.exec(u);
    if (!m) return undefined;
    return prefixFactor(m[1] ?? "");
  });
  if (n < 0) throw usage(field, `must not be negative (got ${show(value)})`, `give a size such as "80 TB"`);
  return n;
}

const PER_SECOND: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  d: 86400,
  day: 86400,
};

/**
 * Parse a data rate into bytes per second. `B` is a byte and `b` a bit, as on every
 * spec sheet: "100 MB/s" is 100e6 bytes/s, "100 Mbit/s", "100 Mb/s" and "100 Mbps"
 * are 12.5e6 bytes/s; "10GbE" is 10 Gbit/s. Rates per minute, hour or day
 * ("5 TB/day") are accepted. Negative values are refused.
 *
 * @param value the text or 0
 * @param field the input's name, used in the error ("network.bandwidth")
 * @returns bytes per second
 * @throws FerryError E_USAGE naming `field` for a missing or unknown unit, or a negative value
 * @example
 * parseRate("100 Mbit/s", "network.bandwidth"); // 12_500_000
 * parseRate("100 MB/s", "drives.write");        // 100_000_000
 * parseRate("1 Gbps", "network.bandwidth");     // 125_000_000
 * parseRate("5 TB/day", "network.bandwidth");   // 57_870_370.37…
 */
export function parseRate(value: UnitInput, field: string): number {
  const n = parseMagnitude(value, field, "a rate", "100 MB/s or 1 Gbit/s", (unit) => {
    const u = unit.trim();
    let m = /^([a-zA-Z]*?)(bps|Bps)$/.exec(u);
    if (m) {
      const f = prefixFactor(m[1] ?? "");
      return f === undefined ? undefined : m[2] === "bps" ? f / 8 : f;
    }
    if (/^GbE$/i.test(u)) return 1e9 / 8;
    m = /^([a-zA-Z]*?)(bits?|bytes?|b|B)\s*\/\s*([a-z]+)$/i.exec(u);
    if (!m) return undefined;
    const f = prefixFactor(m[1] ?? "");
    const per = PER_SECOND[(m[3] ?? "").toLowerCase().replace(/s$/, "")] ?? PER_SECOND[m[3] ?? ""];
    if (f === undefined || per === undefined) return undefined;
    const word = m[2] ?? "";
    const isBit = /^bits?$/i.test(word) || word === "b";
    return (isBit ? f / 8 : f) / per;
  });
  if (n < 0)
    throw usage(field, `must not be negative (got ${show(value)})`, `give a rate such as "100 MB/s"`);
  return n;
}

const DURATION: Record<string, number> = {
  ms: 0.001,
  millisecond: 0.001,
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  d: 86400,
  day: 86400,
  w: 604800,
  wk: 604800,
  week: 604800,
};

/**
 * Parse a duration into seconds: "24h", "1.5 d", "90 min", "150 ms", "2 weeks", or
 * several parts ("1d 12h"). "m" is minutes. Negative values are refused.
 *
 * @param value the text or 0
 * @param field the input's name, used in the error ("couriers.doorToDoor")
 * @returns seconds
 * @throws FerryError E_USAGE naming `field`
 * @example
 * parseDuration("24 h", "couriers.doorToDoor");   // 86400
 * parseDuration("1d 12h", "couriers.doorToDoor"); // 129600
 * parseDuration("150ms", "network.rtt");          // 0.15
 */
export function parseDuration(value: UnitInput, field: string): number {
  if (typeof value === "number" || /^\s*[+-]?[\d.]+\s*$/.test(value)) {
    const n = typeof value === "number" ? value : Number(value);
    if (n === 0) return 0;
    throw usage(
      field,
      `needs a unit (got ${show(value)})`,
      `write it with a unit, e.g. "24 h", "90 min" or "2 d"`,
    );
  }
  const text = value.trim();
  const part = new RegExp(`(${NUMBER})\\s*([a-zA-Z]+)\\s*`, "y");
  let total = 0;
  let pos = 0;
  let parts = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) break;
    const unit = (m[2] ?? "").toLowerCase();
    const f = DURATION[unit] ?? DURATION[unit.replace(/s$/, "")];
    if (f === undefined) {
      throw usage(
        field,
        `has an unknown time unit "${m[2]}" (got ${show(value)})`,
        "use ms, s, min, h, d or w",
      );
    }
    total += toNumber(m[1] ?? "") * f;
    pos = part.lastIndex;
    parts++;
  }
  if (parts === 0 || pos < text.length || !Number.isFinite(total)) {
    throw usage(
      field,
      `is not a duration (got ${show(value)})`,
      `write it like "24 h", "90 min" or "1d 12h"`,
    );
  }
  if (total < 0)
    throw usage(field, `must not be negative (got ${show(value)})`, `give a duration such as "24 h"`);
  return total;
}

/**
 * Parse a fraction: "80%" or 0.8 (a number from 0 to 1). A bare number above 1 is refused
 * because "80" could mean 80% or a typo.
 *
 * @param value "80%", "0.01%", 0.8 or "0.8"
 * @param field the input's name, used in the error ("network.utilisation")
 * @returns a number from 0 to 1
 * @throws FerryError E_USAGE naming `field` when outside 0–100%
 * @example
 * parseFraction("80%", "network.utilisation"); // 0.8
 * parseFraction(0.015, "drives.afr");          // 0.015
 */
export function parseFraction(value: UnitInput, field: string): number {
  const text = typeof value === "number" ? String(value) : value.trim();
  const m = new RegExp(`^(${NUMBER})\\s*(%?)$`).exec(text);
  if (!m)
    throw usage(
      field,
      `is not a fraction (got ${show(value)})`,
      `write a percentage such as "80%" or a fraction such as 0.8`,
    );
  const raw = toNumber(m[1] ?? "");
  const n = m[2] === "%" ? raw / 100 : raw;
  if (m[2] !== "%" && raw > 1 && raw <= 100) {
    throw usage(
      field,
      `must be a fraction from 0 to 1 or a percentage (got ${show(value)}; did you mean "${raw}%"?)`,
      `write "${raw}%" or ${raw / 100}`,
    );
  }
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw usage(
      field,
      `must be between 0% and 100% (got ${show(value)})`,
      m[2] === "%" ? "give a percentage from 0% to 100%" : `write "80%" or 0.8, not 80`,
    );
  }
  return n;
}

/**
 * Parse a whole number of things (drives, hosts, bags, streams).
 *
 * @param value 4 or "4"
 * @param field the input's name, used in the error ("drives.perHost")
 * @param min the smallest allowed value (default 1)
 * @returns the integer
 * @throws FerryError E_USAGE naming `field` when not a whole number ≥ `min`
 * @example
 * parseCount("15", "couriers.drivesPerBag"); // 15
 * parseCount(0, "drives.hosts");             // throws: must be at least 1
 */
export function parseCount(value: UnitInput, field: string, min = 1): number {
  const text = typeof value === "number" ? String(value) : value.trim();
  const n = new RegExp(`^[+-]?${INTEGER}$`).test(text) ? toNumber(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw usage(field, `must be a whole number (got ${show(value)})`, `give a count such as 4`);
  }
  if (n < min)
    throw usage(field, `must be at least ${min} (got ${show(value)})`, `give a count of ${min} or more`);
  return n;
}

/**
 * Parse a plain positive number (a ratio such as the packed/original size).
 *
 * @param value 0.8 or "0.8"
 * @param field the input's name, used in the error
 * @returns the number
 * @throws FerryError E_USAGE naming `field` when not a finite number ≥ 0
 * @example
 * parseNumber("0.62", "data.compressRatio"); // 0.62
 */
export function parseNumber(value: UnitInput, field: string): number {
  const text = typeof value === "number" ? String(value) : value.trim();
  const n = new RegExp(`^${NUMBER}$`).test(text) ? toNumber(text) : Number.NaN;
  if (!Number.isFinite(n))
    throw usage(field, `must be a number (got ${show(value)})`, "give a number such as 0.8");
  if (n < 0) throw usage(field, `must not be negative (got ${show(value)})`, "give a number such as 0.8");
  return n;
}

/**
 * What a price is charged per.
 * @example
 * parsePrice("$500/month", "network.price").basis; // "month"
 */
export type PriceBasis = "each" | "byte" | "month";

/**
 * A parsed price: `amount` per `basis` (per byte for "$0.09/GB"), in `currency`.
 * @example
 * const p: Price = { amount: 120, basis: "each", currency: "$" };
 */
export interface Price {
  /** The amount per unit of `basis` (per byte when basis is "byte"). */
  amount: number;
  /** "each" (a drive, a bag), "byte" (transfer) or "month" (a link). */
  basis: PriceBasis;
  /** The currency symbol or code as written ("$", "€", "EUR"); "" when none was written. */
  currency: string;
}

const CURRENCY_SYMBOLS = ["$", "€", "£", "¥"];

/**
 * Parse a price: "$120", "120 USD", "€0.05/GB", "$0.09 per GB", "$500/month", "$500/mo".
 * A per-size price is returned per byte.
 *
 * @param value the price text or a plain number (a price each)
 * @param field the input's name, used in the error ("network.price")
 * @returns the amount, what it is per, and the currency as written
 * @throws FerryError E_USAGE naming `field` for an unreadable or negative price
 * @example
 * parsePrice("$0.09/GB", "network.price");  // { amount: 9e-11, basis: "byte", currency: "$" }
 * parsePrice("$500/month", "network.price"); // { amount: 500, basis: "month", currency: "$" }
 * parsePrice("€120", "drives.price");        // { amount: 120, basis: "each", currency: "€" }
 */
export function parsePrice(value: UnitInput, field: string): Price {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0)
      throw usage(field, `must not be negative (got ${value})`, `give a price such as "$120"`);
    return { amount: value, basis: "each", currency: "" };
  }
  let text = value.trim();
  let currency = "";
  const sym = CURRENCY_SYMBOLS.find((s) => text.startsWith(s) || text.startsWith(`-${s}`));
  if (sym) {
    currency = sym;
    text = text.replace(sym, "").trim();
  }
  const m = new RegExp(`^(${NUMBER})\\s*([A-Za-z]{3}(?![A-Za-z]))?\\s*(?:(?:/|per)\\s*(.+))?$`).exec(text);
  if (!m) {
    throw usage(
      field,
      `is not a price (got ${show(value)})`,
      `write a price such as "$120", "$0.09/GB" or "$500/month"`,
    );
  }
  if (m[2]) {
    const code = m[2].toUpperCase();
    if (currency && currency !== code) {
      throw usage(field, `names two currencies (got ${show(value)})`, `write "$120" or "120 USD"`);
    }
    currency = code;
  }
  const amount = toNumber(m[1] ?? "");
  if (!Number.isFinite(amount) || amount < 0) {
    throw usage(field, `must not be negative (got ${show(value)})`, `give a price such as "$120"`);
  }
  const per = (m[3] ?? "").trim();
  if (per === "") return { amount, basis: "each", currency };
  if (/^(month|mo|mon|months)$/i.test(per)) return { amount, basis: "month", currency };
  if (/^(year|yr|y)$/i.test(per)) return { amount: amount / 12, basis: "month", currency };
  if (/^(drive|bag|each|unit|trip|shipment)$/i.test(per)) return { amount, basis: "each", currency };
  let perBytes: number;
  try {
    perBytes = parseBytes(/^\d/.test(per) ? per : `1 ${per}`, field);
  } catch {
    throw usage(
      field,
      `has an unknown price basis "${per}" (got ${show(value)})`,
      `price transfer per GB ("$0.09/GB") or a link per month ("$500/month")`,
    );
  }
  if (perBytes <= 0)
    throw usage(field, `has an unknown price basis "${per}" (got ${show(value)})`, `write "$0.09/GB"`);
  return { amount: amount / perBytes, basis: "byte", currency };
}

function parseMagnitude(
  value: UnitInput,
  field: string,
  what: string,
  example: string,
  factorOf: (unit: string) => number | undefined,
): number {
  if (typeof value === "number") {
    if (value === 0) return 0;
    if (!Number.isFinite(value))
      throw usage(field, `is not ${what} (got ${value})`, `write it like "${example}"`);
    throw usage(field, `needs a unit (got ${value})`, `write it with a unit, e.g. "${example}"`);
  }
  const m = new RegExp(`^\\s*(${NUMBER})\\s*(.*?)\\s*$`).exec(value);
  if (!m) throw usage(field, `is not ${what} (got ${show(value)})`, `write it like "${example}"`);
  const n = toNumber(m[1] ?? "");
  const unit = m[2] ?? "";
  if (!Number.isFinite(n))
    throw usage(field, `is not ${what} (got ${show(value)})`, `write it like "${example}"`);
  if (unit === "") {
    if (n === 0) return 0;
    throw usage(field, `needs a unit (got ${show(value)})`, `write it with a unit, e.g. "${example}"`);
  }
  const f = factorOf(unit);
  if (f === undefined)
    throw usage(field, `has an unknown unit "${unit}" (got ${show(value)})`, `write it like "${example}"`);
  return n * f;
}

/**
 * Format bytes with a decimal unit, three significant digits: "80.0 TB", "300 GB", "1.78 TB".
 *
 * @param bytes a byte count
 * @returns the text
 * @example
 * formatBytes(80e12); // "80.0 TB"
 * formatBytes(0);     // "0 B"
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 999.5 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  return `${sig3(v)} ${units[i]}`;
}

function sig3(v: number): string {
  const a = Math.abs(v);
  return a >= 99.95 ? v.toFixed(0) : a >= 9.995 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Format a rate in bytes per second as MB/s or GB/s, and (optionally) also in bits.
 *
 * @param bytesPerSecond the rate
 * @param bits true to write it in bit/s (network style: "100 Mbit/s")
 * @returns the text
 * @example
 * formatRate(12.5e6, true); // "100 Mbit/s"
 * formatRate(250e6);        // "250 MB/s"
 */
export function formatRate(bytesPerSecond: number, bits = false): string {
  if (bits) {
    const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
    let v = bytesPerSecond * 8;
    let i = 0;
    while (v >= 999.5 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${sig3(v).replace(/\.0+$/, "")} ${units[i]}`;
  }
  return `${formatBytes(bytesPerSecond).replace(/\.0+ /, " ")}/s`;
}

/**
 * Format a duration for people: seconds below a minute, minutes below an hour, hours
 * (one decimal) below two days, then days with one decimal. ("92.6 d", "29.6 h", "12 min")
 *
 * @param seconds the duration
 * @returns the text
 * @example
 * formatDuration(8e6);    // "92.6 d"
 * formatDuration(106560); // "29.6 h"
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "∞";
  const s = Math.abs(seconds);
  if (s < 59.5) return `${Math.round(seconds)} s`;
  if (s < 3570) return `${Math.round(seconds / 60)} min`;
  if (s < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/**
 * Format money with a thousands separator and the currency as written
 * ("$7,200", "1,200 EUR"); amounts under 100 keep cents.
 *
 * @param amount the amount
 * @param currency "$", "€", "USD" or ""
 * @returns the text
 * @example
 * formatMoney(7200, "$");   // "$7,200"
 * formatMoney(12.5, "EUR"); // "12.50 EUR"
 */
export function formatMoney(amount: number, currency: string): string {
  const digits = Math.abs(amount) < 100 && amount !== Math.round(amount) ? 2 : 0;
  const n = amount.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (currency === "") return n;
  return currency.length === 1 ? `${currency}${n}` : `${n} ${currency}`;
}

/**
 * Format a fraction as a percentage: whole percent at 10% and above, more digits below,
 * and "<0.01%" for tiny non-zero values.
 *
 * @param fraction 0–1
 * @returns the text
 * @example
 * formatPercent(0.3333); // "33%"
 * formatPercent(0.0042); // "0.42%"
 */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return "0%";
  if (p < 0.01) return "<0.01%";
  if (p < 1) return `${p.toFixed(2)}%`;
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}
