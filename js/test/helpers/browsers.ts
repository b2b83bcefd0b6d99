/**
 * The browsers the in-browser tests run in, behind one small page API: Debian's chromium driven by
 * playwright-core, and Debian's firefox-esr driven over W3C WebDriver by a geckodriver this module starts
 * (`scripts/setup.mjs --browser` installs all three). Playwright's own Firefox build cannot be installed
 * here, and the WebDriver packages on npm fetch drivers and browsers of their own, so Firefox is spoken to
 * with the handful of WebDriver commands the tests need (session, navigate, execute, click, actions, alert,
 * screenshot), over plain `fetch`.
 *
 * ```ts
 * for (const name of BROWSERS) describe(name, () => {
 *   let browser: TestBrowser;
 *   before(async () => (browser = await launchBrowser(name)));
 *   after(() => browser?.close());
 *   test("…", async () => {
 *     const page = await browser.newPage();
 *     await page.goto(url);
 *     assert.equal(await page.evaluate<number>("1 + 1"), 2);
 *     await page.close();
 *   });
 * });
 * ```
 *
 * One browser per suite, pages opened and closed in turn (Firefox: tabs of one WebDriver session). Console
 * messages and uncaught page errors are collected per page (`page.messages`): Chromium reports them through
 * playwright; Firefox prints content console calls and script errors to its stdout
 * (`devtools.console.stdout.content`), which this module reads and gives to the page open at the time.
 *
 * Firefox differs from Chromium where it matters to the client: no streaming request bodies (the client
 * sends `Uint8Array`s everywhere but Node), module workers and IndexedDB work as in Chromium. Nothing it
 * does leaves the machine: every non-loopback connection is sent to a proxy port nobody listens on.
 *
 * Environment: `XET_TEST_BROWSERS=chromium,firefox` (the default: both) picks the browsers; `CHROMIUM_PATH`,
 * `FIREFOX_PATH`, `GECKODRIVER_PATH` override the binaries.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { chromium, type Browser as PwBrowser, type Page as PwPage } from "playwright-core";

export type BrowserName = "chromium" | "firefox";

/** Browsers the tests run in, from `XET_TEST_BROWSERS` (comma-separated), default both. */
export const BROWSERS: readonly BrowserName[] = (process.env.XET_TEST_BROWSERS ?? "chromium,firefox")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is BrowserName => s === "chromium" || s === "firefox");

/** Debian's chromium (`CHROMIUM_PATH` overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Debian's firefox-esr (`FIREFOX_PATH` overrides). */
export const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
/** geckodriver: `GECKODRIVER_PATH`, else cargo's bin directory (`cargo install geckodriver`), else PATH. */
export const GECKODRIVER = process.env.GECKODRIVER_PATH ?? findOnPath("geckodriver", [join(homedir(), ".cargo", "bin")]);

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Firefox preferences: console output on stdout (content only, not the browser's own), no delay on the
 * folder-upload confirmation's button, and no traffic beyond loopback (no telemetry, updates, remote
 * settings, captive-portal or connectivity checks, prefetch; anything left goes to a dead proxy).
 */
const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  "devtools.console.stdout.content": true,
  "devtools.console.stdout.chrome": false,
  "security.dialog_enable_delay": 0,
  "browser.chrome.site_icons": false,
  "network.proxy.type": 1,
  "network.proxy.share_proxy_settings": true,
  "network.proxy.http": "127.0.0.1",
  "network.proxy.http_port": 9,
  "network.proxy.ssl": "127.0.0.1",
  "network.proxy.ssl_port": 9,
  "network.proxy.allow_hijacking_localhost": false,
  "network.trr.mode": 5,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "network.http.speculative-parallel-limit": 0,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "services.settings.server": "http://127.0.0.1:9/",
  "messaging-system.rsexperimentloader.enabled": false,
  "app.normandy.enabled": false,
  "app.update.disabledForTesting": true,
  "toolkit.telemetry.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "datareporting.healthreport.uploadEnabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "extensions.update.enabled": false,
  "extensions.getAddons.cache.enabled": false,
  "geo.provider.network.url": "",
  "identity.fxaccounts.enabled": false,
};

/** A console message or an uncaught error (`pageerror`) of a page. */
export interface ConsoleEntry {
  type: "log" | "info" | "debug" | "warning" | "error" | "pageerror";
  text: string;
}

export interface TestPage {
  /** Console messages and uncaught errors while this page was open (its workers' console calls included). */
  readonly messages: ConsoleEntry[];
  /** Navigates and waits for the `load` event. */
  goto(url: string): Promise<void>;
  /**
   * Evaluates in the page and returns the JSON-able result, awaited if it is a promise: an expression as a
   * string, or a function (its source, so no closures; tsx's helpers are not in the page either) with one
   * JSON-able argument. A rejection or a throw in the page rejects with its message.
   */
  evaluate<T = unknown>(script: string): Promise<T>;
  evaluate<T = unknown, A = unknown>(fn: (arg: A) => unknown, arg: A): Promise<T>;
  /** Resolves when `expression` is truthy in the page; rejects after `timeoutMs` (default 30 s). */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** A user's click on the element (trusted events). */
  click(selector: string): Promise<void>;
  /**
   * Picks `path` in a file input as a user would: a file, or a folder for a `webkitdirectory` input (the
   * browser then lists the folder's files with their `webkitRelativePath`). A hidden input is reached
   * through its label.
   */
  setInputFiles(selector: string, path: string): Promise<void>;
  /** A PNG of the whole page. */
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestBrowser {
  readonly name: BrowserName;
  /** Firefox: geckodriver's process (Firefox and its processes run below it). */
  readonly driverPid?: number;
  newPage(options?: { width?: number; height?: number }): Promise<TestPage>;
  close(): Promise<void>;
}

/** Why `name` cannot run here (a missing binary, with the command that installs it), or undefined. */
export function browserMissing(name: BrowserName): string | undefined {
  const setup = "run `node scripts/setup.mjs --browser`";
  if (name === "chromium") return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: ${setup} (Debian's chromium)`;
  if (!existsSync(FIREFOX)) return `${FIREFOX} is missing: ${setup} (Debian's firefox-esr)`;
  if (!GECKODRIVER) return `geckodriver is missing: ${setup} (cargo install geckodriver)`;
  return undefined;
}

/** Starts a headless browser; throws if it is missing. `chromiumArgs`: switches added to Chromium's. */
export async function launchBrowser(name: BrowserName, options: { chromiumArgs?: string[] } = {}): Promise<TestBrowser> {
  const missing = browserMissing(name);
  if (missing) throw new Error(missing);
  return name === "chromium" ? launchChromium(options.chromiumArgs ?? []) : launchFirefox();
}

function findOnPath(cmd: string, extra: string[]): string | undefined {
  for (const dir of [...extra, ...(process.env.PATH ?? "").split(delimiter)]) {
    const p = join(dir, cmd);
    if (dir && existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

const fnSource = (fn: unknown, arg: unknown) => `(${String(fn)})(${JSON.stringify(arg ?? null)})`;

// ----- Chromium (playwright-core) ----------------------------------------------------------------------

async function launchChromium(extraArgs: string[]): Promise<TestBrowser> {
  const browser: PwBrowser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
  return {
    name: "chromium",
    async newPage({ width = 1280, height = 720 } = {}) {
      const page = await browser.newPage({ viewport: { width, height } });
      return chromiumPage(page);
    },
    close: () => browser.close(),
  };
}

function chromiumPage(page: PwPage): TestPage {
  const messages: ConsoleEntry[] = [];
  page.on("console", (m) => {
    const t = m.type();
    messages.push({ type: t === "warning" || t === "error" || t === "info" || t === "debug" ? t : "log", text: m.text() });
  });
  page.on("pageerror", (e) => messages.push({ type: "pageerror", text: e.message }));
  return {
    messages,
    goto: async (url) => void (await page.goto(url)),
    evaluate: <T>(script: string | ((arg: unknown) => unknown), arg?: unknown) =>
      (typeof script === "string" ? page.evaluate(script) : page.evaluate(script, arg)) as Promise<T>,
    waitFor: async (expression, timeoutMs = 30_000) => void (await page.waitForFunction(expression, undefined, { timeout: timeoutMs })),
    click: (selector) => page.click(selector),
    setInputFiles: (selector, path) => page.setInputFiles(selector, path),
    screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
    close: () => page.close(),
  };
}

// ----- Firefox (geckodriver, W3C WebDriver over HTTP) --------------------------------------------------

/** The W3C element reference key. */
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
type ElementRef = { [ELEMENT]: string };

class WebDriverError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

async function launchFirefox(): Promise<TestBrowser> {
  const driver = spawn(GECKODRIVER!, ["--host", "127.0.0.1", "--port", "0", "--binary", FIREFOX, "--allow-system-access"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = new FirefoxOutput();
  let current: ConsoleEntry[] | undefined;
  output.onEntry = (e) => current?.push(e);
  driver.stdout!.on("data", (d: Buffer) => output.push(d));
  driver.stderr!.on("data", (d: Buffer) => output.push(d));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`geckodriver did not start: ${output.raw}`)), 30_000);
    output.onListening = (url) => {
      clearTimeout(timer);
      resolve(url);
    };
    driver.once("exit", (code) => reject(new Error(`geckodriver exited with code ${code}: ${output.raw}`)));
    driver.once("error", reject);
  });

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { value: T & { error?: string; message?: string } };
    if (!res.ok) throw new WebDriverError(json.value.error ?? String(res.status), `WebDriver ${method} ${path}: ${json.value.message}`);
    return json.value;
  }

  let session: { sessionId: string };
  try {
    session = await call("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "firefox",
          unhandledPromptBehavior: "ignore",
          timeouts: { script: 600_000, pageLoad: 60_000, implicit: 0 },
          "moz:firefoxOptions": { binary: FIREFOX, args: ["-headless"], prefs: FIREFOX_PREFS },
        },
      },
    });
  } catch (err) {
    driver.kill();
    throw err;
  }
  const s = `/session/${session.sessionId}`;
  const home = await call<string>("GET", `${s}/window`);
  let pickerInstalled = false;

  /**
   * Runs `script` (an expression) in the page's own realm: WebDriver runs scripts in a sandbox whose
   * built-ins are not the page's (a `Uint8Array` made there fails the page's `instanceof Uint8Array`), so the
   * expression goes into a <script> element and its outcome comes back as JSON in an event.
   */
  const exec = async <T>(script: string): Promise<T> => {
    const r = await call<{ ok: boolean; value?: T; error?: string }>("POST", `${s}/execute/async`, {
      script: `const [source, done] = arguments;
        const id = "xet-test-eval-" + Math.random().toString(36).slice(2);
        window.addEventListener(id, (e) => done(JSON.parse(e.detail)), { once: true });
        const el = document.createElement("script");
        el.textContent = "(async () => (" + source + "))().then(" +
          "(value) => ({ ok: true, value: value === undefined ? null : value })," +
          "(e) => ({ ok: false, error: e && e.message !== undefined ? String(e.message) : String(e) }))" +
          ".then((r) => dispatchEvent(new CustomEvent(" + JSON.stringify(id) + ", { detail: JSON.stringify(r) })));";
        (document.head ?? document.documentElement).append(el);
        el.remove();`,
      args: [script],
    });
    if (!r.ok) throw new Error(`in Firefox: ${r.error}`);
    return r.value as T;
  };
  const find = (selector: string) => call<ElementRef>("POST", `${s}/element`, { using: "css selector", value: selector });
  const userClick = (el: ElementRef) =>
    call("POST", `${s}/actions`, {
      actions: [
        {
          type: "pointer",
          id: "mouse",
          parameters: { pointerType: "mouse" },
          actions: [
            { type: "pointerMove", origin: el, x: 0, y: 0 },
            { type: "pointerDown", button: 0 },
            { type: "pointerUp", button: 0 },
          ],
        },
      ],
    });

  /**
   * A folder picker in the browser's parent process that answers the folder named by a preference: Firefox
   * then lists the folder and fills the input as after a user's pick (WebDriver can only type file paths).
   */
  async function installFolderPicker(): Promise<void> {
    if (pickerInstalled) return;
    await call("POST", `${s}/moz/context`, { context: "chrome" });
    try {
      await call("POST", `${s}/execute/sync`, {
        args: [],
        script: `
          const folder = () => {
            const f = Cc["@mozilla.org/file/local;1"].createInstance(Ci.nsIFile);
            f.initWithPath(Services.prefs.getStringPref("xet-test.picker-folder"));
            return f;
          };
          class Picker {
            QueryInterface = ChromeUtils.generateQI(["nsIFilePicker"]);
            defaultString = ""; defaultExtension = ""; filterIndex = 0; displayDirectory = null; displaySpecialDirectory = "";
            addToRecentDocs = false; okButtonLabel = ""; capture = 0;
            init(_context, _title, mode) { this.mode = mode; }
            appendFilter() {}
            appendFilters() {}
            appendRawFilter() {}
            isModeSupported() { return Promise.resolve(true); }
            get file() { return folder(); }
            get fileURL() { return Services.io.newFileURI(folder()); }
            get files() { return [folder()].values(); }
            get domFileOrDirectory() { return null; }
            get domFileOrDirectoryEnumerator() { return [].values(); }
            open(callback) { Services.tm.dispatchToMainThread(() => callback.done(Ci.nsIFilePicker.returnOK)); }
            close() {}
          }
          Components.manager.QueryInterface(Ci.nsIComponentRegistrar).registerFactory(
            Components.ID("{5b1f0c7e-2a41-4c39-9d0e-7f3a61c2b8d4}"),
            "xet-buckets test folder picker",
            "@mozilla.org/filepicker;1",
            { createInstance: (iid) => new Picker().QueryInterface(iid), QueryInterface: ChromeUtils.generateQI(["nsIFactory"]) },
          );`,
      });
      pickerInstalled = true;
    } finally {
      await call("POST", `${s}/moz/context`, { context: "content" });
    }
  }

  async function setFolderPref(path: string): Promise<void> {
    await call("POST", `${s}/moz/context`, { context: "chrome" });
    try {
      await call("POST", `${s}/execute/sync`, {
        script: `Services.prefs.setStringPref("xet-test.picker-folder", arguments[0]);`,
        args: [path],
      });
    } finally {
      await call("POST", `${s}/moz/context`, { context: "content" });
    }
  }

  let open: string | undefined;
  return {
    name: "firefox",
    driverPid: driver.pid,
    async newPage({ width = 1280, height = 720 } = {}) {
      // One page at a time (a failed test may have left its page open).
      if (open) {
        await call("POST", `${s}/window`, { handle: open });
        await call("DELETE", `${s}/window`);
        await call("POST", `${s}/window`, { handle: home });
        open = undefined;
      }
      const { handle } = await call<{ handle: string }>("POST", `${s}/window/new`, { type: "tab" });
      await call("POST", `${s}/window`, { handle });
      await call("POST", `${s}/window/rect`, { width, height });
      open = handle;
      const messages: ConsoleEntry[] = [];
      current = messages;
      const page: TestPage = {
        messages,
        goto: async (url) => void (await call("POST", `${s}/url`, { url })),
        evaluate: <T>(script: string | ((arg: unknown) => unknown), arg?: unknown) =>
          exec<T>(typeof script === "string" ? script : fnSource(script, arg)),
        async waitFor(expression, timeoutMs = 30_000) {
          const ok = await exec<boolean>(`new Promise((resolve) => {
            const deadline = Date.now() + ${timeoutMs};
            const poll = () => {
              let v = false;
              try { v = !!(${expression}); } catch {}
              if (v || Date.now() > deadline) resolve(v);
              else setTimeout(poll, 50);
            };
            poll();
          })`);
          if (!ok) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
        },
        click: async (selector) => void (await call("POST", `${s}/element/${(await find(selector))[ELEMENT]}/click`, {})),
        async setInputFiles(selector, path) {
          if (!statSync(path).isDirectory()) {
            await call("POST", `${s}/element/${(await find(selector))[ELEMENT]}/value`, { text: path });
            return;
          }
          await installFolderPicker();
          await setFolderPref(path);
          // A hidden input is opened by clicking its label, as a user does.
          const target = await call<ElementRef>("POST", `${s}/execute/sync`, {
            script: `const el = document.querySelector(arguments[0]); return el.hidden && el.labels.length ? el.labels[0] : el;`,
            args: [selector],
          });
          await userClick(target);
          // Firefox asks before giving a site a whole folder; the user agrees.
          const deadline = Date.now() + 10_000;
          for (;;) {
            try {
              await call("GET", `${s}/alert/text`);
              await call("POST", `${s}/alert/accept`, {});
              return;
            } catch (err) {
              if (!(err instanceof WebDriverError && err.error === "no such alert") || Date.now() > deadline) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        },
        async screenshot(path) {
          const b64 = await call<string>("GET", `${s}/moz/screenshot/full`);
          await writeFile(path, Buffer.from(b64, "base64"));
        },
        async close() {
          if (open !== handle) return;
          await call("DELETE", `${s}/window`);
          await call("POST", `${s}/window`, { handle: home });
          open = undefined;
          // Messages printed while the tab closes still belong to it.
          await new Promise((r) => setTimeout(r, 50));
          if (current === messages) current = undefined;
        },
      };
      return page;
    },
    async close() {
      try {
        await call("DELETE", s);
      } finally {
        driver.kill();
        await new Promise((r) => (driver.exitCode !== null ? r(undefined) : driver.once("exit", r)));
      }
    },
  };
}

/**
 * geckodriver's and Firefox's output, line by line: the address geckodriver listens on, then content
 * console messages (`console.error: "text" …`, continued on the next lines) and script errors
 * (`JavaScript error: URL, line N: message`; the browser's own, from chrome:// and resource:// URLs, are
 * left out).
 */
class FirefoxOutput {
  raw = "";
  onListening?: (url: string) => void;
  onEntry?: (e: ConsoleEntry) => void;
  private partial = "";
  private entry: ConsoleEntry | undefined;

  push(chunk: Buffer): void {
    if (this.raw.length < 20_000) this.raw += chunk.toString();
    const lines = (this.partial + chunk.toString()).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.line(line);
    // A message is complete once the output pauses after it.
    if (this.partial === "") this.flush();
  }

  private flush(): void {
    if (this.entry) this.onEntry?.(this.entry);
    this.entry = undefined;
  }

  private line(line: string): void {
    const listening = /\bgeckodriver\s+INFO\s+Listening on (\S+)/.exec(line);
    if (listening) {
      this.onListening?.(`http://${listening[1]}`);
      return;
    }
    const console_ = /^console\.(log|info|debug|warn|error): (.*)$/.exec(line);
    const jsError = /^JavaScript error: (\S*), line \d+: (.*)$/.exec(line);
    if (console_ || jsError || /^\d{10,}\t/.test(line)) this.flush();
    if (console_) {
      const type = console_[1] === "warn" ? "warning" : (console_[1] as ConsoleEntry["type"]);
      this.entry = { type, text: unquote(console_[2]) };
    } else if (jsError) {
      if (!/^(chrome|resource|moz-extension):/.test(jsError[1])) this.onEntry?.({ type: "pageerror", text: jsError[2] });
    } else if (this.entry) {
      this.entry.text += `\n${line}`;
    }
  }
}

/** Firefox prints a string argument quoted (`"text"`): the text itself, as Chromium reports it. */
function unquote(s: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"(.*)$/.exec(s);
  if (!m) return s;
  let text: string;
  try {
    text = JSON.parse(`"${m[1]}"`) as string;
  } catch {
    text = m[1];
  }
  return text + m[2];
}
