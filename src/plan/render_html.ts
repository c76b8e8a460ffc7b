/**
 * The browser renderings of a plan: an SVG timeline of the options side by side (one
 * chart per direction, plus a zoomed chart when one option dwarfs the others), and a
 * self-contained HTML page with the charts, the option table, the drive stages and the
 * verdict. No external assets, scripts or fonts.
 *
 * Pure functions, no I/O.
 */
import type { DirectionPlan, OptionPlan, Plan, Stage, StageName } from "./planner.js";
import { formatCost, zoomUntil } from "./render_text.js";
import { formatBytes, formatDuration, formatPercent } from "./units.js";

/**
 * Fill colour of each stage in the charts.
 * @example
 * STAGE_COLORS.pack; // "#f59e0b"
 */
export const STAGE_COLORS: Readonly<Record<StageName, string>> = {
  scan: "#94a3b8",
  transfer: "#2563eb",
  pack: "#f59e0b",
  handover: "#c4b5fd",
  transit: "#7c3aed",
  receive: "#c4b5fd",
  verify: "#0d9488",
  ingest: "#16a34a",
};

const STAGE_LABELS: Readonly<Record<StageName, string>> = {
  scan: "scan",
  transfer: "network transfer",
  pack: "pack",
  handover: "handling",
  transit: "courier transit",
  receive: "handling",
  verify: "verify",
  ingest: "ingest",
};

/**
 * Escape text for HTML and SVG.
 *
 * @param s any text
 * @returns the text with &, <, >, " and ' escaped
 * @example
 * escapeXml('<a & "b">'); // "&lt;a &amp; &quot;b&quot;&gt;"
 */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}

const n = (x: number) => (Math.round(x * 10) / 10).toString();

function niceStep(seconds: number): number {
  const steps = [
    60,
    300,
    900,
    1800,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
    60 * 86400,
    90 * 86400,
    180 * 86400,
    365 * 86400,
  ];
  for (const s of steps) if (seconds / s <= 10) return s;
  return 365 * 86400 * Math.ceil(seconds / (10 * 365 * 86400));
}

function tickLabel(seconds: number, step: number): string {
  if (seconds === 0) return "0";
  if (step >= 86400) return `${Math.round(seconds / 86400)} d`;
  if (step >= 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 60)} min`;
}

interface Row {
  label: string;
  option: OptionPlan;
  stages: Stage[];
}

function rowsOf(dir: DirectionPlan): Row[] {
  return dir.options.flatMap((o): Row[] => {
    if (o.kind !== "hybrid") return [{ label: o.label, option: o, stages: o.stages }];
    const shared = o.stages.filter((s) => s.lane === "both");
    return [
      {
        label: "hybrid: network",
        option: o,
        stages: [...shared, ...o.stages.filter((s) => s.lane === "network")],
      },
      {
        label: "hybrid: drives",
        option: o,
        stages: [...shared, ...o.stages.filter((s) => s.lane === "drives")],
      },
    ];
  });
}

/**
 * Options for {@link renderTimelineSvg}.
 * @example
 * renderTimelineSvg(plan.outbound, { width: 1200, until: 5 * 86400, title: "First five days" });
 */
export interface SvgOptions {
  /** Pixel width (default 960). */
  width?: number;
  /** Seconds at the right edge; longer bars are cut and marked (default: the longest option). */
  until?: number;
  /** Chart title (default: the direction and size). */
  title?: string;
  /** A line or two under the title (the standalone SVG puts the verdict there). */
  subtitle?: string;
}

function wrapText(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of text.split(" ")) {
    if (line && line.length + w.length + 1 > max) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * One direction's timeline as an SVG element: one row per option (two for a hybrid), each
 * stage a coloured bar on a shared time axis, with its duration and a tooltip; the winning
 * option is starred.
 *
 * @param dir one direction of a plan
 * @param opts width, right edge, title
 * @returns an `<svg>` element (with xmlns, so it also stands alone)
 * @example
 * const svg = renderTimelineSvg(plan.outbound);
 * svg.includes("drives only"); // true
 */
export function renderTimelineSvg(dir: DirectionPlan, opts: SvgOptions = {}): string {
  const width = opts.width ?? 960;
  const rows = rowsOf(dir);
  const labelW = 170;
  const rightW = 120;
  const sub = opts.subtitle ? wrapText(opts.subtitle, Math.floor((width - 24) / 6.6)) : [];
  const top = 52 + sub.length * 17;
  const rowH = 30;
  const gap = 12;
  const plotW = width - labelW - rightW;
  const end = opts.until ?? Math.max(...dir.options.map((o) => o.totalSeconds), 1);
  const x = (t: number) => labelW + (Math.min(t, end) / end) * plotW;
  const used = new Set<StageName>();
  const bodyH = rows.length * (rowH + gap);
  const legendY = top + bodyH + 34;
  const height = legendY + 26;
  const title =
    opts.title ??
    (dir.direction === "outbound"
      ? `Outbound: ${formatBytes(dir.logicalBytes)}, until training can start`
      : `Return: ${formatBytes(dir.logicalBytes)} of results, until they are back`);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12" role="img" aria-label="${escapeXml(title)}">`,
  );
  parts.push(`<title>${escapeXml(title)}</title>`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#0f172a">${escapeXml(title)}</text>`,
  );
  sub.forEach((line, i) => {
    parts.push(`<text x="12" y="${42 + i * 17}" font-size="12.5" fill="#1e3a8a">${escapeXml(line)}</text>`);
  });

  // axis
  const step = niceStep(end);
  const axisY = top + bodyH;
  for (let t = 0; t <= end + 1e-9; t += step) {
    const tx = x(t);
    parts.push(`<line x1="${n(tx)}" y1="${top - 8}" x2="${n(tx)}" y2="${axisY}" stroke="#e2e8f0"/>`);
    parts.push(
      `<text x="${n(tx)}" y="${axisY + 16}" text-anchor="middle" fill="#64748b">${tickLabel(t, step)}</text>`,
    );
  }
  parts.push(`<line x1="${labelW}" y1="${axisY}" x2="${labelW + plotW}" y2="${axisY}" stroke="#94a3b8"/>`);

  rows.forEach((row, i) => {
    const y = top + i * (rowH + gap);
    const win = row.option.kind === dir.winner;
    const label = `${win ? "★ " : ""}${row.label}`;
    parts.push(
      `<g class="option" data-option="${row.option.kind}"${win ? ' data-winner="true"' : ""}>`,
      `<text x="${labelW - 10}" y="${y + rowH / 2 + 4}" text-anchor="end" fill="#0f172a"${win ? ' font-weight="700"' : ""}>${escapeXml(label)}</text>`,
    );
    let last = 0;
    let cut = false;
    for (const s of row.stages) {
      if (s.seconds <= 0) continue;
      used.add(s.name);
      last = Math.max(last, s.start + s.seconds);
      if (s.start >= end) {
        cut = true;
        continue;
      }
      if (s.start + s.seconds > end) cut = true;
      const x0 = x(s.start);
      const w = Math.max(1.5, x(s.start + s.seconds) - x0);
      const tip = `${STAGE_LABELS[s.name]}: ${formatDuration(s.seconds)} (${formatPercent(s.seconds / row.option.totalSeconds)} of ${row.option.label}) — ${s.detail}`;
      parts.push(
        `<rect class="stage" data-stage="${s.name}" x="${n(x0)}" y="${y}" width="${n(w)}" height="${rowH}" fill="${STAGE_COLORS[s.name]}" stroke="#ffffff" stroke-width="1"><title>${escapeXml(tip)}</title></rect>`,
      );
      const text = [STAGE_LABELS[s.name], s.name].find((t) => w > t.length * 6.5 + 10);
      if (text) {
        const fill = s.name === "handover" || s.name === "receive" ? "#1e1b4b" : "#ffffff";
        parts.push(
          `<text x="${n(x0 + w / 2)}" y="${y + rowH / 2 + 4}" text-anchor="middle" fill="${fill}" pointer-events="none">${escapeXml(text)}</text>`,
        );
      }
    }
    const endX = cut ? labelW + plotW : x(last);
    if (cut) {
      parts.push(`<path d="M${n(endX)} ${y - 2} l10 ${rowH / 2 + 2} l-10 ${rowH / 2 + 2}z" fill="#475569"/>`);
    }
    parts.push(
      `<text x="${n(endX + (cut ? 16 : 8))}" y="${y + rowH / 2 + 4}" fill="#0f172a"${win ? ' font-weight="700"' : ""}>${formatDuration(last)}</text>`,
      "</g>",
    );
  });

  // legend
  let lx = labelW;
  const seen = new Set<string>();
  for (const name of Object.keys(STAGE_COLORS) as StageName[]) {
    if (!used.has(name) || seen.has(STAGE_LABELS[name])) continue;
    seen.add(STAGE_LABELS[name]);
    parts.push(
      `<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${STAGE_COLORS[name]}"/>`,
      `<text x="${lx + 17}" y="${legendY}" fill="#334155">${escapeXml(STAGE_LABELS[name])}</text>`,
    );
    lx += 30 + STAGE_LABELS[name].length * 7;
  }
  parts.push("</svg>");
  return parts.join("\n");
}

function chartsOf(dir: DirectionPlan, width: number, verdict = false): string[] {
  const charts = [renderTimelineSvg(dir, verdict ? { width, subtitle: dir.why } : { width })];
  const zoom = zoomUntil(dir);
  if (zoom !== undefined) {
    const base =
      dir.direction === "outbound"
        ? `Outbound, zoomed to the first ${formatDuration(zoom)}`
        : `Return, zoomed to the first ${formatDuration(zoom)}`;
    charts.push(renderTimelineSvg(dir, { width, until: zoom, title: base }));
  }
  return charts;
}

/**
 * Every timeline of a plan stacked in one standalone SVG document (for `--out plan.svg`).
 *
 * @param plan the plan
 * @param width pixel width (default 960)
 * @returns the SVG document
 * @example
 * writeFileSync("plan.svg", renderPlanSvg(plan));
 */
export function renderPlanSvg(plan: Plan, width = 960): string {
  const charts = [
    ...chartsOf(plan.outbound, width, true),
    ...(plan.return ? chartsOf(plan.return, width, true) : []),
  ];
  let y = 0;
  const inner: string[] = [];
  for (const c of charts) {
    const h = Number(/height="(\d+(?:\.\d+)?)"/.exec(c)?.[1] ?? "0");
    inner.push(c.replace("<svg ", `<svg y="${y}" `));
    y += h + 10;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n<title>ferry plan</title>\n${inner.join("\n")}\n</svg>\n`;
}

function optionTable(dir: DirectionPlan): string {
  const head = dir.options
    .map(
      (o) =>
        `<th${o.kind === dir.winner ? ' class="win"' : ""}>${escapeXml(o.label)}${o.kind === dir.winner ? " ★" : ""}</th>`,
    )
    .join("");
  const row = (name: string, f: (o: OptionPlan) => string) =>
    `<tr><th scope="row">${escapeXml(name)}</th>${dir.options.map((o) => `<td${o.kind === dir.winner ? ' class="win"' : ""}>${escapeXml(f(o))}</td>`).join("")}</tr>`;
  return `<table class="options"><thead><tr><th></th>${head}</tr></thead><tbody>
${row(dir.goal, (o) => formatDuration(o.totalSeconds))}
${row("on the wire", (o) => (o.wireBytes > 0 ? formatBytes(o.wireBytes) : "—"))}
${row("on drives (packed)", (o) => (o.driveBytes > 0 ? formatBytes(o.driveBytes) : "—"))}
${row("drives / bags", (o) => (o.drives ? `${o.drives.count} / ${o.drives.bags.length}${o.drives.bought < o.drives.count ? ` (buy ${o.drives.bought})` : ""}` : "—"))}
${row("per drive", (o) => (o.drives ? `${formatBytes(o.drives.perDriveBytes)} of ${formatBytes(o.drives.usable)}` : "—"))}
${row("parity", (o) => (o.parity ? `${o.parity.k}+${o.parity.m}${o.parity.groups > 1 ? ` × ${o.parity.groups} groups` : ""}, ${formatPercent(o.parity.overhead)} overhead, tolerate ${o.parity.tolerate}` : "—"))}
${row("re-ship chance", (o) => (o.drives ? formatPercent(o.reshipProbability) : "—"))}
${row("cost", (o) => formatCost(o.cost) + (o.cost.missing.length ? ` (no ${o.cost.missing.join(", ")})` : ""))}
</tbody></table>`;
}

function stageTable(o: OptionPlan): string {
  const rows = o.stages
    .map(
      (s) =>
        `<tr><td><span class="sw" style="background:${STAGE_COLORS[s.name]}"></span>${escapeXml(s.name)}${o.kind === "hybrid" && s.lane !== "both" ? ` (${s.lane})` : ""}</td><td>${formatDuration(s.start)}</td><td>${formatDuration(s.seconds)}</td><td>${o.totalSeconds > 0 ? formatPercent(s.seconds / o.totalSeconds) : "—"}</td><td>${escapeXml(s.detail)}</td></tr>`,
    )
    .join("\n");
  return `<table class="stages"><thead><tr><th>stage</th><th>starts</th><th>takes</th><th>share</th><th>what</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function directionHtml(dir: DirectionPlan, width: number): string {
  const heading =
    dir.direction === "outbound"
      ? `Outbound: ${escapeXml(formatBytes(dir.logicalBytes))}`
      : `Return: ${escapeXml(formatBytes(dir.logicalBytes))} of results`;
  const packed =
    dir.packedBytes < dir.logicalBytes * 0.999
      ? ` <small>(${escapeXml(formatBytes(dir.packedBytes))} packed)</small>`
      : "";
  const drv = dir.options.find((o) => o.kind === "drives");
  const win = dir.options.find((o) => o.kind === dir.winner);
  const parts = [
    `<section class="direction" id="${dir.direction}">`,
    `<h2>${heading}${packed}</h2>`,
    `<p class="verdict">${escapeXml(dir.why)}</p>`,
    ...chartsOf(dir, width).map((c) => `<figure>${c}</figure>`),
    optionTable(dir),
  ];
  if (dir.unavailable.length) {
    parts.push(
      `<p class="muted">${dir.unavailable.map((u) => escapeXml(`${u.kind}: ${u.reason}`)).join("<br>")}</p>`,
    );
  }
  if (drv) parts.push("<h3>Drives only, stage by stage</h3>", stageTable(drv));
  if (win?.kind === "hybrid") parts.push("<h3>Hybrid, stage by stage</h3>", stageTable(win));
  if (win?.parity) parts.push(`<p><b>Layout:</b> ${escapeXml(win.parity.description)}.</p>`);
  if (dir.notes.length)
    parts.push(`<ul class="notes">${dir.notes.map((x) => `<li>${escapeXml(x)}</li>`).join("")}</ul>`);
  parts.push("</section>");
  return parts.join("\n");
}

/**
 * A self-contained HTML page for `--out plan.html`: the verdict, the timelines as inline
 * SVG, the options side by side, each stage's share, notes and assumptions.
 *
 * @param plan the plan
 * @param opts page width in pixels for the charts (default 960)
 * @returns the HTML document
 * @example
 * writeFileSync("plan.html", renderPlanHtml(plan));
 */
export function renderPlanHtml(plan: Plan, opts: { width?: number } = {}): string {
  const width = opts.width ?? 960;
  const l = plan.layout;
  const layout = l
    ? `<section><h2>Layout for ferry pack</h2><p>${escapeXml(`${l.drives} drives in ${l.bags.length} bag${l.bags.length === 1 ? "" : "s"} (${l.bags.map((b) => `${b.name}: ${b.drives}`).join(", ")}), tolerate ${l.tolerate}: ${l.description}. Each drive holds ${formatBytes(l.perDriveBytes)}.`)}</p><p>Save it with <code>--save-layout plan.json</code>, then run <code>ferry pack --plan plan.json</code> with one <code>--drive BAG=PATH</code> per drive.</p></section>`
    : "";
  const src = plan.input.data.source;
  const source = src
    ? `<section><h2>Source${src.root ? ` <code>${escapeXml(src.root)}</code>` : ""}</h2><p>${escapeXml(
        `${src.files.toLocaleString("en-US")} files, ${formatBytes(src.bytes)}` +
          (src.compressRatio !== undefined
            ? `; compresses to ${formatPercent(src.compressRatio)} (sampled)`
            : "") +
          (src.duplicateFraction !== undefined
            ? `; ~${formatPercent(src.duplicateFraction)} duplicate bytes (sampled)`
            : ""),
      )}</p><table class="stages"><thead><tr><th>type</th><th>bytes</th><th>files</th><th>packs to</th></tr></thead><tbody>${Object.entries(
        src.byClass ?? {},
      )
        .filter(([, c]) => c.files > 0)
        .sort((a, b) => b[1].bytes - a[1].bytes)
        .map(
          ([name, c]) =>
            `<tr><td>${escapeXml(name)}</td><td>${formatBytes(c.bytes)}</td><td>${c.files.toLocaleString("en-US")}</td><td>${c.compressRatio !== undefined ? formatPercent(c.compressRatio) : "—"}</td></tr>`,
        )
        .join("")}</tbody></table></section>`
    : "";
  const assumptions = plan.assumptions.length
    ? `<section><h2>Assumed</h2><ul>${plan.assumptions.map((a) => `<li>${escapeXml(a)}</li>`).join("")}</ul></section>`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferry plan: ${escapeXml(formatBytes(plan.outbound.logicalBytes))}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #0f172a; margin: 24px auto; max-width: ${width + 40}px; padding: 0 20px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 6px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.verdict { font-size: 15px; background: #f1f5f9; border-left: 4px solid #2563eb; padding: 8px 12px; }
figure { margin: 10px 0; overflow-x: auto; } svg.timeline { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }
table.options td, table.options thead th { text-align: right; } td.win, th.win { background: #eff6ff; font-weight: 600; }
.sw { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.muted, small { color: #64748b; } code { background: #f1f5f9; padding: 1px 4px; border-radius: 3px; }
</style>
</head>
<body>
<h1>ferry plan</h1>
<p class="muted">Network only, drives only and both together, from the inputs below. Hover a bar for what it is made of.</p>
${directionHtml(plan.outbound, width)}
${plan.return ? directionHtml(plan.return, width) : ""}
${layout}
${source}
${assumptions}
</body>
</html>
`;
}
