import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { balancedBags, balancedDataDrives, driveWaves, sizeDriveSet } from "./drives.js";
import { geometryCandidates, parseTolerance } from "./geometry.js";

test("balancedBags spreads drives evenly, larger bags first", () => {
  assert.deepEqual(
    balancedBags(61, 5).map((b) => b.drives),
    [13, 12, 12, 12, 12],
  );
  assert.deepEqual(balancedBags(4, 2), [
    { name: "bag1", drives: 2 },
    { name: "bag2", drives: 2 },
  ]);
});

test("balancedDataDrives agrees with geometryCandidates", () => {
  for (const tol of ["0", "1", "2", "bag", "bag+1", "bag+2"]) {
    const p = parseTolerance(tol);
    for (let b = 1; b <= 9; b++) {
      for (let n = b; n <= b * 5; n++) {
        const best = geometryCandidates(
          balancedBags(n, b).map((x) => x.drives),
          p,
        )[0];
        assert.equal(
          balancedDataDrives(n, b, p),
          best ? best.k * best.groups : undefined,
          `${n} drives, ${b} bags, ${tol}`,
        );
      }
    }
  }
});

test("the seed's set: 60 drives in 4 bags of 15 hold 80 TB with a bag of parity", () => {
  const set = sizeDriveSet(80e12, {
    usable: 1.96e12,
    count: 60,
    bags: 4,
    drivesPerBag: 15,
    tolerate: parseTolerance("bag"),
  });
  assert.equal(set.drives, 60);
  assert.equal(set.geometry.groups.length, 15);
  assert.equal(set.dataDrives, 45);
  assert.ok(Math.abs(set.perDriveBytes - 80e12 / 45) < 1);
  assert.ok(Math.abs(set.rawBytes - (80e12 * 4) / 3) < 1e3);
});

test("a fixed set that is too small names drives.count", () => {
  assert.throws(
    () =>
      sizeDriveSet(120e12, {
        usable: 1.96e12,
        count: 60,
        bags: 4,
        drivesPerBag: 15,
        tolerate: parseTolerance("bag"),
      }),
    (e) =>
      FerryError.is(e, "E_USAGE") &&
      e.message.includes("drives.count") &&
      /60 drives .* hold 88\.2 TB of data .* packs to 120 TB/.test(e.message),
  );
});

test("without a policy a fixed set falls back from bag to fewer drives", () => {
  // 60 × 1.96 TB = 117.6 TB raw: a bag of parity leaves 88.2 TB, 2 drives of parity leave 113.7 TB
  const set = sizeDriveSet(100e12, { usable: 1.96e12, count: 60, bags: 4, drivesPerBag: 15 });
  assert.equal(set.geometry.tolerate, "2");
  // one bag: tolerate one drive
  assert.equal(
    sizeDriveSet(1e12, { usable: 2e12, count: 3, bags: 1, drivesPerBag: 15 }).geometry.tolerate,
    "2",
  );
  assert.equal(
    sizeDriveSet(1e12, { usable: 2e12, count: 2, bags: 1, drivesPerBag: 15 }).geometry.tolerate,
    "1",
  );
  assert.equal(
    sizeDriveSet(1e12, { usable: 2e12, count: 1, bags: 1, drivesPerBag: 15 }).geometry.tolerate,
    "0",
  );
});

test("free sizing: fewest bags, then fewest drives", () => {
  // 80 TB on 1.96 TB drives, ≤ 15 per bag, tolerate bag: 3 bags hold at most 45 drives → 58.8 TB; 4 bags needed
  const set = sizeDriveSet(80e12, { usable: 1.96e12, drivesPerBag: 15, tolerate: parseTolerance("bag") });
  assert.equal(set.bags.length, 4);
  assert.ok(set.dataDrives * 1.96e12 >= 80e12);
  assert.ok(set.drives <= 56);
  // tolerate 2: 43 drives fit in 3 bags
  const two = sizeDriveSet(80e12, { usable: 1.96e12, drivesPerBag: 15, tolerate: parseTolerance("2") });
  assert.deepEqual([two.bags.length, two.drives, two.dataDrives], [3, 43, 41]);
  // a fixed bag count
  const fixed = sizeDriveSet(10e12, {
    usable: 2e12,
    bags: 3,
    drivesPerBag: 15,
    tolerate: parseTolerance("bag"),
  });
  // 8 drives as 3+3+2: one group, m = 3 (the largest bag), k = 5 → exactly 10 TB
  assert.deepEqual([fixed.bags.length, fixed.drives, fixed.dataDrives], [3, 8, 5]);
  assert.throws(
    () => sizeDriveSet(100e12, { usable: 2e12, bags: 2, drivesPerBag: 15, tolerate: parseTolerance("bag") }),
    (e) => FerryError.is(e, "E_USAGE") && e.message.includes("couriers.bags"),
  );
});

test("driveWaves: drives go in waves of hosts × per host, capped by the host rate", () => {
  const w = driveWaves(60, 80e12 / 45, 1, 4, 250e6);
  assert.equal(w.waves, 15);
  assert.equal(w.atOnce, 4);
  assert.ok(Math.abs(w.seconds - 15 * (80e12 / 45 / 250e6)) < 1e-6);
  assert.equal(w.limit, "drive");
  const two = driveWaves(60, 80e12 / 45, 2, 4, 250e6);
  assert.equal(two.waves, 8);
  const capped = driveWaves(60, 80e12 / 45, 1, 8, 250e6, 1e9);
  assert.equal(capped.limit, "host");
  assert.equal(capped.perDriveRate, 125e6);
  assert.equal(driveWaves(0, 1, 1, 1, 1).seconds, 0);
});
