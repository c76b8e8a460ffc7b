/**
 * Plan files in and out: reading a plan file (JSON, or the YAML people write by hand),
 * and the JSON forms of a plan: the full `--json` output and the layout file that
 * `ferry pack --plan` reads.
 *
 * Pure functions, no I/O: the caller reads and writes the files.
 */
import { FerryError } from "../errors.js";
import type { Plan, PlanLayout } from "./planner.js";

function yamlError(name: string, line: number, message: string): FerryError {
  return new FerryError("E_USAGE", `plan: ${name} line ${line}: ${message}`, {
    hint: "plan files are JSON or simple YAML (key: value, nested by indentation, - for lists); see docs/PLAN.md",
    detail: { file: name, line },
  });
}

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string): string {
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(s[i - 1] ?? ""))) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string, name: string, no: number): unknown {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null") return null;
  if (s === "true") return true;
  if (s === "false") return false;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw yamlError(name, no, `unterminated string ${s}`);
    try {
      return JSON.parse(s);
    } catch {
      throw yamlError(name, no, `bad string ${s}`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw yamlError(name, no, `unterminated string ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith("[")) {
    if (!s.endsWith("]")) throw yamlError(name, no, `unterminated list ${s}`);
    const inner = s.slice(1, -1).trim();
    return inner === "" ? [] : inner.split(",").map((x) => scalar(x, name, no));
  }
  if (s.startsWith("{"))
    throw yamlError(name, no, "inline {…} maps are not supported; nest keys by indentation");
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  return s;
}

/**
 * Parse the YAML subset plan files use: nested mappings by indentation, `- ` lists of
 * scalars or mappings, `[a, b]` lists, quoted and plain scalars, numbers, booleans, null
 * and `#` comments. Anchors, multi-line strings and inline maps are refused.
 *
 * @param text the file's text
 * @param name the file name, for errors
 * @returns the parsed value
 * @throws FerryError E_USAGE with the line number for anything it cannot read
 * @example
 * parseYaml("data:\n  size: 80 TB # total\ncouriers:\n  bags: 4\n", "plan.yaml");
 * // { data: { size: "80 TB" }, couriers: { bags: 4 } }
 */
export function parseYaml(text: string, name = "plan.yaml"): unknown {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*(---|\.\.\.)\s*$/.test(raw)) return;
    const body = stripComment(raw).replace(/\s+$/, "");
    if (body.trim() === "") return;
    const lead = /^[ \t]*/.exec(body)?.[0] ?? "";
    if (lead.includes("\t")) throw yamlError(name, no, "indent with spaces, not tabs");
    if (/^\s*[&*!|>]/.test(body.replace(/^\s*-\s*/, "")) || /:\s*[|>&*!]/.test(body)) {
      throw yamlError(name, no, "anchors, tags and block strings are not supported");
    }
    lines.push({ indent: lead.length, text: body.slice(lead.length), no });
  });
  if (lines.length === 0) return {};
  let i = 0;

  const isItem = (l: Line) => l.text === "-" || l.text.startsWith("- ");

  const block = (indent: number): unknown => {
    const first = lines[i]!;
    return isItem(first) ? sequence(indent) : mapping(indent);
  };

  const mapping = (indent: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw yamlError(name, l.no, "unexpected indentation");
      if (isItem(l)) throw yamlError(name, l.no, "a list item where a key was expected");
      const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:]+?)\s*:(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw yamlError(name, l.no, `expected "key: value", got ${JSON.stringify(l.text)}`);
      const key = String(scalar(m[1] ?? "", name, l.no));
      if (Object.hasOwn(out, key)) throw yamlError(name, l.no, `key "${key}" appears twice`);
      i++;
      const rest = m[2];
      if (rest !== undefined && rest.trim() !== "") {
        out[key] = scalar(rest, name, l.no);
      } else if (i < lines.length && lines[i]!.indent > indent) {
        out[key] = block(lines[i]!.indent);
      } else if (i < lines.length && lines[i]!.indent === indent && isItem(lines[i]!)) {
        out[key] = sequence(indent);
      } else {
        out[key] = null;
      }
    }
    return out;
  };

  const sequence = (indent: number): unknown[] => {
    const out: unknown[] = [];
    while (i < lines.length) {
      const l = lines[i]!;
      if (l.indent < indent || !isItem(l)) break;
      if (l.indent > indent) throw yamlError(name, l.no, "unexpected indentation");
      const item = l.text === "-" ? "" : l.text.slice(2);
      const off = l.text.length - item.trimStart().length;
      if (item.trim() === "") {
        i++;
        out.push(i < lines.length && lines[i]!.indent > indent ? block(lines[i]!.indent) : null);
      } else if (/^("(?:[^"\\]|\\.)*"|'[^']*'|[^:[\]{}"']+?)\s*:(\s|$)/.test(item.trimStart())) {
        lines[i] = { indent: indent + off, text: item.trimStart(), no: l.no };
        out.push(mapping(indent + off));
      } else {
        out.push(scalar(item, name, l.no));
        i++;
      }
    }
    return out;
  };

  const value = block(lines[0]!.indent);
  if (i < lines.length) throw yamlError(name, lines[i]!.no, "unexpected indentation");
  return value;
}

/**
 * Parse a plan file: JSON when the name ends in .json or the text starts with `{`,
 * otherwise YAML.
 *
 * @param text the file's text
 * @param name the file name, for errors and to pick the format
 * @returns the parsed value (check it with `checkRawPlan`)
 * @throws FerryError E_USAGE for a syntax error, with the file name
 * @example
 * parsePlanText('{"data": {"size": "80 TB"}}', "plan.json"); // { data: { size: "80 TB" } }
 */
export function parsePlanText(text: string, name: string): unknown {
  const t = text.replace(/^\uFEFF/, "");
  if (/\.json$/i.test(name) || /^\s*[{[]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new FerryError("E_USAGE", `plan: ${name} is not valid JSON: ${(e as Error).message}`, {
        hint: "fix the JSON, or write the plan as YAML in a .yaml file",
        cause: e,
      });
    }
  }
  return parseYaml(t, name);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

/**
 * The plan as plain JSON data for `--json`: everything in the plan (numbers in bytes,
 * bytes per second and seconds), with `layout` at the top level for `ferry pack --plan`,
 * infinite values as null, and each option's drive geometry left to `layout`.
 *
 * @param plan the plan
 * @returns JSON-ready data
 * @example
 * io.stdout.write(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
 */
export function planToJson(plan: Plan): Record<string, unknown> {
  const strip = (dir: Plan["outbound"]) => ({
    ...dir,
    options: dir.options.map((o) => {
      if (!o.drives) return o;
      const { geometry: _g, ...drives } = o.drives;
      return { ...o, drives };
    }),
  });
  const out: Record<string, unknown> = {
    kind: "ferry-plan",
    version: plan.version,
    layout: plan.layout ?? null,
    outbound: strip(plan.outbound),
  };
  if (plan.return) out.return = strip(plan.return);
  out.assumptions = plan.assumptions;
  out.input = plan.input;
  return JSON.parse(JSON.stringify(out, jsonSafe));
}

/**
 * The file `--save-layout` writes and `ferry pack --plan` reads.
 * @example
 * const file: LayoutFile = layoutFile(plan);
 * file.layout.tolerate; // "bag"
 */
export interface LayoutFile {
  kind: "ferry-plan";
  version: 1;
  layout: PlanLayout;
  /** What the plan concluded, for people reading the file. */
  summary: { winner: string; why: string; seconds: number; dataBytes: number; packedBytes: number };
}

/**
 * The layout file for `ferry pack --plan FILE`: `layout.tolerate`, `layout.bags` (name and
 * drive count, which pack checks against its `--drive BAG=PATH` arguments), k, m and the
 * stripe groups.
 *
 * @param plan the plan
 * @returns the file's data
 * @throws FerryError E_USAGE when the plan has no drive option (nothing to lay out)
 * @example
 * writeFileSync("plan.json", `${JSON.stringify(layoutFile(plan), null, 2)}\n`);
 */
export function layoutFile(plan: Plan): LayoutFile {
  if (!plan.layout) {
    throw new FerryError(
      "E_USAGE",
      "plan: there is no drive layout to save: no drives were described (drives.capacity)",
      {
        hint: 'describe the drives (--drive-size "2 TB" --drive-write "250 MB/s" --door-to-door "24 h") to get a layout',
      },
    );
  }
  const win = plan.outbound.options.find((o) => o.kind === plan.outbound.winner)!;
  return {
    kind: "ferry-plan",
    version: 1,
    layout: plan.layout,
    summary: {
      winner: plan.outbound.winner,
      why: plan.outbound.why,
      seconds: win.totalSeconds,
      dataBytes: plan.outbound.logicalBytes,
      packedBytes: plan.outbound.packedBytes,
    },
  };
}

/**
 * Read a layout back from a saved file's data (what `ferry pack --plan` does): checks the
 * shape and returns the layout.
 *
 * @param data the parsed JSON of a layout file or of `ferry plan --json` output
 * @returns the layout
 * @throws FerryError E_USAGE when there is no valid layout in it
 * @example
 * const layout = readLayout(JSON.parse(readFileSync("plan.json", "utf8")));
 * layout.tolerate; // "bag"
 */
export function readLayout(data: unknown): PlanLayout {
  const l = (data as { layout?: unknown } | null)?.layout as Partial<PlanLayout> | null | undefined;
  const ok =
    l &&
    typeof l.tolerate === "string" &&
    Array.isArray(l.bags) &&
    l.bags.every((b) => typeof b?.name === "string" && Number.isSafeInteger(b?.drives)) &&
    Number.isSafeInteger(l.k) &&
    Number.isSafeInteger(l.m) &&
    Array.isArray(l.groups);
  if (!ok) {
    throw new FerryError(
      "E_USAGE",
      "plan: the file holds no drive layout (layout.tolerate, layout.bags, k, m, groups)",
      {
        hint: "write one with ferry plan … --save-layout plan.json",
      },
    );
  }
  return l as PlanLayout;
}
