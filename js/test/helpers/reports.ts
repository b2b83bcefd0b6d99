/**
 * The reliability report: every reliability suite adds its counts to test-artifacts/reliability/<suite>.json;
 * report.test.ts (last in alphabetical order) gathers them into RELIABILITY.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./files.js";

export const REPORT_DIR = join(ROOT, "test-artifacts", "reliability");

export interface SuiteReport {
  suite: string;
  /** Free-form counters (see report.test.ts for the ones it reads). */
  [k: string]: unknown;
}

export function saveSuiteReport(r: SuiteReport): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(join(REPORT_DIR, `${r.suite}.json`), JSON.stringify({ ...r, writtenAt: new Date().toISOString() }, null, 2));
}

export function loadSuiteReports(): SuiteReport[] {
  if (!existsSync(REPORT_DIR)) return [];
  return readdirSync(REPORT_DIR)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(REPORT_DIR, n), "utf8")) as SuiteReport);
}
