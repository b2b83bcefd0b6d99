/**
 * A browser's processes seen from /proc (Linux): the browser is launched with a tag among its arguments, so
 * its main process and every process below it can be found, their memory (RSS) and CPU time read. Tests and
 * bench/browser.ts measure a tab's memory with it: Chromium's renderer processes hold the pages and their
 * workers (a Blob's bytes live in the browser process).
 */
import { readdirSync, readFileSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./browsers.js";

export interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
}

/** Every process of this machine (those that vanish while they are read are left out). */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push({ pid: Number(e), ppid, cmd: readFileSync(`/proc/${e}/cmdline`, "utf8") });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `root` and its descendants. */
export function processTree(root: number): Proc[] {
  const all = processes();
  const kids = new Map<number, Proc[]>();
  for (const p of all) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const out = all.filter((p) => p.pid === root);
  const walk = (pid: number) => {
    for (const k of kids.get(pid) ?? []) {
      out.push(k);
      walk(k.pid);
    }
  };
  walk(root);
  return out;
}

/** Resident memory of a process in bytes (0 once it is gone). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time of a process (user + system, all its threads) in seconds (0 once it is gone). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Chromium launched so that its processes can be found. */
export interface TaggedChromium {
  browser: Browser;
  /** The browser's main process. */
  pid: number;
  /** RSS of its renderer processes (the tabs, with their workers), in bytes. */
  tabRss(): number;
  /** Its processes, each with its role: "tab" (renderer), "browser", "network" (the network service) or "other". */
  roles(): { pid: number; role: string }[];
}

let launched = 0;

/** Debian's Chromium (runtimes.ts: CHROMIUM, CHROMIUM_ARGS), headless, with a tag to find its processes by. */
export async function launchTaggedChromium(): Promise<TaggedChromium> {
  const tag = `--xet-test-run=${process.pid}-${++launched}-${Date.now()}`;
  // XET_CHROMIUM_ARGS: extra switches for a profiling run (e.g. --js-flags=--prof), space-separated.
  const extra = process.env.XET_CHROMIUM_ARGS?.split(" ").filter(Boolean) ?? [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extra, tag], headless: true });
  const main = processes().find((p) => p.cmd.includes(tag) && !p.cmd.includes("--type="));
  if (!main) {
    await browser.close();
    throw new Error("the browser's main process was not found in /proc");
  }
  const pid = main.pid;
  const role = (cmd: string) =>
    cmd.includes("--type=renderer") ? "tab" : !cmd.includes("--type=") ? "browser" : cmd.includes("NetworkService") ? "network" : "other";
  return {
    browser,
    pid,
    tabRss: () =>
      processTree(pid)
        .filter((p) => p.cmd.includes("--type=renderer"))
        .reduce((s, p) => s + rssOf(p.pid), 0),
    roles: () => processTree(pid).map((p) => ({ pid: p.pid, role: role(p.cmd) })),
  };
}
