import type { CliIO } from "./io.js";
import { cell, duration, human } from "./output.js";

/** One progress row: a drive, or the whole job. */
export interface ProgressRow {
  label: string;
  done: number;
  total: number;
}

/**
 * Draws progress: redrawn bars with throughput and ETA on a terminal, a plain line every few
 * seconds otherwise (logs, CI), nothing with --json (events carry the numbers).
 *
 * @example
 * const p = new Progress(io, "pack");
 * p.update([{ label: "total", done, total }, ...drives]);
 * p.done();
 */
export class Progress {
  private lines = 0;
  private last = Date.now();
  private readonly start = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly io: CliIO,
    private readonly verb: string,
    private readonly quiet = false,
  ) {
    this.tty = !!io.stderr.isTTY && !io.env.FERRY_NO_TTY;
  }

  update(rows: ProgressRow[], force = false): void {
    if (this.quiet || rows.length === 0) return;
    const now = Date.now();
    const every = this.tty ? 200 : 5000;
    if (!force && now - this.last < every) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.start) / 1000);
    const total = rows[0]!;
    const rate = total.done / secs;
    const eta = total.total > total.done && rate > 0 ? (total.total - total.done) / rate : 0;
    if (!this.tty) {
      const pct = total.total ? ` (${((100 * total.done) / total.total).toFixed(1)}%)` : "";
      this.io.stderr.write(
        `${this.verb}: ${human(total.done)}${total.total ? ` of ${human(total.total)}` : ""}${pct}, ${human(rate)}/s, eta ${duration(eta)}\n`,
      );
      return;
    }
    const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - 50));
    const out: string[] = [];
    for (const r of rows) {
      const frac = r.total > 0 ? Math.min(1, r.done / r.total) : 0;
      const filled = Math.round(frac * width);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      const rrate = r.done / secs;
      out.push(
        `${cell(r.label, 18)} ${bar} ${cell(human(r.done), 8, true)} ${cell(`${human(rrate)}/s`, 10, true)}`,
      );
    }
    out[0] += `  eta ${duration(eta)}`;
    const up = this.lines ? `\x1b[${this.lines}A` : "";
    this.io.stderr.write(`${up}${out.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    this.lines = out.length;
  }

  /** Leaves the last drawn state on screen. */
  done(): void {
    this.lines = 0;
  }
}
