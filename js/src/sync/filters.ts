/**
 * Include / exclude filters with the semantics of huggingface_hub's sync (`FilterMatcher`):
 *
 * 1. `filterFrom` rules in order, first match decides (`+ pattern` include, `- pattern` exclude,
 *    a bare pattern includes; empty lines and `#` comments are ignored);
 * 2. else any matching `exclude` pattern excludes;
 * 3. else any matching `include` pattern includes;
 * 4. else excluded if any `include` pattern was given, included otherwise.
 *
 * Patterns are Python `fnmatch.fnmatchcase` globs, case-sensitive, matched against the whole relative
 * path: `*` matches any run of characters **including `/`**, `?` one character, `[abc]` / `[!abc]` a set.
 * Backslashes in patterns are read as `/`.
 */
import { InvalidArgumentError } from "../errors.js";

/** @internal */
export type FilterRule = ["+" | "-", string];

/** Translates an fnmatch pattern into an anchored regular expression (as Python's fnmatch.translate). @internal */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i++]!;
    if (c === "*") {
      while (pattern[i] === "*") i++;
      re += "[\\s\\S]*";
    } else if (c === "?") {
      re += "[\\s\\S]";
    } else if (c === "[") {
      let j = i;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        re += "\\[";
      } else {
        let body = pattern.slice(i, j);
        i = j + 1;
        let negate = false;
        if (body.startsWith("!")) {
          negate = true;
          body = body.slice(1);
        }
        // Escape what is special inside a JS character class; keep "-" ranges as in fnmatch.
        const cls = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
        re += cls === "" ? (negate ? "[\\s\\S]" : "(?!)") : `[${negate ? "^" : ""}${cls}]`;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
    }
  }
  return new RegExp(`^(?:${re})$`);
}

function normalize(p: string): string {
  return p.replace(/\\/g, "/");
}

/** Parses the text of a filter file (`--filter-from`). @internal */
export function parseFilterRules(text: string): FilterRule[] {
  const rules: FilterRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("+")) rules.push(["+", line.slice(1).trim()]);
    else if (line.startsWith("-")) rules.push(["-", line.slice(1).trim()]);
    else rules.push(["+", line]);
  }
  return rules;
}

/** @internal */
export interface FilterOptions {
  include?: string[];
  exclude?: string[];
  /** Rules from a filter file, already parsed (see parseFilterRules). */
  filterRules?: FilterRule[];
}

/** @internal */
export class FilterMatcher {
  readonly #rules: [boolean, RegExp][];
  readonly #exclude: RegExp[];
  readonly #include: RegExp[];

  constructor(opts: FilterOptions = {}) {
    const compile = (p: string) => {
      if (typeof p !== "string") throw new InvalidArgumentError(`filter patterns must be strings, got ${typeof p}`);
      return fnmatchToRegExp(normalize(p));
    };
    this.#rules = (opts.filterRules ?? []).map(([sign, p]) => [sign === "+", compile(p)]);
    this.#exclude = (opts.exclude ?? []).map(compile);
    this.#include = (opts.include ?? []).map(compile);
  }

  /** True when `path` (relative, "/"-separated) passes the filters. */
  matches(path: string): boolean {
    for (const [include, re] of this.#rules) if (re.test(path)) return include;
    if (this.#exclude.some((re) => re.test(path))) return false;
    if (this.#include.some((re) => re.test(path))) return true;
    return this.#include.length === 0;
  }
}
