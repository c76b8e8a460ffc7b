/**
 * The source scan behind `ferry plan --source`: files, bytes by type, compressibility and
 * duplicates, as a plain object the pure planner takes.
 */
export * from "./classes.js";
export * from "./scan.js";
