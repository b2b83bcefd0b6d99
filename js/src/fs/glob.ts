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

/** True when `s` contains a glob character (`*`, `?` or `[`). @internal */
export function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
}

/** Translates one path segment (no `/`) into a regular expression source. */
function segmentToRe(seg: string): string {
  let re = "";
  for (let i = 0; i < seg.length;) {
    const c = seg[i++]!;
    if (c === "*") {
      if (seg[i] === "*") {
        while (seg[i] === "*") i++;
        re += "[\\s\\S]*";
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      let j = i;
      if (seg[j] === "!" || seg[j] === "^") j++;
      if (seg[j] === "]") j++;
      while (j < seg.length && seg[j] !== "]") j++;
      if (j >= seg.length) {
        re += "\\[";
        continue;
      }
      let body = seg.slice(i, j);
      i = j + 1;
      let negate = false;
      if (body.startsWith("!") || body.startsWith("^")) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      // A negated set never matches "/" (it stays inside the segment).
      re += negate ? `[^/${cls}]` : `[${cls}]`;
    } else {
      re += escapeRe(c);
    }
  }
  return re;
}

/** Compiles a glob (a "/"-separated pattern, relative to some root) into an anchored RegExp. @internal */
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
    re += segmentToRe(seg);
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
