/** Benchmark plumbing: writes each benchmark's section of BENCHMARKS.md in place, with the command and machine. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH_DATA = join(ROOT, "bench-data");
const FILE = join(ROOT, "BENCHMARKS.md");

const PREAMBLE = `# Benchmarks

Written by the benchmark scripts (\`npm run bench\`); do not edit by hand. Every figure comes with the
command that produced it. These machines are noisy, so each comparison is a **ratio against an anchor
measured in the same run**; absolute numbers are for orientation only.
`;

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model?.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

/** Replaces (or appends) the section `id` of BENCHMARKS.md. */
export function writeSection(id: string, title: string, command: string, body: string): void {
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const section = `${start}\n## ${title}\n\nCommand: \`${command}\`  \nRun: ${new Date().toISOString()} on ${machine()}\n\n${body.trim()}\n${end}`;
  let text = existsSync(FILE) ? readFileSync(FILE, "utf8") : PREAMBLE;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + section + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, text);
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function ensureDir(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
