import assert from "node:assert/strict";
import { test } from "node:test";
import { BEGIN, END, renderResults, splice } from "./report.js";

test("report: latest record per case, totals, spliced between the markers", () => {
  const rec = (cases: number, wrongBytes = 0) =>
    JSON.stringify({
      cls: "bitrot",
      name: "flip",
      mode: "full",
      seed: 7,
      date: "2025-01-02T00:00:00Z",
      ms: 1500,
      cases,
      healed: cases,
      detected: 0,
      refused: 0,
      harmless: 0,
      wrongBytes,
    });
  const table = renderResults(`${rec(5)}\n${rec(9)}\n`);
  assert.match(table, /\| 2\. Bit rot \| flip \| 9 \| 9 \|/);
  assert.match(table, /seed 7/);
  assert.match(table, /Total: 9 cases, 0 with/);
  const doc = `a\n${BEGIN}\nold\n${END}\nb\n`;
  assert.equal(splice(doc, "T"), `a\n${BEGIN}\nT\n${END}\nb\n`);
});
