#!/usr/bin/env node
// npm run pack: the repository's two npm packages, assembled from the build and pkg-template/ (whose README
// explains the manifests), each packed by `npm pack`:
//   pkg/client/ → pkg/xet-buckets-<version>.tgz       the client: dist/ without the hub and source maps; no
//                                                      dependencies, no install script
//   pkg/hub/    → pkg/xet-buckets-hub-<version>.tgz   the local hub: dist/server/ as its dist/, bin xet-buckets-hub,
//                                                      depending on xet-buckets (same version) and better-sqlite3
//
//   npm run pack                                  build (as npm run build), then assemble and pack into pkg/
//   node scripts/pack.mjs --no-build [--out DIR]  from the current dist/, into DIR (the tests use a temp dir)
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { ROOT, run } from "./setup.mjs";

const DIST = join(ROOT, "dist");
const TEMPLATES = join(ROOT, "pkg-template");

/** Fields of the root package.json that serve only development: never published. */
export const DEV_ONLY_FIELDS = [
  "private",
  "scripts",
  "devDependencies",
  "optionalDependencies",
  "allowScripts",
  "packageManager",
  "workspaces",
];

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/** The published client manifest: the root manifest without its development fields, then the template's fields. */
export function clientManifest(root, template) {
  const out = { ...root };
  for (const field of DEV_ONLY_FIELDS) delete out[field];
  return { ...out, ...template };
}

/** The hub manifest: its template, with the version and the `xet-buckets` dependency of this release. */
export function hubManifest(root, template) {
  if ("version" in template) throw new Error('pkg-template/hub/package.json must not set "version": the pack script sets it');
  const driver = template.dependencies?.["better-sqlite3"];
  if (driver !== root.devDependencies?.["better-sqlite3"]) {
    throw new Error(
      `pkg-template/hub/package.json depends on better-sqlite3 ${driver}, the repository tests with ${root.devDependencies?.["better-sqlite3"]}: make them equal`,
    );
  }
  const { name, description, ...rest } = template;
  return {
    name,
    version: root.version,
    description,
    ...rest,
    dependencies: { "xet-buckets": root.version, ...template.dependencies },
  };
}

/** Every file path a manifest points at: main, module, types, browser, bin and the targets of `exports`. */
function manifestTargets(manifest) {
  const out = [manifest.main, manifest.module, manifest.types, manifest.browser];
  if (typeof manifest.bin === "string") out.push(manifest.bin);
  else if (manifest.bin) out.push(...Object.values(manifest.bin));
  const walk = (v) => (typeof v === "string" ? out.push(v) : v && typeof v === "object" && Object.values(v).forEach(walk));
  walk(manifest.exports);
  return out.filter((t) => typeof t === "string");
}

/** The files under `root`, as `/`-separated paths relative to it. */
function filesUnder(root, dir = root) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(root, p));
    else out.push(relative(root, p).split(sep).join("/"));
  }
  return out;
}

/** Refuses a package whose manifest points at a missing file, and one that would run code at install. */
function checkPackage(dir, manifest, label) {
  const files = new Set(filesUnder(dir));
  for (const t of manifestTargets(manifest)) {
    if (!files.has(t.replace(/^\.\//, ""))) throw new Error(`${label}: ${t} (named in package.json) is not in the package`);
  }
  if (manifest.scripts) throw new Error(`${label}: the published package.json must have no scripts`);
  if (files.has("binding.gyp")) throw new Error(`${label}: a binding.gyp would make npm build at install`);
  return files;
}

/** `npm pack` of an assembled directory into `outDir`; returns the tarball's path and npm's figures. */
function npmPack(dir, outDir) {
  const res = spawnSync("npm", ["pack", "--json", "--pack-destination", outDir], { cwd: dir, encoding: "utf8" });
  if (res.error || res.status !== 0) throw new Error(`npm pack in ${dir} failed: ${res.error?.message ?? res.stderr}`);
  const [info] = JSON.parse(res.stdout);
  return { tarball: join(outDir, info.filename), size: info.size, unpackedSize: info.unpackedSize, entryCount: info.entryCount };
}

/** Assembles and packs both packages into `outDir` (from the current dist/). */
export function pack(outDir = join(ROOT, "pkg")) {
  for (const f of ["index.js", "cjs/index.cjs", "core/wasm/xet_core_bg.wasm", "server/index.js", "server/bin.js"]) {
    if (!existsSync(join(DIST, f))) throw new Error(`dist/${f} is missing: run \`npm run build\` (or npm run pack without --no-build)`);
  }
  const root = readJson(join(ROOT, "package.json"));
  mkdirSync(outDir, { recursive: true });
  const noMaps = (src) => !src.endsWith(".map");

  // The client: dist/ minus the hub and the source maps.
  const client = join(outDir, "client");
  rmSync(client, { recursive: true, force: true });
  mkdirSync(client, { recursive: true });
  const serverDir = join(DIST, "server");
  cpSync(DIST, join(client, "dist"), {
    recursive: true,
    filter: (src) => noMaps(src) && src !== serverDir && !src.startsWith(serverDir + sep),
  });
  cpSync(join(TEMPLATES, "client", "README.md"), join(client, "README.md"));
  const clientPkg = clientManifest(root, readJson(join(TEMPLATES, "client", "package.json")));
  if (Object.keys(clientPkg.dependencies ?? {}).length || clientPkg.peerDependencies || clientPkg.optionalDependencies) {
    throw new Error("the client package must have no runtime dependencies");
  }
  writeJson(join(client, "package.json"), clientPkg);
  const clientFiles = checkPackage(client, clientPkg, clientPkg.name);
  const wasm = [...clientFiles].filter((f) => f.endsWith(".wasm"));
  if (wasm.length !== 1) throw new Error(`the client package must hold exactly one .wasm, found ${wasm.join(", ") || "none"}`);

  // The hub: dist/server/ as its dist/.
  const hub = join(outDir, "hub");
  rmSync(hub, { recursive: true, force: true });
  mkdirSync(hub, { recursive: true });
  cpSync(serverDir, join(hub, "dist"), { recursive: true, filter: noMaps });
  cpSync(join(TEMPLATES, "hub", "README.md"), join(hub, "README.md"));
  const hubPkg = hubManifest(root, readJson(join(TEMPLATES, "hub", "package.json")));
  writeJson(join(hub, "package.json"), hubPkg);
  checkPackage(hub, hubPkg, hubPkg.name);
  for (const bin of Object.values(hubPkg.bin ?? {})) chmodSync(join(hub, bin), 0o755);

  for (const old of readdirSync(outDir)) if (/^xet-buckets(-hub)?-.*\.tgz$/.test(old)) rmSync(join(outDir, old));
  return { client: npmPack(client, outDir), hub: npmPack(hub, outDir) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  const unknown = args.filter((a, i) => a !== "--no-build" && a !== "--out" && (at < 0 || i !== at + 1));
  try {
    if (unknown.length || (at >= 0 && !args[at + 1])) throw new Error(`usage: node scripts/pack.mjs [--no-build] [--out DIR]`);
    if (!args.includes("--no-build")) run(process.execPath, [join(ROOT, "scripts", "build.mjs")]);
    const packed = pack(at >= 0 ? resolve(args[at + 1]) : undefined);
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    for (const p of [packed.client, packed.hub]) {
      const rel = relative(process.cwd(), p.tarball);
      const shown = rel.startsWith("..") ? p.tarball : rel;
      process.stdout.write(`${shown}: ${kib(p.size)} packed, ${kib(p.unpackedSize)} unpacked, ${p.entryCount} files\n`);
    }
  } catch (err) {
    process.stderr.write(`[pack] error: ${err.message}\n`);
    process.exit(1);
  }
}
