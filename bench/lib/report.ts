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

/** Deterministic pseudo-random bytes (xorshift128+; fast, seeded), for reproducible benchmark inputs. */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  let s0 = (seed * 0x9e3779b9) >>> 0 || 1;
  let s1 = (seed ^ 0x85ebca6b) >>> 0 || 2;
  let s2 = 0xc2b2ae35 ^ seed;
  let s3 = 0x27d4eb2f;
  for (let i = 0; i < words.length; i++) {
    // xoshiro128** core
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    words[i] = r;
  }
  for (let i = words.length * 4; i < n; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
