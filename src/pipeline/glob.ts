/**
 * Compiles shell-style globs (`*` within a path component, `**` across components, `?` one
 * character) into one predicate over `/`-separated relative paths. A pattern also matches
 * everything below a matching folder.
 *
 * @example
 * globMatcher(["images/**", "*.csv"])("images/a/b.png") // true
 */
export function globMatcher(patterns: string[]): (path: string) => boolean {
  const res = patterns.map((p) => {
    let re = "";
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c === "*" && p[i + 1] === "*") {
        re += ".*";
        i++;
        if (p[i + 1] === "/") i++;
      } else if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return new RegExp(`^${re}(/.*)?$`, "s");
  });
  return (path) => res.some((r) => r.test(path));
}
