/**
 * `ferry plan`'s library: units, the network, drive, courier and parity models, the
 * planner, and its renderers. Everything here is pure (no I/O); the source scan that feeds
 * it lives in src/scan and is re-exported here so the CLI reaches it through the public API.
 */
export * from "./drives.js";
export * from "./geometry.js";
export * from "./input.js";
export * from "./network.js";
export * from "./planner.js";
export * from "./reliability.js";
export * from "./units.js";
export * from "./render_text.js";
export * from "./plan_file.js";
export * from "./render_html.js";
