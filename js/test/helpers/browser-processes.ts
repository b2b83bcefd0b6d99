/**
 * A browser's processes seen from /proc (Linux): Chromium is launched with a tag among its arguments (Firefox
 * runs below the geckodriver that started it), so its main process and every process below it can be found,
 * their memory (RSS) and CPU time read. Tests and bench/browser.ts measure a tab's memory with it: Chromium's
 * renderer processes hold the pages and their workers (a Blob's bytes live in the browser process); Firefox's
 * content processes of type "tab" do (its preallocated ones, idle, count in the idle page too).
 */
import { readdirSync, readFileSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, launchBrowser, type BrowserName, type TestBrowser } from "./browsers.js";

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
  const tag = newTag();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, tag], headless: true });
  const pid = chromiumMain(tag);
  if (pid === undefined) {
    await browser.close();
    throw new Error("the browser's main process was not found in /proc");
  }
  return { browser, pid, ...measured("chromium", pid) };
}

/** A tag (a switch Chromium ignores) unique to one launch. */
const newTag = () => `--xet-test-run=${process.pid}-${++launched}-${Date.now()}`;

/** The main process of the Chromium launched with `tag`. */
const chromiumMain = (tag: string) => processes().find((p) => p.cmd.includes(tag) && !p.cmd.includes("--type="))?.pid;

/** The tabs' RSS and the processes' roles of browser `name` whose processes run below `root`. */
function measured(name: BrowserName, root: number): Pick<MeasuredBrowser, "tabRss" | "roles"> {
  const roles = () => processTree(root).map((p) => ({ pid: p.pid, role: roleOf(name, p.cmd) }));
  // The tab processes, found again at most every 500 ms: samplers call tabRss every 50 ms, and walking every
  // process of the machine that often cost the measuring process ≈ 2 CPU-s per 12 s of upload (taken from
  // the browser on a 2-core machine) where reading the tabs' RSS costs next to nothing.
  let tabs: { at: number; pids: number[] } | undefined;
  return {
    roles,
    tabRss: () => {
      const now = performance.now();
      if (!tabs || now - tabs.at >= 500) tabs = { at: now, pids: roles().flatMap((p) => (p.role === "tab" ? [p.pid] : [])) };
      return tabs.pids.reduce((s, pid) => s + rssOf(pid), 0);
    },
  };
}

/** A browser (browsers.ts) whose processes are known: its tabs' memory, and each process's role. */
export interface MeasuredBrowser {
  browser: TestBrowser;
  /** RSS of the processes that hold its pages and their workers, in bytes. */
  tabRss(): number;
  /** Its processes, each with its role: "tab", "browser", "network" or "other". */
  roles(): { pid: number; role: string }[];
}

/** The role of a process of `name` from its command line (NUL-separated, as /proc gives it). */
function roleOf(name: BrowserName, cmd: string): string {
  if (name === "chromium")
    return cmd.includes("--type=renderer")
      ? "tab"
      : !cmd.includes("--type=")
        ? "browser"
        : cmd.includes("NetworkService")
          ? "network"
          : "other";
  // Firefox rewrites its processes' command lines (one string, spaces between the arguments); a content
  // process's type is its last argument.
  const args = cmd.split(/[\0\s]+/).filter(Boolean);
  if (!args.includes("-contentproc")) return /firefox/.test(args[0] ?? "") && !args.includes("forkserver") ? "browser" : "other";
  const kind = args.at(-1);
  return kind === "tab" ? "tab" : kind === "socket" ? "network" : "other";
}

/**
 * `name` through browsers.ts's `launchBrowser` (the page API of the tests), with its processes found in /proc.
 * `XET_CHROMIUM_ARGS` (space-separated) adds Chromium switches, e.g. `--js-flags=--prof` for a profile.
 */
export async function launchMeasuredBrowser(name: BrowserName): Promise<MeasuredBrowser> {
  const tag = newTag();
  const extra = process.env.XET_CHROMIUM_ARGS?.split(" ").filter(Boolean) ?? [];
  const browser = await launchBrowser(name, { chromiumArgs: [...extra, tag] });
  const root = name === "chromium" ? chromiumMain(tag) : browser.driverPid;
  if (root === undefined) {
    await browser.close();
    throw new Error(`${name}'s main process was not found in /proc`);
  }
  return { browser, ...measured(name, root) };
}
