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
import { translateGlob } from "../fs/glob.js";

export type FilterRule = ["+" | "-", string];

/** Translates an fnmatch pattern into an anchored regular expression (as Python's fnmatch.translate). */
export function fnmatchToRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${translateGlob(pattern, false)})$`);
}

function normalize(p: string): string {
  return p.replace(/\\/g, "/");
}

/** Parses the text of a filter file (`--filter-from`). */
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

export interface FilterOptions {
  include?: string[];
  exclude?: string[];
  /** Rules from a filter file, already parsed (see parseFilterRules). */
  filterRules?: FilterRule[];
}

export class FilterMatcher {
  readonly #rules: [boolean, RegExp][];
  readonly #exclude: RegExp[];
  readonly #include: RegExp[];

  constructor(opts: FilterOptions = {}) {
    for (const k of ["include", "exclude", "filterRules"] as const) {
      if (opts[k] !== undefined && !Array.isArray(opts[k])) throw new InvalidArgumentError(`${k} must be an array of patterns`);
    }
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
