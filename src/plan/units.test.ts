import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import {
  formatBytes,
  formatDuration,
  formatMoney,
  formatPercent,
  formatRate,
  parseBytes,
  parseCount,
  parseDuration,
  parseFraction,
  parseNumber,
  parsePrice,
  parseRate,
} from "./units.js";

function throwsUsage(fn: () => unknown, field: string, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(FerryError.is(e, "E_USAGE"), `expected E_USAGE, got ${String(e)}`);
    assert.ok(e.message.includes(field), `message "${e.message}" should name ${field}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test("sizes: decimal vs binary, case-insensitive, bits", () => {
  assert.equal(parseBytes("80 TB", "data.size"), 80e12);
  assert.equal(parseBytes("80TB", "data.size"), 80e12);
  assert.equal(parseBytes("80 tb", "data.size"), 80e12);
  assert.equal(parseBytes("1 TiB", "data.size"), 2 ** 40);
  assert.equal(parseBytes("1.5 PB", "data.size"), 1.5e15);
  assert.equal(parseBytes("300GB", "data.size"), 300e9);
  assert.equal(parseBytes("512 MiB", "data.size"), 512 * 2 ** 20);
  assert.equal(parseBytes("1,000 GB", "data.size"), 1e12);
  assert.equal(parseBytes("10 bytes", "data.size"), 10);
  assert.equal(parseBytes("8 Tbit", "data.size"), 1e12);
  assert.equal(parseBytes(0, "data.size"), 0);
  assert.equal(parseBytes("0", "data.size"), 0);
});

test("sizes: errors name the field", () => {
  throwsUsage(() => parseBytes("-3 TB", "data.size"), "data.size", /negative.*-3 TB/);
  throwsUsage(() => parseBytes("80", "data.size"), "data.size", /needs a unit/);
  throwsUsage(() => parseBytes(80, "data.size"), "data.size", /needs a unit/);
  throwsUsage(() => parseBytes("80 TQ", "drives.capacity"), "drives.capacity", /unknown unit/);
  throwsUsage(() => parseBytes("lots", "data.size"), "data.size");
  throwsUsage(() => parseBytes("1,5 TB", "data.size"), "data.size");
});

test("rates: B is a byte, b is a bit", () => {
  assert.equal(parseRate("100 Mbit/s", "n"), 12.5e6);
  assert.equal(parseRate("100 Mb/s", "n"), 12.5e6);
  assert.equal(parseRate("100 Mbps", "n"), 12.5e6);
  assert.equal(parseRate("100 MB/s", "n"), 100e6);
  assert.equal(parseRate("100 MBps", "n"), 100e6);
  assert.equal(parseRate("1 Gbit/s", "n"), 125e6);
  assert.equal(parseRate("1Gbps", "n"), 125e6);
  assert.equal(parseRate("10GbE", "n"), 1.25e9);
  assert.equal(parseRate("250 MiB/s", "n"), 250 * 2 ** 20);
  assert.equal(parseRate("100 Mbyte/s", "n"), 100e6);
  assert.ok(Math.abs(parseRate("3.6 TB/h", "n") - 1e9) < 1e-3);
  assert.ok(Math.abs(parseRate("8.64 TB/day", "n") - 100e6) < 1e-6);
  assert.equal(parseRate("0", "n"), 0);
  throwsUsage(() => parseRate("100", "network.bandwidth"), "network.bandwidth", /needs a unit/);
  throwsUsage(() => parseRate("100 MB", "network.bandwidth"), "network.bandwidth", /unknown unit/);
  throwsUsage(() => parseRate("-1 Gbit/s", "network.bandwidth"), "network.bandwidth", /negative/);
});

test("durations", () => {
  assert.equal(parseDuration("24h", "c"), 86400);
  assert.equal(parseDuration("24 hours", "c"), 86400);
  assert.equal(parseDuration("1 d", "c"), 86400);
  assert.equal(parseDuration("1.5 days", "c"), 129600);
  assert.equal(parseDuration("1d 12h", "c"), 129600);
  assert.equal(parseDuration("90 min", "c"), 5400);
  assert.equal(parseDuration("30m", "c"), 1800);
  assert.equal(parseDuration("150ms", "c"), 0.15);
  assert.equal(parseDuration("2 weeks", "c"), 14 * 86400);
  assert.equal(parseDuration(0, "c"), 0);
  throwsUsage(() => parseDuration("24", "couriers.doorToDoor"), "couriers.doorToDoor", /needs a unit/);
  throwsUsage(() => parseDuration(24, "couriers.doorToDoor"), "couriers.doorToDoor", /needs a unit/);
  throwsUsage(
    () => parseDuration("24 fortnights", "couriers.doorToDoor"),
    "couriers.doorToDoor",
    /unknown time unit/,
  );
  throwsUsage(() => parseDuration("-2 h", "couriers.handling"), "couriers.handling", /negative/);
  throwsUsage(() => parseDuration("soon", "couriers.handling"), "couriers.handling");
});

test("fractions, counts, numbers", () => {
  assert.equal(parseFraction("80%", "u"), 0.8);
  assert.equal(parseFraction("0.01%", "u"), 0.0001);
  assert.equal(parseFraction(0.8, "u"), 0.8);
  assert.equal(parseFraction("1", "u"), 1);
  throwsUsage(() => parseFraction("80", "network.utilisation"), "network.utilisation", /80%/);
  throwsUsage(() => parseFraction("120%", "network.utilisation"), "network.utilisation");
  throwsUsage(() => parseFraction("-5%", "drives.afr"), "drives.afr");
  assert.equal(parseCount("15", "c"), 15);
  assert.equal(parseCount(4, "c"), 4);
  assert.equal(parseCount("0", "c", 0), 0);
  throwsUsage(() => parseCount("0", "drives.hosts"), "drives.hosts", /at least 1/);
  throwsUsage(() => parseCount("2.5", "drives.perHost"), "drives.perHost", /whole number/);
  throwsUsage(() => parseCount("-4", "drives.count"), "drives.count");
  assert.equal(parseNumber("0.62", "r"), 0.62);
  throwsUsage(() => parseNumber("-1", "data.compressRatio"), "data.compressRatio");
});

test("prices", () => {
  assert.deepEqual(parsePrice("$120", "p"), { amount: 120, basis: "each", currency: "$" });
  assert.deepEqual(parsePrice("120 EUR", "p"), { amount: 120, basis: "each", currency: "EUR" });
  assert.deepEqual(parsePrice("$500/month", "p"), { amount: 500, basis: "month", currency: "$" });
  assert.deepEqual(parsePrice("$500 per mo", "p"), { amount: 500, basis: "month", currency: "$" });
  const perGb = parsePrice("$0.09/GB", "p");
  assert.equal(perGb.basis, "byte");
  assert.ok(Math.abs(perGb.amount * 1e9 - 0.09) < 1e-12);
  const perTb = parsePrice("€20 per TB", "p");
  assert.equal(perTb.currency, "€");
  assert.ok(Math.abs(perTb.amount * 1e12 - 20) < 1e-9);
  assert.deepEqual(parsePrice(50, "p"), { amount: 50, basis: "each", currency: "" });
  throwsUsage(() => parsePrice("-$5", "drives.price"), "drives.price");
  throwsUsage(() => parsePrice("$5/parsec", "network.price"), "network.price", /basis/);
  throwsUsage(() => parsePrice("cheap", "network.price"), "network.price");
});

test("formatting", () => {
  assert.equal(formatBytes(80e12), "80.0 TB");
  assert.equal(formatBytes(300e9), "300 GB");
  assert.equal(formatBytes(1.78e12), "1.78 TB");
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatRate(12.5e6, true), "100 Mbit/s");
  assert.equal(formatRate(10e6, true), "80 Mbit/s");
  assert.equal(formatRate(1.25e9, true), "10 Gbit/s");
  assert.equal(formatRate(250e6), "250 MB/s");
  assert.equal(formatDuration(8e6), "92.6 d");
  assert.equal(formatDuration(3600 * 29.6), "29.6 h");
  assert.equal(formatDuration(1200), "20 min");
  assert.equal(formatDuration(5), "5 s");
  assert.equal(formatMoney(7200, "$"), "$7,200");
  assert.equal(formatMoney(12.5, "EUR"), "12.50 EUR");
  assert.equal(formatPercent(1 / 3), "33%");
  assert.equal(formatPercent(0.0042), "0.42%");
  assert.equal(formatPercent(1e-7), "<0.01%");
});
