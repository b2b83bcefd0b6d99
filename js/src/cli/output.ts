/**
 * Output of the `xet-buckets` commands, in the `hf` CLI's four formats:
 *
 * - `human` (the default, `--format auto`): `✓ message` plus `key: value` lines, padded tables with
 *   SCREAMING_SNAKE headers, indented JSON for records;
 * - `agent`: `key=value` pairs, tab-separated tables, compact JSON records (stable, for tools);
 * - `json` (`--json`): one JSON document per result on stdout;
 * - `quiet` (`-q`): ids or paths only, one per line.
 *
 * Results go to stdout; hints, warnings and progress to stderr (hints and progress never in quiet mode).
 */
import type { CommandIo } from "./util.js";

export type OutputMode = "human" | "agent" | "json" | "quiet";

// eslint-disable-next-line no-control-regex -- ANSI escapes are what it matches
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/** Escapes control characters so names from the Hub cannot move the cursor or clear the screen. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const map: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return map[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

export class Output {
  readonly mode: OutputMode;
  readonly #io: CommandIo;
  readonly #color: boolean;

  constructor(mode: OutputMode, io: CommandIo) {
    this.mode = mode;
    this.#io = io;
    this.#color = mode === "human" && !!io.stdout.isTTY && !io.env.NO_COLOR;
  }

  get quiet(): boolean {
    return this.mode === "quiet";
  }
  get json(): boolean {
    return this.mode === "json";
  }

  #line(s: string): void {
    this.#io.stdout.write(s + "\n");
  }

  green(s: string): string {
    return this.#color ? `\x1b[32m${s}\x1b[0m` : s;
  }

  /** A success summary: `✓ message` + `key: value` (human), `k=v …` (agent), JSON (json), first value (quiet). */
  result(message: string, data: Record<string, unknown> = {}): void {
    const entries = Object.entries(data).filter(([, v]) => v !== undefined && v !== null);
    switch (this.mode) {
      case "human":
        this.#line([this.green(`✓ ${message}`), ...entries.map(([k, v]) => `  ${k}: ${fmt(v)}`)].join("\n"));
        break;
      case "agent":
        this.#line(entries.length ? entries.map(([k, v]) => `${k}=${fmt(v)}`).join(" ") : message);
        break;
      case "json":
        this.#line(JSON.stringify(Object.fromEntries(entries)));
        break;
      case "quiet":
        if (entries.length) this.#line(fmt(entries[0]![1]));
        break;
    }
  }

  /** A record: indented JSON (human), compact JSON (agent, json), `data[idKey]` (quiet). */
  dict(data: Record<string, unknown>, idKey?: string): void {
    if (this.mode === "quiet" && idKey) {
      this.#line(String(data[idKey] ?? ""));
      return;
    }
    this.#line(JSON.stringify(data, null, this.mode === "human" ? 2 : undefined));
  }

  /** Rows: a padded table (human), TSV (agent), a JSON array (json), the `idKey` column (quiet). */
  table(items: Record<string, unknown>[], opts: { idKey?: string; right?: string[] } = {}): void {
    if (items.length === 0) {
      if (this.mode === "json") this.#line("[]");
      else if (this.mode !== "quiet") this.#line("No results found.");
      return;
    }
    const headers = Object.keys(items[0]!).filter((h) => items.some((it) => it[h] !== undefined && it[h] !== null));
    switch (this.mode) {
      case "json":
        this.#line(JSON.stringify(items));
        return;
      case "quiet": {
        const key = opts.idKey ?? headers[0]!;
        for (const it of items) this.#line(printable(String(it[key] ?? "")));
        return;
      }
      case "agent":
        this.#line(headers.join("\t"));
        for (const it of items) this.#line(headers.map((h) => printable(cell(it[h], false))).join("\t"));
        return;
      case "human": {
        const rows = items.map((it) => headers.map((h) => printable(cell(it[h], true))));
        const names = headers.map((h) => h.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase());
        const widths = names.map((n, c) => Math.max(n.length, ...rows.map((r) => r[c]!.length)));
        const right = new Set(
          headers
            .filter(
              (h) => opts.right?.includes(h) || items.every((it) => it[h] === undefined || it[h] === null || typeof it[h] === "number"),
            )
            .map((h) => headers.indexOf(h)),
        );
        const pad = (s: string, c: number) => (right.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!));
        this.#line(names.map(pad).join(" ").trimEnd());
        this.#line(widths.map((w) => "-".repeat(w)).join(" "));
        for (const r of rows) this.#line(r.map(pad).join(" ").trimEnd());
        return;
      }
    }
  }

  /** Free text on stdout (human and agent only). */
  text(s: string): void {
    if (this.mode === "human") this.#line(s);
    else if (this.mode === "agent") this.#line(s.replace(ANSI_RE, ""));
  }

  /** Raw line on stdout in every mode. */
  print(s: string): void {
    this.#line(s);
  }

  /** `Hint: …` on stderr (not in quiet mode). */
  hint(s: string): void {
    if (this.mode !== "quiet") this.#io.stderr.write(`Hint: ${s}\n`);
  }

  /** A message on stderr (not in quiet mode). */
  log(s: string): void {
    if (this.mode !== "quiet") this.#io.stderr.write(`${s}\n`);
  }

  /** `Warning: …` on stderr, in every mode. */
  warning(s: string): void {
    this.#io.stderr.write(`Warning: ${s}\n`);
  }
}

function fmt(v: unknown): string {
  if (typeof v === "string") return printable(v);
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function cell(v: unknown, human: boolean): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "boolean") return human ? (v ? "✔" : "") : String(v);
  if (typeof v === "string" && human && /^\d{4}-\d{2}-\d{2}T/.test(v)) return v.slice(0, 10);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v).replace(/\s+/g, " ");
}

/** hf's sizes: decimal units, "123 B", "1.2 KB", "3.4 MB"…; raw byte counts without `human`. */
export function formatSize(size: number, human = true): string {
  if (!human) return String(size);
  let s = size;
  for (const unit of ["B", "KB", "MB", "GB", "TB"]) {
    if (s < 1000) return unit === "B" ? `${s} ${unit}` : `${s.toFixed(1)} ${unit}`;
    s /= 1000;
  }
  return `${s.toFixed(1)} PB`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** hf's listing dates (UTC): `2026-11-27 09:43:02`, or `Nov 27 09:43` with `human`. */
export function formatDate(iso: string | undefined, human = false): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  const hm = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  if (human) return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${hm}`;
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${hm}:${p(d.getUTCSeconds())}`;
}
