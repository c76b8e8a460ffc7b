/**
 * The terminal rendering of a plan: a side-by-side table of the options, the drive
 * timeline stage by stage with each stage's share, a text timeline, the winner and why.
 *
 * Pure functions, no I/O.
 */
import type { Cost, DirectionPlan, OptionPlan, Plan, Stage, StageName } from "./planner.js";
import { formatBytes, formatDuration, formatMoney, formatPercent, formatRate } from "./units.js";

/**
 * The letter each stage is drawn with in the text timeline.
 * @example
 * STAGE_GLYPHS.transit; // ">"
 */
export const STAGE_GLYPHS: Readonly<Record<StageName, string>> = {
  scan: "s",
  transfer: "=",
  pack: "P",
  handover: "h",
  transit: ">",
  receive: "h",
  verify: "V",
  ingest: "I",
};

/**
 * Options for {@link renderPlanText}.
 * @example
 * renderPlanText(plan, { width: 120 });
 */
export interface TextOptions {
  /** Characters per line for the timeline (default 100). */
  width?: number;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/**
 * Write a cost for people: "$7,200", "$7,200 + ?" when some prices are missing, "?" when all are.
 *
 * @param c the cost
 * @returns the text
 * @example
 * formatCost({ total: 7200, items: [{ what: "60 drives", amount: 7200 }], missing: ["couriers.price"], currency: "$" }); // "$7,200 + ?"
 */
export function formatCost(c: Cost): string {
  if (c.items.length === 0) return c.missing.length > 0 ? "?" : formatMoney(0, c.currency);
  return `${formatMoney(c.total, c.currency)}${c.missing.length > 0 ? " + ?" : ""}`;
}

function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) =>
    (indent + r.map((c, i) => (i === r.length - 1 ? c : pad(c, (widths[i] ?? 0) + 3))).join("")).trimEnd(),
  );
}

function parityShort(o: OptionPlan): string {
  const p = o.parity;
  if (!p) return "—";
  const groups = p.groups > 1 ? ` × ${p.groups}` : "";
  return `${p.k}+${p.m}${groups} (${formatPercent(p.overhead)}, tolerate ${p.tolerate})`;
}

function optionRows(dir: DirectionPlan): string[][] {
  const opts = dir.options;
  const head = ["", ...opts.map((o) => (o.kind === dir.winner ? `${o.label} ★` : o.label))];
  const row = (name: string, f: (o: OptionPlan) => string) => [name, ...opts.map(f)];
  return [
    head,
    row(dir.goal, (o) => formatDuration(o.totalSeconds)),
    row("on the wire", (o) => (o.wireBytes > 0 ? formatBytes(o.wireBytes) : "—")),
    row("on drives (packed)", (o) => (o.driveBytes > 0 ? formatBytes(o.driveBytes) : "—")),
    row("drives / bags", (o) =>
      o.drives
        ? `${o.drives.count} / ${o.drives.bags.length}${o.drives.bought < o.drives.count ? ` (buy ${o.drives.bought})` : ""}`
        : "—",
    ),
    row("per drive", (o) =>
      o.drives ? `${formatBytes(o.drives.perDriveBytes)} of ${formatBytes(o.drives.usable)}` : "—",
    ),
    row("parity", parityShort),
    row("re-ship chance", (o) => (o.drives ? formatPercent(o.reshipProbability) : "—")),
    row("cost", (o) => formatCost(o.cost)),
  ];
}

function stageTable(o: OptionPlan): string[] {
  const rows = [["stage", "start", "time", "share", "what"]];
  for (const s of o.stages) {
    const lane = o.kind === "hybrid" && s.lane !== "both" ? ` (${s.lane})` : "";
    rows.push([
      `${s.name}${lane}`,
      formatDuration(s.start),
      formatDuration(s.seconds),
      o.totalSeconds > 0 ? formatPercent(s.seconds / o.totalSeconds) : "—",
      s.detail,
    ]);
  }
  return table(rows, "    ");
}

function laneRows(o: OptionPlan): { name: string; stages: Stage[] }[] {
  if (o.kind !== "hybrid") return [{ name: o.label, stages: o.stages }];
  const shared = o.stages.filter((s) => s.lane === "both");
  return [
    { name: "hybrid: network", stages: [...shared, ...o.stages.filter((s) => s.lane === "network")] },
    { name: "hybrid: drives", stages: [...shared, ...o.stages.filter((s) => s.lane === "drives")] },
  ];
}

/**
 * A text timeline: one row per option (two for a hybrid), each stage drawn with its
 * {@link STAGE_GLYPHS} letter on a shared time axis; every stage that takes time gets at
 * least one character. With `until`, the axis stops there and longer rows end in "→".
 *
 * @param dir one direction of a plan
 * @param width characters for the bars
 * @param until seconds at the right edge (default: the longest option)
 * @returns lines
 * @example
 * renderTextTimeline(plan.outbound, 60).join("\n");
 * // network only  ============================================================ 92.6 d
 * // drives only   P>VI 4.5 d
 */
export function renderTextTimeline(dir: DirectionPlan, width = 60, until?: number): string[] {
  const lanes = dir.options.flatMap(laneRows);
  const end = until ?? Math.max(...dir.options.map((o) => o.totalSeconds), 1);
  const nameW = Math.max(...lanes.map((l) => l.name.length));
  const lines: string[] = [];
  for (const lane of lanes) {
    const stages = lane.stages.filter((s) => s.seconds > 0);
    const last = stages.reduce((a, s) => Math.max(a, s.start + s.seconds), 0);
    // Characters per stage: proportional, at least one each, summing to the lane's length.
    const raw = stages.map((s) => (s.seconds / end) * width);
    const counts = raw.map((r) => Math.max(1, Math.round(r)));
    const target = Math.max(stages.length, Math.round((last / end) * width));
    let sum = counts.reduce((a, b) => a + b, 0);
    while (sum > target) {
      let i = -1;
      counts.forEach((c, j) => {
        if (c > 1 && (i < 0 || c > counts[i]!)) i = j;
      });
      if (i < 0) break;
      counts[i]!--;
      sum--;
    }
    while (sum < target) {
      let i = 0;
      raw.forEach((r, j) => {
        if (r - counts[j]! > raw[i]! - counts[i]!) i = j;
      });
      counts[i]!++;
      sum++;
    }
    const full = stages.map((s, i) => STAGE_GLYPHS[s.name].repeat(counts[i]!)).join("");
    const clipped = full.length > width;
    const bar = clipped ? full.slice(0, width) : full;
    lines.push(`${pad(lane.name, nameW)}  ${bar}${clipped ? "→" : ""} ${formatDuration(last)}`);
  }
  const used = new Set(lanes.flatMap((l) => l.stages.filter((s) => s.seconds > 0).map((s) => s.name)));
  const legend = (Object.keys(STAGE_GLYPHS) as StageName[])
    .filter((n) => used.has(n) && !(n === "receive" && used.has("handover")))
    .map((n) => `${STAGE_GLYPHS[n]} ${n === "handover" ? "handling" : n}`)
    .join("  ");
  lines.push(`${" ".repeat(nameW)}  ${legend}; each character ≈ ${formatDuration(end / width)}`);
  return lines;
}

/**
 * The right edge for a zoomed timeline when the slowest option dwarfs the winner, else undefined.
 * @example
 * zoomUntil(plan.outbound); // ≈ 5.1 d when the network takes 92.6 d and drives 4.5 d
 */
export function zoomUntil(dir: DirectionPlan): number | undefined {
  const times = dir.options.map((o) => o.totalSeconds);
  const fastest = Math.min(...times);
  const slowest = Math.max(...times);
  if (!(fastest > 0) || slowest < 6 * fastest) return undefined;
  const near = times.filter((t) => t <= 3 * fastest);
  return Math.max(...near) * 1.15;
}

function wrap(text: string, width: number, indent: string, first = indent): string[] {
  const words = text.split(" ");
  const lines: string[] = [];
  let line = first;
  for (const w of words) {
    if (line.length + w.length + 1 > width && line.trim() !== "") {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${w} `;
  }
  if (line.trim() !== "") lines.push(line.trimEnd());
  return lines;
}

function direction(dir: DirectionPlan, width: number): string[] {
  const title =
    dir.direction === "outbound"
      ? `OUTBOUND: ${formatBytes(dir.logicalBytes)}${dir.packedBytes < dir.logicalBytes * 0.999 ? ` (${formatBytes(dir.packedBytes)} packed)` : ""}`
      : `RETURN: ${formatBytes(dir.logicalBytes)} of results${dir.packedBytes < dir.logicalBytes * 0.999 ? ` (${formatBytes(dir.packedBytes)} packed)` : ""}`;
  const out = [title, ...table(optionRows(dir))];
  for (const u of dir.unavailable)
    out.push(
      `  (${u.kind === "network" ? "network only" : u.kind === "drives" ? "drives only" : "hybrid"}: ${u.reason})`,
    );
  out.push("");
  const drv = dir.options.find((o) => o.kind === "drives");
  const win = dir.options.find((o) => o.kind === dir.winner)!;
  if (drv) {
    out.push("  Drives only, stage by stage:");
    out.push(...stageTable(drv));
    out.push("");
  }
  if (win.kind === "hybrid") {
    out.push("  Hybrid, stage by stage:");
    out.push(...stageTable(win));
    out.push("");
  }
  const net = dir.options.find((o) => o.kind === "network");
  if (net?.network) {
    const t = net.network;
    out.push(
      `  Network: ${formatRate(t.rate, true)} usable${t.limit !== "link" ? ` (${t.streams} TCP stream${t.streams === 1 ? "" : "s"} of at most ${formatRate(t.perStream, true)})` : ""}.`,
    );
  }
  if (win.parity) out.push(...wrap(`Layout: ${win.parity.description}.`, width, "    ", "  "));
  out.push("");
  out.push(...renderTextTimeline(dir, Math.max(20, width - 40)).map((l) => `  ${l}`));
  const zoom = zoomUntil(dir);
  if (zoom !== undefined) {
    out.push(`  Zoomed to the first ${formatDuration(zoom)}:`);
    out.push(...renderTextTimeline(dir, Math.max(20, width - 40), zoom).map((l) => `  ${l}`));
  }
  out.push("");
  out.push(...wrap(dir.why, width, "    ", "  ▶ "));
  for (const n of dir.notes) out.push(...wrap(n, width, "    ", "  • "));
  return out;
}

/**
 * Render a plan for the terminal.
 *
 * @param plan the plan
 * @param opts line width
 * @returns the text, ending with a newline
 * @example
 * io.stdout.write(renderPlanText(planTransfer(input)));
 */
export function renderPlanText(plan: Plan, opts: TextOptions = {}): string {
  const width = Math.max(60, opts.width ?? 100);
  const lines: string[] = [];
  lines.push(...direction(plan.outbound, width));
  if (plan.return) {
    lines.push("");
    lines.push(...direction(plan.return, width));
  }
  const src = plan.input.data.source;
  if (src) {
    lines.push("");
    lines.push(
      `Source${src.root ? ` ${src.root}` : ""}: ${src.files.toLocaleString("en-US")} files, ${formatBytes(src.bytes)}`,
    );
    const classes = Object.entries(src.byClass ?? {}).sort((a, b) => b[1].bytes - a[1].bytes);
    for (const [name, c] of classes.filter(([, x]) => x.files > 0).slice(0, 9)) {
      const ratio = c.compressRatio !== undefined ? `, packs to ${formatPercent(c.compressRatio)}` : "";
      lines.push(
        `  ${pad(name, 10)} ${padLeft(formatBytes(c.bytes), 9)}  ${padLeft(c.files.toLocaleString("en-US"), 10)} files${ratio}`,
      );
    }
    const parts: string[] = [];
    if (src.compressRatio !== undefined)
      parts.push(`compresses to ${formatPercent(src.compressRatio)} (sampled)`);
    if (src.duplicateFraction !== undefined)
      parts.push(`~${formatPercent(src.duplicateFraction)} duplicate bytes (sampled)`);
    if (parts.length) lines.push(`  ${parts.join("; ")}`);
  }
  if (plan.layout) {
    const l = plan.layout;
    const sizes = [...new Set(l.bags.map((b) => b.drives))];
    const bags =
      sizes.length === 1
        ? `${l.bags.length} bag${l.bags.length === 1 ? "" : "s"} of ${sizes[0]}`
        : l.bags.map((b) => `${b.name}: ${b.drives}`).join(", ");
    lines.push("");
    lines.push(
      ...wrap(
        `To pack this layout (${l.drives} drives in ${bags}, tolerate ${l.tolerate}), add --save-layout plan.json, then run ferry pack --plan plan.json with one --drive BAG=PATH per drive.`,
        width,
        "  ",
        "",
      ),
    );
  }
  if (plan.assumptions.length > 0) {
    lines.push("");
    lines.push("Assumed (set these to sharpen the plan):");
    for (const a of plan.assumptions) lines.push(...wrap(a, width, "    ", "  - "));
  }
  return `${lines.join("\n")}\n`;
}
