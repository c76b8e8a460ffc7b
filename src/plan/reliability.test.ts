import assert from "node:assert/strict";
import { test } from "node:test";
import { binomialCdf, driveFailureProbability, reshipProbability } from "./reliability.js";

const near = (a: number, b: number, tol: number) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);
const YEAR = 365.25 * 86400;

test("drive failure over a trip from AFR", () => {
  near(driveFailureProbability(0.015, YEAR), 0.015, 1e-12);
  near(driveFailureProbability(0.015, 2 * YEAR), 1 - 0.985 ** 2, 1e-12);
  near(driveFailureProbability(0.015, 7 * 86400), 1 - 0.985 ** (7 / 365.25), 1e-12);
  assert.equal(driveFailureProbability(0, YEAR), 0);
  assert.equal(driveFailureProbability(0.02, 0), 0);
});

test("binomial CDF", () => {
  near(binomialCdf(0, 4, 0.1), 0.9 ** 4, 1e-12);
  near(binomialCdf(1, 4, 0.1), 0.9 ** 4 + 4 * 0.1 * 0.9 ** 3, 1e-12);
  assert.equal(binomialCdf(-1, 4, 0.1), 0);
  assert.equal(binomialCdf(4, 4, 0.1), 1);
});

test("re-ship: drive failures only", () => {
  // one group of 4 drives, m=1: fails when 2+ drives fail
  const p = 0.01;
  const expected = 1 - (0.99 ** 4 + 4 * p * 0.99 ** 3);
  near(reshipProbability([{ bags: ["a", "a", "b", "b"], m: 1 }], p, 0), expected, 1e-12);
  // no parity: any failure
  near(reshipProbability([{ bags: ["a", "b"], m: 0 }], p, 0), 1 - 0.99 ** 2, 1e-12);
});

test("re-ship: bag loss against a per-bag layout", () => {
  // 3 groups with one drive in each of 4 bags, m=1: survives any one bag, fails on two or more
  const groups = [0, 1, 2].map(() => ({ bags: ["a", "b", "c", "d"], m: 1 }));
  const q = 0.01;
  const atMostOne = (1 - q) ** 4 + 4 * q * (1 - q) ** 3;
  near(reshipProbability(groups, 0, q), 1 - atMostOne, 1e-12);
  // the same drives in one group with m = 1 (tolerate one drive) die with any lost bag
  near(reshipProbability([{ bags: ["a", "a", "b", "b"], m: 1 }], 0, q), 1 - (1 - q) ** 2, 1e-12);
});
