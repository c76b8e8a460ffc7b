import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { type RawPlanInput, resolvePlanInput } from "./input.js";
import { type DirectionPlan, HYBRID_MARGIN, type OptionKind, planTransfer } from "./planner.js";

const DAY = 86400;
const near = (a: number, b: number, tol: number) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);
const plan = (raw: RawPlanInput) => planTransfer(resolvePlanInput(raw));
const opt = (d: DirectionPlan, k: OptionKind) => {
  const o = d.options.find((x) => x.kind === k);
  assert.ok(o, `option ${k} missing`);
  return o;
};

/** The seed's case: 80 TB on 60 drives in 4 bags of 15, a day door to door, against a 100 Mbit/s link. */
const SEED: RawPlanInput = {
  data: { size: "80 TB" },
  network: { bandwidth: "100 Mbit/s", utilisation: "80%" },
  drives: { capacity: "2 TB", write: "250 MB/s", read: "250 MB/s", count: 60, hosts: 1, perHost: 4 },
  couriers: { bags: 4, drivesPerBag: 15, doorToDoor: "24 h" },
};

test("network only: the hand-checked cases", () => {
  near(
    opt(
      plan({ data: { size: "80 TB" }, network: { bandwidth: "100 Mbit/s", utilisation: "80%" } }).outbound,
      "network",
    ).totalSeconds / DAY,
    92.59,
    0.01,
  );
  near(
    opt(
      plan({ data: { size: "82 TB" }, network: { bandwidth: "100 MB/s", utilisation: "100%" } }).outbound,
      "network",
    ).totalSeconds / DAY,
    9.49,
    0.01,
  );
  near(
    opt(
      plan({ data: { size: "50 TB" }, network: { bandwidth: "1 Gbit/s", utilisation: "80%" } }).outbound,
      "network",
    ).totalSeconds / DAY,
    5.79,
    0.01,
  );
});

test("the seed's case: drives win by weeks, with each stage's share shown", () => {
  const p = plan(SEED);
  const d = p.outbound;
  assert.equal(d.winner, "drives");
  const drv = opt(d, "drives");
  const net = opt(d, "network");
  assert.ok(net.totalSeconds - drv.totalSeconds > 14 * DAY, "drives should win by weeks");
  assert.match(
    d.why,
    /^Drives win: training can start in 4\.5 d instead of 92\.6 d over the network \(88\.\d d sooner\), because 60 drives/,
  );

  // 60 drives, 15 groups of 3 + 1 across the four bags; 80/45 TB per drive
  assert.equal(drv.drives?.count, 60);
  assert.equal(drv.drives?.bags.length, 4);
  assert.deepEqual(
    [drv.parity?.k, drv.parity?.m, drv.parity?.groups, drv.parity?.tolerate],
    [3, 1, 15, "bag"],
  );
  const per = 80e12 / 45;
  near(drv.drives!.perDriveBytes, per, 1);

  // stage by stage: pack = 15 waves of 4 drives × per/250 MB/s; transit 24 h; verify the same waves; ingest reads 45 data drives
  const wave = per / 250e6;
  const stage = (n: string) => drv.stages.find((s) => s.name === n)!;
  near(stage("pack").seconds, 15 * wave, 1e-6);
  assert.equal(stage("transit").seconds, DAY);
  near(stage("verify").seconds, 15 * wave, 1e-6);
  near(stage("ingest").seconds, 12 * wave, 1e-6); // ceil(45 / 4) = 12 waves
  near(drv.totalSeconds, 42 * wave + DAY, 1e-6);
  assert.equal(stage("transit").start, stage("pack").seconds);

  // shares add up to 100% and are reported for the drive timeline
  const shares = d.driveShares!;
  assert.deepEqual(
    shares.map((s) => s.name),
    ["pack", "transit", "verify", "ingest"],
  );
  near(
    shares.reduce((a, s) => a + s.share, 0),
    1,
    1e-9,
  );
  near(shares[0]!.share, (15 * wave) / drv.totalSeconds, 1e-9);

  // how many hosts write how many drives at once changes the answer, and the plan says so
  const [now, perHost2, hosts2] = d.whatIf!;
  assert.deepEqual([now!.hosts, now!.perHost, perHost2!.perHost, hosts2!.hosts], [1, 4, 8, 2]);
  near(hosts2!.packSeconds, 8 * wave, 1e-6);
  assert.ok(hosts2!.totalSeconds < now!.totalSeconds);
  assert.ok(
    d.notes.some((n) =>
      /Packing is 28% of the drive timeline with 1 host writing 4 drives at once \(15 waves\); 2 hosts would pack in 15\.8 h/.test(
        n,
      ),
    ),
  );
  assert.equal(d.minAtOnceToBeatNetwork, 1);

  // a hybrid barely helps here, and the plan says it is not worth it
  const hyb = opt(d, "hybrid");
  assert.ok(hyb.totalSeconds < drv.totalSeconds);
  assert.ok(drv.totalSeconds - hyb.totalSeconds < HYBRID_MARGIN * drv.totalSeconds);
  assert.ok(d.notes.some((n) => /not worth running two pipelines/.test(n)));

  // the layout for ferry pack
  assert.deepEqual(p.layout?.bags, [
    { name: "bag1", drives: 15 },
    { name: "bag2", drives: 15 },
    { name: "bag3", drives: 15 },
    { name: "bag4", drives: 15 },
  ]);
  assert.equal(p.layout?.tolerate, "bag");
  assert.deepEqual([p.layout?.k, p.layout?.m, p.layout?.groups.length], [3, 1, 15]);
});

test("the hosts can flip the answer: 1 Gbit/s against drives written one at a time", () => {
  // 80 TB at 1 Gbit/s takes 7.4 d; drives written 4 at once take 4.5 d, 1 at once 8.2 d
  const raw: RawPlanInput = { ...SEED, network: { bandwidth: "1 Gbit/s", utilisation: "100%" } };
  const fast = plan(raw).outbound;
  assert.notEqual(fast.winner, "network");
  assert.ok(opt(fast, "drives").totalSeconds < opt(fast, "network").totalSeconds);
  assert.equal(fast.minAtOnceToBeatNetwork, 2);
  assert.ok(
    fast.notes.some((n) => /with fewer than \d+ drives written at once the network would win/.test(n)),
  );
  const slow = plan({
    ...raw,
    drives: { ...raw.drives, hosts: 1, perHost: 1 },
    destination: { drivesAtOnce: 4 },
  }).outbound;
  assert.ok(opt(slow, "network").totalSeconds < opt(slow, "drives").totalSeconds);
  assert.ok(
    slow.notes.some((n) =>
      /writing \d+ or more drives at once \(now 1\) would make drives beat the network/.test(n),
    ),
  );
});

test("destination ingest and handling are stages of the drive timeline", () => {
  const p = plan({
    ...SEED,
    couriers: { ...SEED.couriers, handling: "6 h" },
    destination: { servers: 2, perServer: "200 MB/s", drivesAtOnce: 8 },
  });
  const drv = opt(p.outbound, "drives");
  assert.deepEqual(
    drv.stages.map((s) => s.name),
    ["pack", "handover", "transit", "receive", "verify", "ingest"],
  );
  near(drv.stages.find((s) => s.name === "ingest")!.seconds, 80e12 / 400e6, 1e-6);
  near(drv.stages.find((s) => s.name === "verify")!.seconds, 8 * (80e12 / 45 / 250e6), 1e-6);
  // the network is also limited by the destination
  const net = opt(
    plan({
      data: { size: "80 TB" },
      network: { bandwidth: "10 Gbit/s", utilisation: "100%" },
      destination: { objectStore: "500 MB/s" },
    }).outbound,
    "network",
  );
  near(net.totalSeconds, 80e12 / 500e6, 1e-6);
  assert.match(net.stages[0]!.detail, /limited by object store/);
});

test("a scan's file count adds a scan stage; compression and duplicates shrink what is carried", () => {
  const i = resolvePlanInput(
    { data: { scanRate: "5000 files/s" }, network: { bandwidth: "1 Gbit/s", utilisation: "100%" } },
    { files: 1_000_000, bytes: 10e12, compressRatio: 0.5, duplicateFraction: 0.2 },
  );
  const p = planTransfer(i);
  assert.equal(p.outbound.packedBytes, 10e12 * 0.8 * 0.5);
  const net = opt(p.outbound, "network");
  assert.equal(net.stages[0]!.name, "scan");
  assert.equal(net.stages[0]!.seconds, 200);
  near(net.totalSeconds, 200 + 4e12 / 125e6, 1e-6);
  assert.equal(net.wireBytes, 4e12);
});

test("a hybrid wins when the network carries a real share in the same time", () => {
  // the seed's drives against a 1 Gbit/s link: network 9.3 d, drives 4.5 d, both together 3.2 d
  const p = plan({ ...SEED, network: { bandwidth: "1 Gbit/s", utilisation: "80%" } });
  const d = p.outbound;
  const hyb = opt(d, "hybrid");
  const singles = d.options.filter((o) => o.kind !== "hybrid").map((o) => o.totalSeconds);
  assert.ok(hyb.totalSeconds < Math.min(...singles) * (1 - HYBRID_MARGIN));
  assert.equal(d.winner, "hybrid");
  assert.match(d.why, /^Hybrid wins: \d+ drives carry .* while the network carries .* in the same time/);
  assert.ok(hyb.networkShare > 0 && hyb.networkShare < 1);
  near(hyb.wireBytes + hyb.driveBytes, 80e12, 1);
  near(hyb.totalSeconds / DAY, 3.2, 0.05);
  // both lanes end at about the same time
  const netEnd = hyb.stages
    .filter((s) => s.lane === "network")
    .reduce((a, s) => Math.max(a, s.start + s.seconds), 0);
  const drvEnd = hyb.stages
    .filter((s) => s.lane === "drives")
    .reduce((a, s) => Math.max(a, s.start + s.seconds), 0);
  assert.ok(Math.abs(netEnd - drvEnd) < 0.1 * hyb.totalSeconds);
  assert.equal(p.layout?.option, "hybrid");
});

test("bringing results back: the network wins for 300 GB, drives are reused", () => {
  const p = plan({
    ...SEED,
    return: "300 GB",
    couriers: { ...SEED.couriers, price: "$400" },
    drives: { ...SEED.drives, price: "$120" },
  });
  const r = p.return!;
  assert.equal(r.direction, "return");
  assert.equal(r.winner, "network");
  near(opt(r, "network").totalSeconds, 300e9 / 10e6, 1e-6);
  assert.match(r.why, /^The network wins: the results are back in 8\.3 h instead of/);
  const drv = opt(r, "drives");
  assert.equal(drv.drives?.bought, 0);
  assert.ok(drv.cost.items.every((i) => !/drives$/.test(i.what)));
  assert.ok(r.unavailable.some((u) => u.kind === "hybrid"));
  assert.ok(r.notes.some((n) => /reuses 2 of the 60 outbound drives/.test(n)));
});

test("cost: per-GB or monthly network, drives and couriers", () => {
  const p = plan({
    ...SEED,
    network: { ...SEED.network, price: "$0.05/GB" },
    drives: { ...SEED.drives, price: "$120" },
    couriers: { ...SEED.couriers, price: "$400" },
  });
  near(opt(p.outbound, "network").cost.total, 4000, 1e-6);
  assert.equal(opt(p.outbound, "drives").cost.total, 60 * 120 + 4 * 400);
  const monthly = plan({ ...SEED, network: { ...SEED.network, price: "$1000/month" } });
  near(opt(monthly.outbound, "network").cost.total, (1000 * 8e6) / (30.4375 * DAY), 1e-6);
  assert.deepEqual(opt(monthly.outbound, "drives").cost.missing, ["drives.price", "couriers.price"]);
});

test("re-ship chance grows with bag loss and shrinks with parity", () => {
  const base = {
    ...SEED,
    drives: { ...SEED.drives, afr: "0%" },
    couriers: { ...SEED.couriers, bagLoss: "1%" },
  };
  const bag = opt(plan({ ...base, tolerate: "bag" }).outbound, "drives").reshipProbability;
  const two = opt(plan({ ...base, tolerate: "2" }).outbound, "drives").reshipProbability;
  near(bag, 1 - (0.99 ** 4 + 4 * 0.01 * 0.99 ** 3), 1e-12); // two of four bags lost
  assert.ok(two > 0.039 && two < 0.04, `one lost bag of 15 drives sinks a 2-drive-parity set: ${two}`);
  assert.ok(opt(plan(SEED).outbound, "drives").reshipProbability < 1e-4);
  // with drive failures too, a lost bag leaves no spare: slightly more likely
  const withAfr = opt(
    plan({ ...base, drives: SEED.drives, tolerate: "bag" }).outbound,
    "drives",
  ).reshipProbability;
  assert.ok(withAfr > bag && withAfr < 2 * bag);
});

test("more data than the drives hold is a clear error naming drives.count", () => {
  assert.throws(
    () => plan({ ...SEED, data: { size: "120 TB" }, tolerate: "bag" }),
    (e) =>
      FerryError.is(e, "E_USAGE") && e.message.includes("drives.count") && /packs to 120 TB/.test(e.message),
  );
  assert.throws(
    () => plan({ ...SEED, data: { size: "200 TB" } }),
    (e) => FerryError.is(e, "E_USAGE") && e.message.includes("drives.count"),
  );
  assert.throws(
    () => plan({ ...SEED, couriers: { ...SEED.couriers, bags: 1, drivesPerBag: 60 }, tolerate: "bag" }),
    (e) => FerryError.is(e, "E_POLICY") && /only one bag/.test(e.message),
  );
});

test("with only one option, it is the winner and the sentence says why", () => {
  const n = plan({
    data: { size: "50 TB" },
    network: { bandwidth: "1 Gbit/s", utilisation: "80%" },
  }).outbound;
  assert.equal(n.winner, "network");
  assert.equal(n.options.length, 1);
  assert.match(n.why, /^Only the network was described/);
  assert.deepEqual(
    n.unavailable.map((u) => u.kind),
    ["drives", "hybrid"],
  );
  const d = plan({
    data: { size: "10 TB" },
    drives: { capacity: "4 TB", write: "200 MB/s" },
    couriers: { doorToDoor: "2 d" },
  });
  assert.equal(d.outbound.winner, "drives");
  assert.ok(d.layout);
  assert.equal(d.outbound.minAtOnceToBeatNetwork, undefined);
});

test("a slow TCP stream is reported with the streams needed to fill the link", () => {
  const d = plan({
    data: { size: "10 TB" },
    network: { bandwidth: "10 Gbit/s", utilisation: "100%", rtt: "150 ms", loss: "0.001%" },
  }).outbound;
  const t = opt(d, "network").network!;
  assert.equal(t.limit, "loss");
  assert.ok(d.notes.some((n) => new RegExp(`${t.streamsToFill} parallel streams`).test(n)));
});
