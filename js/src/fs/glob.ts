/**
 * Path globs for the bucket file system, with fsspec's (and so HfFileSystem's) meaning:
 *
 * - `*` matches any run of characters inside one path segment (never `/`);
 * - `**` as a whole segment matches zero or more segments (`a/**\/b` matches `a/b` and `a/x/y/b`;
 *   a trailing `a/**` matches everything below `a`); `**` inside a segment matches across `/`;
 * - `?` matches one character other than `/`;
 * - `[abc]`, `[a-z]`, `[!abc]` match one character of (or not of) a set.
 *
 * Matching is case-sensitive, like bucket paths. (Sync and `rm --include/--exclude` use
 * huggingface_hub's fnmatch rules instead, where `*` also matches `/`: see sync/filters.ts.)
 */

/** True when `s` contains a glob character (`*`, `?` or `[`). */
export function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/**
 * Translates the glob characters of `pattern` into a regular expression source: `*` (a run of them), `?`,
 * `[abc]`, `[a-z]` and negated sets; anything else matches itself. `inSegment`: `*`, `?` and negated sets stay
 * inside one path segment, `**` crosses segments, and `^` negates a set as `!` does (fsspec's globs, here);
 * otherwise they all match "/" too and only `!` negates (Python's fnmatch: sync's filters, sync/filters.ts).
 */
export function translateGlob(pattern: string, inSegment: boolean): string {
  const any = inSegment ? "[^/]" : "[\\s\\S]";
  const negators = inSegment ? "!^" : "!";
  let re = "";
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i++]!;
    if (c === "*") {
      const from = i;
      while (pattern[i] === "*") i++;
      re += i > from || !inSegment ? "[\\s\\S]*" : "[^/]*";
    } else if (c === "?") {
      re += any;
    } else if (c === "[") {
      let j = i;
      if (negators.includes(pattern[j]!)) j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i, j);
      i = j + 1;
      const negate = negators.includes(body[0]!);
      if (negate) body = body.slice(1);
      // Escape what is special inside a JS character class; keep "-" ranges.
      const cls = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      if (cls === "") re += negate ? any : "(?!)";
      // A negated set in a segment never matches "/".
      else re += negate ? `[^${inSegment ? "/" : ""}${cls}]` : `[${cls}]`;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
    }
  }
  return re;
}

/** Compiles a glob (a "/"-separated pattern, relative to some root) into an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const segs = pattern.split("/");
  let re = "";
  for (let k = 0; k < segs.length; k++) {
    const seg = segs[k]!;
    const last = k === segs.length - 1;
    if (seg === "**") {
      // Zero or more whole segments; at the end: one or more (everything below).
      re += last ? "[\\s\\S]+" : "(?:[^/]+/)*";
      continue;
    }
    re += translateGlob(seg, true);
    if (!last) re += "/";
  }
  return new RegExp(`^${re}$`);
}

/**
 * Splits a pattern into the longest leading run of segments without glob characters (the folder to
 * list) and the rest. `"a/b/*.bin"` → `["a/b", "*.bin"]`; `"**"` → `["", "**"]`.
 */
export function splitGlobBase(pattern: string): [string, string] {
  const segs = pattern.split("/");
  const i = segs.findIndex(hasMagic);
  if (i < 0) return [pattern, ""];
  return [segs.slice(0, i).join("/"), segs.slice(i).join("/")];
}

/** Largest number of segments a match can have below the base, or Infinity when `**` appears. */
export function globDepth(rest: string): number {
  if (rest.includes("**")) return Infinity;
  return rest === "" ? 0 : rest.split("/").length;
}
