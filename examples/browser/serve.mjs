#!/usr/bin/env node
// Serves the upload page (examples/browser/), the read-in-place page (examples/browser/read.html) and the package's
// built files (dist/) from the repository root, on another origin than the hub, and by default starts an embedded
// local hub for the pages to use.
//
//   npm run build && node examples/browser/serve.mjs        # local hub + page; prints the page's URL
//   HF_ENDPOINT=https://huggingface.co node examples/browser/serve.mjs   # page only, for the real Hub
//
// Environment: PORT (page, default 8080), HUB_PORT (local hub, default any free port), BUCKET (default
// demo/uploads). Any other static server works too: the page is plain HTML and ES modules.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm", // lets browsers compile while downloading (WebAssembly.instantiateStreaming)
  ".map": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** What the pages load: themselves, the shared read-in-place module, the build, and hyparquet (read.html). */
export const DEFAULT_ALLOW = ["/examples/browser/", "/examples/in-place/", "/dist/", "/node_modules/hyparquet/"];

/**
 * A static file server for `root`, answering only under the `allow` path prefixes (GET and HEAD). No
 * cross-origin isolation headers: the package needs no SharedArrayBuffer.
 */
export function startStaticServer({ root = ROOT, port = 0, host = "127.0.0.1", allow = DEFAULT_ALLOW } = {}) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    let path = decodeURIComponent(url.pathname);
    if (path === "/") {
      res.writeHead(302, { Location: `/examples/browser/${url.search}` }).end();
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    const allowed = allow.some((p) => path.startsWith(p)) && (file === root || file.startsWith(root + sep));
    if ((req.method !== "GET" && req.method !== "HEAD") || !allowed || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(req.method === "GET" || req.method === "HEAD" ? 404 : 405, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Content-Length": statSync(file).size,
      "Cache-Control": "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolvePromise({
        url: `http://${host}:${addr.port}`,
        port: addr.port,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(ROOT, "dist", "web", "browser.js"))) {
    console.error("dist/ is not built: run `npm run build` first");
    process.exit(1);
  }
  let hubUrl = process.env.HF_ENDPOINT;
  let token = process.env.HF_TOKEN ?? "";
  const cleanups = [];
  if (!hubUrl) {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { startLocalHub } = await import("../../dist/server/index.js"); // the local hub's build (xet-buckets-hub)
    token = "hf_demo_local_token";
    const dataDir = await mkdtemp(join(tmpdir(), "xet-buckets-browser-hub-"));
    const hub = await startLocalHub({ dataDir, port: Number(process.env.HUB_PORT ?? 0), users: [{ name: "demo", token }] });
    cleanups.push(
      () => hub.close(),
      () => rm(dataDir, { recursive: true, force: true }),
    );
    hubUrl = hub.url;
    console.log(`Local hub on ${hubUrl} (data in ${dataDir}, deleted on exit; user "demo", token ${token})`);
  }
  const site = await startStaticServer({ port: Number(process.env.PORT ?? 8080) });
  cleanups.unshift(() => site.close());
  const q = new URLSearchParams({ hub: hubUrl, bucket: process.env.BUCKET ?? "demo/uploads", ...(token ? { token } : {}) });
  const r = new URLSearchParams({ hub: hubUrl, bucket: process.env.BUCKET ?? "demo/tables", ...(token ? { token } : {}) });
  console.log(`Upload page: ${site.url}/examples/browser/?${q}`);
  console.log(`Read-in-place page: ${site.url}/examples/browser/read.html?${r}`);
  console.log(`  (tables for it: HF_ENDPOINT=${hubUrl} HF_TOKEN=${token || "hf_..."} node examples/node/read-in-place.mjs)`);
  console.log("(Ctrl-C to stop)");
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      for (const c of cleanups) await c().catch(() => undefined);
      process.exit(0);
    });
  }
}
