import assert from "node:assert/strict";
import { test } from "node:test";
import { type RawPlanInput, resolvePlanInput } from "./input.js";
import { layoutFile, planToJson, readLayout } from "./plan_file.js";
import { planTransfer } from "./planner.js";
import { escapeXml, renderPlanHtml, renderPlanSvg, renderTimelineSvg, STAGE_COLORS } from "./render_html.js";
import { formatCost, renderPlanText, renderTextTimeline } from "./render_text.js";

const SEED: RawPlanInput = {
  data: { size: "80 TB" },
  network: { bandwidth: "100 Mbit/s", utilisation: "80%", price: "$0.05/GB" },
  drives: { capacity: "2 TB", write: "250 MB/s", count: 60, hosts: 1, perHost: 4, price: "$120" },
  couriers: { bags: 4, drivesPerBag: 15, doorToDoor: "24 h", price: "$400" },
  return: "300 GB",
};
const HYBRID: RawPlanInput = { ...SEED, network: { bandwidth: "1 Gbit/s", utilisation: "80%" } };

/** Tags must balance: a cheap well-formedness check for the markup we generate. */
function assertBalanced(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>/, "").replace(/<!doctype[^>]*>/i, "");
  const voids = new Set(["meta", "br", "link", "img", "input", "hr"]);
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self || voids.has(name!.toLowerCase())) continue;
    if (close) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

test("the SVG timeline renders every option and every stage", () => {
  const plan = planTransfer(resolvePlanInput(HYBRID));
  const svg = renderTimelineSvg(plan.outbound);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assertBalanced(svg);
  for (const label of ["network only", "drives only", "hybrid: network", "hybrid: drives"]) {
    assert.ok(svg.includes(`${label}</text>`) || svg.includes(`★ ${label}</text>`), `missing row ${label}`);
  }
  for (const kind of ["network", "drives", "hybrid"]) assert.ok(svg.includes(`data-option="${kind}"`));
  assert.match(svg, /data-option="hybrid" data-winner="true"/);
  for (const stage of ["transfer", "pack", "transit", "verify", "ingest"]) {
    assert.ok(svg.includes(`data-stage="${stage}"`), `missing stage ${stage}`);
    assert.ok(svg.includes(STAGE_COLORS[stage as keyof typeof STAGE_COLORS]));
  }
  // bar widths are proportional: drives-only pack is 15 waves of 4 drives
  assert.ok(!/NaN|undefined|Infinity/.test(svg));
});

test("the standalone SVG stacks all charts, zooming when one option dwarfs the rest", () => {
  const plan = planTransfer(resolvePlanInput(SEED));
  const svg = renderPlanSvg(plan);
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns/);
  assertBalanced(svg);
  assert.ok(svg.includes("Outbound: 80.0 TB"));
  assert.ok(svg.includes("Outbound, zoomed to the first"));
  assert.ok(svg.includes("Return: 300 GB"));
  assert.ok(!/NaN|undefined|Infinity/.test(svg));
});

test("the HTML page is self-contained and shows each option, the verdict and the shares", () => {
  const plan = planTransfer(resolvePlanInput(SEED));
  const html = renderPlanHtml(plan);
  assert.match(html, /^<!doctype html>/);
  assertBalanced(html);
  assert.ok(!/<script|<link|src=|href=|@import|url\(/i.test(html), "no external assets or scripts");
  assert.ok((html.match(/<svg /g) ?? []).length >= 3);
  for (const label of ["network only", "drives only", "hybrid"])
    assert.ok(html.includes(label), `missing ${label}`);
  assert.ok(html.includes(escapeXml(plan.outbound.why)));
  assert.ok(html.includes(escapeXml(plan.return!.why)));
  assert.ok(html.includes("Drives only, stage by stage"));
  assert.match(html, /<td>28%<\/td>/); // pack's share of the drive timeline
  assert.ok(html.includes("ferry pack --plan plan.json"));
  assert.ok(!/NaN|undefined/.test(html));
});

test("escapeXml", () => {
  assert.equal(escapeXml(`<a & "b" 'c'>`), "&lt;a &amp; &quot;b&quot; &#39;c&#39;&gt;");
});

test("the terminal table shows each option, the stage shares, the timeline and the verdict", () => {
  const plan = planTransfer(resolvePlanInput(SEED));
  const text = renderPlanText(plan, { width: 100 });
  assert.match(text, /^OUTBOUND: 80\.0 TB\n/);
  assert.match(text, /training can start\s+92\.6 d\s+4\.5 d\s+4\.3 d/);
  assert.match(text, /drives only ★/);
  assert.match(text, /pack\s+0 s\s+29\.6 h\s+28%\s+60 drives, 4 at once: 15 waves/);
  assert.match(text, /transit\s+29\.6 h\s+24\.0 h\s+22%/);
  assert.match(text, /cost\s+\$4,000\s+\$8,800/);
  assert.match(text, /▶ Drives win: training can start in 4\.5 d instead of 92\.6 d/);
  assert.match(text, /RETURN: 300 GB of results/);
  assert.match(text, /▶ The network wins: the results are back in 8\.3 h/);
  assert.match(text, /Assumed/);
  const lines = renderTextTimeline(plan.outbound, 60);
  assert.match(lines[0]!, /^network only\s+={60} 92\.6 d$/);
  assert.match(lines[1]!, /^drives only\s+P+>+V+I+ 4\.5 d$/);
});

test("formatCost marks missing prices", () => {
  assert.equal(
    formatCost({
      total: 7200,
      items: [{ what: "x", amount: 7200 }],
      missing: ["couriers.price"],
      currency: "$",
    }),
    "$7,200 + ?",
  );
  assert.equal(formatCost({ total: 0, items: [], missing: ["network.price"], currency: "$" }), "?");
  assert.equal(formatCost({ total: 0, items: [], missing: [], currency: "$" }), "$0");
});

test("JSON output and the layout file carry the layout ferry pack reads", () => {
  const plan = planTransfer(resolvePlanInput(SEED));
  const json = planToJson(plan);
  const text = JSON.stringify(json);
  assert.ok(!text.includes('"geometry"'));
  const back = JSON.parse(text);
  assert.equal(back.kind, "ferry-plan");
  assert.equal(back.layout.tolerate, "bag");
  assert.deepEqual(
    back.layout.bags.map((b: { drives: number }) => b.drives),
    [15, 15, 15, 15],
  );
  assert.equal(back.layout.k, 3);
  assert.equal(back.layout.m, 1);
  assert.equal(back.layout.groups.length, 15);
  assert.equal(back.outbound.winner, "drives");
  assert.equal(back.return.winner, "network");
  assert.equal(readLayout(back).tolerate, "bag");

  const file = layoutFile(plan);
  assert.equal(file.layout.drives, 60);
  assert.equal(file.summary.winner, "drives");
  assert.deepEqual(readLayout(JSON.parse(JSON.stringify(file))), JSON.parse(JSON.stringify(file.layout)));
  assert.throws(() => readLayout({ layout: { tolerate: "bag" } }), /no drive layout/);
  assert.throws(
    () =>
      layoutFile(
        planTransfer(resolvePlanInput({ data: { size: "1 TB" }, network: { bandwidth: "1 Gbit/s" } })),
      ),
    /no drive layout/,
  );
});
