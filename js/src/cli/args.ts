/**
 * Command-line parsing for the `xet-buckets` commands: long options (`--name value`, `--name=value`),
 * short options (`-R`, bundles such as `-Ry`, `-x value`), repeatable options, `--x/--no-x` pairs, `--`
 * to end options, and `-` as a positional (stdin / stdout). Every mistake is a `UsageError` that names
 * the problem; the caller adds the command's usage.
 */
import { UsageError } from "./util.js";

export interface OptionSpec {
  /** Long name without the leading "--". */
  name: string;
  /** One-letter alias without the "-". */
  short?: string;
  type: "boolean" | "string";
  /** Repeatable: values collect into an array. */
  multiple?: boolean;
  /** Also accept `--no-<name>` (sets false). */
  negatable?: boolean;
  /** Allowed values of a string option. */
  choices?: readonly string[];
}

export interface CommandSpec {
  /** The command's name as typed ("list", "cp"…), used in messages. */
  name: string;
  usage: string;
  options: OptionSpec[];
  /** Names of the positional arguments, for messages; `?` marks an optional one (e.g. ["SRC", "DST?"]). */
  positionals: string[];
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

/** Parses `argv` against `spec`. Throws `UsageError` (with the spec's usage) on any mistake. */
export function parseCommand(argv: string[], spec: CommandSpec): Parsed {
  const fail = (msg: string): never => {
    throw new UsageError(msg, spec.usage);
  };
  const byLong = new Map(spec.options.map((o) => [o.name, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values: Values = {};
  const positionals: string[] = [];
  const set = (o: OptionSpec, v: string | boolean, shown: string) => {
    if (typeof v === "string" && o.choices && !o.choices.includes(v)) {
      fail(`${shown} must be one of ${o.choices.join(", ")}, got ${JSON.stringify(v)}`);
    }
    if (o.multiple) {
      const prev = values[o.name];
      values[o.name] = [...(Array.isArray(prev) ? prev : []), v as string];
    } else if (o.type === "string" && values[o.name] !== undefined && values[o.name] !== v) {
      fail(`${shown} is given twice (${JSON.stringify(values[o.name])} and ${JSON.stringify(v)})`);
    } else {
      values[o.name] = v;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      let o = byLong.get(name);
      let negated = false;
      if (!o && name.startsWith("no-")) {
        const base = byLong.get(name.slice(3));
        if (base?.negatable) {
          o = base;
          negated = true;
        }
      }
      if (!o) {
        const near = nearest(name, [...byLong.keys()]);
        fail(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ""}`);
      }
      const opt = o!;
      if (opt.type === "boolean") {
        if (inline !== undefined) fail(`--${name} takes no value, got --${name}=${inline}`);
        set(opt, !negated, `--${name}`);
      } else {
        let v = inline;
        if (v === undefined) {
          v = argv[++i];
          if (v === undefined) fail(`--${name} needs a value`);
        }
        set(opt, v!, `--${name}`);
      }
      continue;
    }
    if (arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg)) {
      // One or more short options; a string option takes the rest of the word or the next word.
      for (let k = 1; k < arg.length; k++) {
        const c = arg[k]!;
        const o = byShort.get(c);
        if (!o) fail(`unknown option -${c}${arg.length > 2 ? ` (in ${arg})` : ""}`);
        if (o!.type === "boolean") {
          set(o!, true, `-${c}`);
          continue;
        }
        let v: string | undefined = arg.slice(k + 1);
        if (v === "") {
          v = argv[++i];
          if (v === undefined) fail(`-${c} needs a value`);
        }
        set(o!, v!, `-${c}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  if (values.help) return { values, positionals };
  const required = spec.positionals.filter((p) => !p.endsWith("?"));
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length);
    fail(`missing ${missing.length > 1 ? "arguments" : "argument"} ${missing.join(" ")}`);
  }
  if (positionals.length > spec.positionals.length) {
    const extra = positionals.slice(spec.positionals.length);
    fail(
      spec.positionals.length === 0
        ? `${spec.name} takes no arguments, got ${extra.map((x) => JSON.stringify(x)).join(" ")}`
        : `too many arguments: ${extra.map((x) => JSON.stringify(x)).join(" ")} (expected ${spec.positionals.map((p) => (p.endsWith("?") ? `[${p.slice(0, -1)}]` : p)).join(" ")})`,
    );
  }
  return { values, positionals };
}

function nearest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** A string option as a non-negative integer, or a UsageError. */
export function intOption(v: unknown, flag: string, usage: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+$/.test(v))
    throw new UsageError(`${flag} expects a whole number ≥ 0, got ${JSON.stringify(v)}`, usage);
  return Number(v);
}
