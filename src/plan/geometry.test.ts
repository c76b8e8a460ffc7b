import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import {
  type BagSpec,
  chooseGeometry,
  formatTolerance,
  geometryCandidates,
  parseTolerance,
} from "./geometry.js";

const bags = (...sizes: number[]): BagSpec[] => sizes.map((d, i) => ({ name: `bag${i + 1}`, drives: d }));

test("parseTolerance accepts N, bag, bag+N and round-trips", () => {
  assert.deepEqual(parseTolerance("2"), { kind: "drives", drives: 2 });
  assert.deepEqual(parseTolerance("0"), { kind: "drives", drives: 0 });
  assert.deepEqual(parseTolerance("bag"), { kind: "bag", extra: 0 });
  assert.deepEqual(parseTolerance("BAG+1"), { kind: "bag", extra: 1 });
  for (const s of ["2", "bag", "bag+3"]) assert.equal(formatTolerance(parseTolerance(s)), s);
  for (const s of ["", "two", "bag-1", "-1", "bag+", "1.5"]) {
    assert.throws(
      () => parseTolerance(s),
      (e) => FerryError.is(e, "E_USAGE") && /tolerate/.test(e.message),
    );
  }
});

test("12 drives in 4 bags of 3, tolerate bag → 3 groups of k=3, m=1 (33%)", () => {
  const g = chooseGeometry(bags(3, 3, 3, 3), parseTolerance("bag"));
  assert.equal(g.groups.length, 3);
  for (const [j, grp] of g.groups.entries()) {
    assert.equal(grp.k, 3);
    assert.equal(grp.m, 1);
    assert.deepEqual(
      grp.drives,
      ["bag1", "bag2", "bag3", "bag4"].map((bag) => ({ bag, index: j })),
    );
  }
  assert.ok(Math.abs(g.overhead - 1 / 3) < 1e-12);
  assert.equal(g.shape, "across-bags");
  assert.equal(g.tolerate, "bag");
  assert.match(
    g.description,
    /3 stripe groups .* 3 data \+ 1 parity each: survives losing any one of the 4 bags; 33\.3% overhead/,
  );
});

test("12 drives in 4 bags of 3, tolerate 2 → one group k=10, m=2", () => {
  const g = chooseGeometry(bags(3, 3, 3, 3), parseTolerance("2"));
  assert.equal(g.groups.length, 1);
  assert.equal(g.groups[0]!.k, 10);
  assert.equal(g.groups[0]!.m, 2);
  assert.equal(g.groups[0]!.drives.length, 12);
  assert.deepEqual(g.groups[0]!.drives.slice(0, 4), [
    { bag: "bag1", index: 0 },
    { bag: "bag1", index: 1 },
    { bag: "bag1", index: 2 },
    { bag: "bag2", index: 0 },
  ]);
  assert.equal(g.overhead, 0.2);
});

test("one bag and tolerate bag → E_POLICY with a hint", () => {
  assert.throws(
    () => chooseGeometry(bags(5), parseTolerance("bag")),
    (e) =>
      FerryError.is(e, "E_POLICY") &&
      e.message === "cannot tolerate losing a bag with only one bag" &&
      /second bag|--tolerate N/.test(e.hint ?? ""),
  );
});

test("bag+N: single group m = largest bag + N; across bags m = 1 + N", () => {
  // 4 bags of 3, bag+1: single m=4,k=8 (50%); across m=2,k=2 (100%) → single
  const a = chooseGeometry(bags(3, 3, 3, 3), parseTolerance("bag+1"));
  assert.equal(a.groups.length, 1);
  assert.deepEqual([a.groups[0]!.k, a.groups[0]!.m], [8, 4]);
  // 6 bags of 2, bag+1: single m=3,k=9 (33%); across 2 groups m=2,k=4 (50%) → single
  const b = chooseGeometry(bags(2, 2, 2, 2, 2, 2), parseTolerance("bag+1"));
  assert.deepEqual([b.groups.length, b.groups[0]!.k, b.groups[0]!.m], [1, 9, 3]);
  // 10 bags of 15, bag+1: single m=16,k=134 (11.9%); across 15 groups m=2,k=8 (25%) → single
  const c = chooseGeometry(bags(...new Array(10).fill(15)), parseTolerance("bag+1"));
  assert.deepEqual([c.groups.length, c.groups[0]!.m], [1, 16]);
});

test("uneven bags: only the single-group candidate exists", () => {
  const g = chooseGeometry(bags(3, 2), parseTolerance("bag"));
  assert.equal(g.groups.length, 1);
  assert.deepEqual([g.groups[0]!.k, g.groups[0]!.m], [2, 3]);
  assert.equal(g.shape, "single");
});

test("tie on overhead prefers more groups; tolerate 0 means no parity", () => {
  const g = chooseGeometry(bags(2, 2), parseTolerance("0"));
  assert.equal(g.groups.length, 2);
  assert.equal(g.overhead, 0);
  // 4 bags of 15 tolerate bag: single m=15,k=45 and across m=1,k=3 are both 33% → 15 groups
  const seed = chooseGeometry(bags(15, 15, 15, 15), parseTolerance("bag"));
  assert.equal(seed.groups.length, 15);
  assert.deepEqual([seed.groups[0]!.k, seed.groups[0]!.m], [3, 1]);
});

test("every drive appears in exactly one group", () => {
  for (const [sizes, tol] of [
    [[3, 3, 3, 3], "bag"],
    [[4, 4], "1"],
    [[5, 3, 2], "bag"],
    [[15, 15, 15, 15], "2"],
  ] as const) {
    const g = chooseGeometry(bags(...sizes), parseTolerance(tol));
    const seen = g.groups.flatMap((x) => x.drives.map((d) => `${d.bag}#${d.index}`));
    assert.equal(
      seen.length,
      sizes.reduce((a, b) => a + b, 0),
    );
    assert.equal(new Set(seen).size, seen.length);
    for (const grp of g.groups) assert.equal(grp.k + grp.m, grp.drives.length);
  }
});

test("impossible policies and bad bags are clear errors", () => {
  assert.throws(
    () => chooseGeometry(bags(1, 1), parseTolerance("2")),
    (e) => FerryError.is(e, "E_POLICY") && /2 drives with 2 drives in 2 bags/.test(e.message),
  );
  assert.throws(
    () => chooseGeometry(bags(1, 1), parseTolerance("bag+1")),
    (e) => FerryError.is(e, "E_POLICY"),
  );
  // 300 drives in uneven bags: the single group would exceed 256
  assert.throws(
    () => chooseGeometry(bags(150, 149, 1), parseTolerance("2")),
    (e) => FerryError.is(e, "E_POLICY") && /256/.test(e.message),
  );
  // 300 drives in 20 even bags of 15: across-bag groups of 20 are fine
  assert.equal(chooseGeometry(bags(...new Array(20).fill(15)), parseTolerance("2")).groups.length, 15);
  assert.throws(
    () => chooseGeometry([], parseTolerance("1")),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(
    () => chooseGeometry(bags(0, 2), parseTolerance("1")),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.throws(
    () =>
      chooseGeometry(
        [
          { name: "a", drives: 1 },
          { name: "a", drives: 1 },
        ],
        parseTolerance("1"),
      ),
    (e) => FerryError.is(e, "E_USAGE") && /twice/.test(e.message),
  );
});

test("geometryCandidates lists valid candidates best first", () => {
  const c = geometryCandidates([3, 3, 3, 3], { kind: "bag", extra: 0 });
  assert.deepEqual(
    c.map((x) => [x.shape, x.groups, x.k, x.m]),
    [
      ["across-bags", 3, 3, 1],
      ["single", 1, 9, 3],
    ],
  );
});
