import assert from "node:assert/strict";
import { test } from "node:test";
import { MATHIS_C, networkThroughput, tcpStreamCeiling, transferSeconds } from "./network.js";
import { parseBytes, parseRate } from "./units.js";

const DAY = 86400;
const near = (a: number, b: number, tol: number) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);

test("hand-checked: 80 TB over 100 Mbit/s at 80% takes ≈ 92.6 days", () => {
  const rate = networkThroughput({ bandwidth: parseRate("100 Mbit/s", "b"), utilisation: 0.8 }).rate;
  assert.equal(rate, 10e6); // 12.5 MB/s × 0.8
  const days = transferSeconds(parseBytes("80 TB", "s"), rate) / DAY;
  near(days, 92.59, 0.01); // 8,000,000 s
});

test("hand-checked: 82 TB at 100 MB/s takes ≈ 9.5 days", () => {
  const rate = networkThroughput({ bandwidth: parseRate("100 MB/s", "b"), utilisation: 1 }).rate;
  near(transferSeconds(82e12, rate) / DAY, 9.49, 0.01); // 820,000 s
});

test("hand-checked: 50 TB at 1 Gbit/s at 80% ≈ 5.8 days", () => {
  const rate = networkThroughput({ bandwidth: parseRate("1 Gbit/s", "b"), utilisation: 0.8 }).rate;
  near(transferSeconds(50e12, rate) / DAY, 5.79, 0.01); // 500,000 s
});

test("TCP window bound: one stream is window ÷ RTT; streams add up to the link", () => {
  const one = networkThroughput({ bandwidth: 1.25e9, utilisation: 1, rtt: 0.15, window: 6 * 2 ** 20 });
  assert.equal(one.limit, "window");
  near(one.rate, (6 * 2 ** 20) / 0.15, 1e-6); // ≈ 41.9 MB/s ≈ 335 Mbit/s
  assert.equal(one.streamsToFill, 30);
  const many = networkThroughput({
    bandwidth: 1.25e9,
    utilisation: 1,
    rtt: 0.15,
    window: 6 * 2 ** 20,
    streams: 30,
  });
  assert.equal(many.limit, "link");
  assert.equal(many.rate, 1.25e9);
});

test("Mathis bound: MSS/RTT × C/√p", () => {
  const c = tcpStreamCeiling(0.1, 1e-4, 64 * 2 ** 20, 1460);
  assert.equal(c.limit, "loss");
  near(c.rate, (1460 / 0.1) * (MATHIS_C / 0.01), 1e-6); // ≈ 1.79 MB/s ≈ 14.3 Mbit/s
  const t = networkThroughput({ bandwidth: 1.25e9, utilisation: 0.8, rtt: 0.1, loss: 1e-4, streams: 8 });
  assert.equal(t.limit, "loss");
  near(t.rate, 8 * c.rate, 1e-6);
  assert.equal(tcpStreamCeiling(0, 0.01).rate, Number.POSITIVE_INFINITY);
});

test("transferSeconds edge cases", () => {
  assert.equal(transferSeconds(0, 0), 0);
  assert.equal(transferSeconds(1, 0), Number.POSITIVE_INFINITY);
});
