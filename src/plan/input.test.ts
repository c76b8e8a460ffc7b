import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../errors.js";
import { checkRawPlan, mergeRawPlans, resolvePlanInput } from "./input.js";

function usageNaming(field: string, re?: RegExp) {
  return (e: unknown) => {
    assert.ok(FerryError.is(e, "E_USAGE"), `expected E_USAGE, got ${String(e)}`);
    assert.ok(e.message.includes(field), `"${e.message}" should name ${field}`);
    if (re) assert.match(e.message, re);
    return true;
  };
}

const drives = { capacity: "2 TB", write: "250 MB/s" };
const couriers = { doorToDoor: "24 h" };

test("resolves units into bytes, bytes/s and seconds, and lists assumptions", () => {
  const i = resolvePlanInput({
    data: { size: "80 TB" },
    network: { bandwidth: "100 Mbit/s" },
    drives: { ...drives, count: 60, price: "$120" },
    couriers: { ...couriers, bags: 4, drivesPerBag: 15, handling: "4 h" },
    destination: { servers: 4, perServer: "500 MB/s" },
    return: "300 GB",
  });
  assert.equal(i.data.bytes, 80e12);
  assert.equal(i.network?.bandwidth, 12.5e6);
  assert.equal(i.network?.utilisation, 0.8);
  assert.equal(i.drives?.usable, 2e12 * 0.98);
  assert.equal(i.drives?.count, 60);
  assert.equal(i.couriers.doorToDoor, 86400);
  assert.equal(i.couriers.handling, 14400);
  assert.equal(i.destination.rate, 2e9);
  assert.equal(i.destination.drivesAtOnce, 4);
  assert.equal(i.return?.bytes, 300e9);
  assert.equal(i.return?.network, i.network);
  assert.equal(i.currency, "$");
  assert.ok(i.assumptions.some((a) => a.includes("network.utilisation")));
  assert.ok(i.assumptions.some((a) => a.includes("drives.hosts")));
});

test("bad input names the field", () => {
  assert.throws(
    () => resolvePlanInput({ data: { size: "-3 TB" }, network: { bandwidth: "1 Gbit/s" } }),
    usageNaming("data.size", /negative.*-3 TB/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "0 TB" }, network: { bandwidth: "1 Gbit/s" } }),
    usageNaming("data.size", /greater than zero/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, network: { bandwidth: "0 Mbit/s" } }),
    usageNaming("network.bandwidth (--bandwidth)", /greater than zero/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, network: { bandwidth: "0" } }),
    usageNaming("network.bandwidth"),
  );
  assert.throws(
    () =>
      resolvePlanInput({ data: { size: "80 TB" }, network: { bandwidth: "1 Gbit/s", utilisation: "0%" } }),
    usageNaming("network.utilisation"),
  );
  assert.throws(
    () => resolvePlanInput({ network: { bandwidth: "1 Gbit/s" } }),
    usageNaming("data.size", /missing/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" } }),
    usageNaming("network.bandwidth", /nothing to plan/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, drives: { write: "250 MB/s" }, couriers }),
    usageNaming("drives.capacity", /missing/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, drives: { capacity: "2 TB" }, couriers }),
    usageNaming("drives.write", /missing/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, drives }),
    usageNaming("couriers.doorToDoor", /missing/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, drives: { ...drives, write: "0 MB/s" }, couriers }),
    usageNaming("drives.write"),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "80 TB" }, drives: { ...drives, hosts: 0 }, couriers }),
    usageNaming("drives.hosts"),
  );
  assert.throws(
    () =>
      resolvePlanInput({
        data: { size: "80 TB" },
        drives: { ...drives, count: 60 },
        couriers: { ...couriers, bags: 4, drivesPerBag: 10 },
      }),
    usageNaming("drives.count", /4 bags of 10 hold only 40/),
  );
  assert.throws(
    () =>
      resolvePlanInput({
        data: { size: "80 TB" },
        drives: { ...drives, count: 3 },
        couriers: { ...couriers, bags: 4 },
      }),
    usageNaming("couriers.bags"),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "1 TB" }, network: { bandwidth: "1 Gbit/s", loss: "0.1%" } }),
    usageNaming("network.rtt", /needed with network.loss/),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "1 TB" }, network: { bandwidth: "1 Gbit/s", price: "$5" } }),
    usageNaming("network.price", /basis/),
  );
  assert.throws(
    () =>
      resolvePlanInput({
        data: { size: "1 TB" },
        drives: { ...drives, price: "$100" },
        couriers: { ...couriers, price: "€300" },
      }),
    usageNaming("couriers.price", /one currency|in €/),
  );
  assert.throws(
    () =>
      resolvePlanInput({
        data: { size: "1 TB" },
        network: { bandwidth: "1 Gbit/s" },
        destination: { servers: 2, objectStore: "1 GB/s" },
      }),
    usageNaming("destination.objectStore"),
  );
  assert.throws(
    () => resolvePlanInput({ data: { size: "1 TB" }, network: { bandwidth: "1 Gbit/s" }, tolerate: "three" }),
    (e) => FerryError.is(e, "E_USAGE"),
  );
});

test("a scan supplies size, files, compressibility and duplicates; a size scales it", () => {
  const source = {
    root: "/d",
    files: 1000,
    bytes: 1e12,
    compressRatio: 0.5,
    duplicateFraction: 0.1,
    filesPerSecond: 5000,
  };
  const a = resolvePlanInput({ network: { bandwidth: "1 Gbit/s" } }, source);
  assert.equal(a.data.bytes, 1e12);
  assert.equal(a.data.files, 1000);
  assert.equal(a.data.compressRatio, 0.5);
  assert.equal(a.data.duplicateFraction, 0.1);
  assert.equal(a.data.scanRate, 5000);
  const b = resolvePlanInput(
    { data: { size: "10 TB", compressRatio: 0.8 }, network: { bandwidth: "1 Gbit/s" } },
    source,
  );
  assert.equal(b.data.bytes, 10e12);
  assert.equal(b.data.files, 10_000);
  assert.equal(b.data.compressRatio, 0.8);
  assert.throws(
    () => resolvePlanInput({ network: { bandwidth: "1 Gbit/s" } }, { files: 0, bytes: 0 }),
    usageNaming("data.source", /no data/),
  );
});

test("return trip overrides", () => {
  const i = resolvePlanInput({
    data: { size: "1 TB" },
    network: { bandwidth: "1 Gbit/s", utilisation: "50%" },
    return: { size: "300 GB", bandwidth: "10 Gbit/s", ingest: "1 GB/s" },
  });
  assert.equal(i.return?.network?.bandwidth, 1.25e9);
  assert.equal(i.return?.network?.utilisation, 0.5);
  assert.equal(i.return?.ingest, 1e9);
  assert.throws(
    () =>
      resolvePlanInput({
        data: { size: "1 TB" },
        network: { bandwidth: "1 Gbit/s" },
        return: { size: "-1 GB" },
      }),
    usageNaming("return.size"),
  );
});

test("checkRawPlan catches typos and aliases utilization", () => {
  assert.deepEqual(checkRawPlan({ network: { bandwidth: "1 Gbit/s", utilization: "70%" } }), {
    network: { bandwidth: "1 Gbit/s", utilisation: "70%" },
  });
  assert.throws(
    () => checkRawPlan({ network: { bandwith: "1 Gbit/s" } }, "plan.yaml"),
    usageNaming("network.bandwith", /plan\.yaml/),
  );
  assert.throws(() => checkRawPlan({ netwerk: {} }, "plan.yaml"), usageNaming("netwerk"));
  assert.throws(() => checkRawPlan({ data: "80 TB" }), usageNaming("data"));
  assert.throws(
    () => checkRawPlan([1, 2]),
    (e) => FerryError.is(e, "E_USAGE"),
  );
  assert.deepEqual(checkRawPlan({ return: "300 GB", tolerate: "bag" }), {
    return: "300 GB",
    tolerate: "bag",
  });
});

test("mergeRawPlans: later layers win key by key", () => {
  assert.deepEqual(
    mergeRawPlans(
      { network: { bandwidth: "1 Gbit/s", utilisation: "50%" }, return: "1 TB" },
      { network: { utilisation: "80%", rtt: undefined }, return: { ingest: "1 GB/s" } },
    ),
    { network: { bandwidth: "1 Gbit/s", utilisation: "80%" }, return: { size: "1 TB", ingest: "1 GB/s" } },
  );
});
