/**
 * V8 tuning for a long run of ferry's CLI (bin/ferry.js calls it first thing).
 *
 * @example
 * tuneYoungGeneration(); // first thing in the CLI
 */
import { setFlagsFromString } from "node:v8";

/**
 * Keeps V8's young generation at its initial size (`--semi-space-growth-factor=1`, process-wide,
 * so worker threads too). By default V8 doubles it, up to 2 × 16 MiB per isolate, as a long
 * run's allocation rate warrants: ferry's peak RSS then grew with the size of the data for
 * minutes before it levelled off (pack 1.1 vs 3.2 GB: +12%, with it +3%; unpack 1.1 vs 8.6 GB:
 * +21%, with it +11%), for no measurable speed. Set at run time (the growth factor is read at
 * each scavenge); `FERRY_V8_TUNE=0` leaves V8's default. Starting a worker thread sets V8's flags
 * back to the command line's, so pack's workers set it again as they start
 * ({@link youngGenerationTuned} tells them to). Returns whether it took effect.
 */
export function tuneYoungGeneration(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FERRY_V8_TUNE === "0") return false;
  try {
    setFlagsFromString("--semi-space-growth-factor=1");
    tuned = true;
    return true;
  } catch {
    return false;
  }
}

let tuned = false;

/** Whether {@link tuneYoungGeneration} took effect in this process (workers then repeat it). */
export function youngGenerationTuned(): boolean {
  return tuned;
}
