/**
 * The client in workerd (Cloudflare Workers' runtime, from the `workerd` npm package).
 *
 * Workers are bundled the way wrangler does it: esbuild with the `workerd`, `worker` and `browser` export
 * conditions, `.wasm` imports left as separate modules, which workerd hands to the script as compiled
 * `WebAssembly.Module`s. One workerd process serves several workers on 127.0.0.1, each allowed to reach only
 * local addresses (the local hub):
 *
 *   scenario          scenario.mjs, without nodejs_compat (no Node module may be needed)
 *   scenario-compat   the same with nodejs_compat (`process` exists, without `process.versions.node`)
 *   snippet-workerd   the README's Workers snippet, as written
 *   snippet-edge      the README's "other edge runtimes" snippet, bundled without the `workerd` condition
 *                     (the generic web build plus an explicit `initCore(module)`)
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as esbuild from "esbuild";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { freePort, type Running, startProcess, waitForHttp } from "../helpers/processes.js";
import {
  checkScenario,
  copyScenario,
  installPackedPackage,
  readmeSnippet,
  runtimeBinary,
  type ScenarioResult,
} from "../helpers/runtimes.js";

const SCENARIO_WORKER = `import * as xb from "xet-buckets";
import { runScenario } from "./scenario/edge/scenario.mjs";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/compile-bytes") {
        // What Workers refuse: compiling WebAssembly from bytes at run time.
        try {
          await WebAssembly.compile(env.WASM_BYTES);
          return Response.json({ refused: false });
        } catch (err) {
          return Response.json({ refused: true, message: String(err && err.message) });
        }
      }
      if (url.pathname === "/globals") {
        return Response.json({ process: typeof process, node: typeof process === "object" ? String(process.versions && process.versions.node) : null });
      }
      const result = await runScenario(xb, {
        hubUrl: env.HF_ENDPOINT,
        accessToken: env.HF_TOKEN,
        bucket: url.searchParams.get("bucket"),
        runtime: url.searchParams.get("runtime"),
      });
      return Response.json(result);
    } catch (err) {
      return new Response(String((err && err.stack) || err), { status: 500 });
    }
  },
};
`;

interface WorkerSpec {
  name: string;
  /** Entry script in the package directory. */
  entry: string;
  conditions: string[];
  flags: string[];
  port: number;
  /** Package files esbuild read for this bundle (from its metafile). */
  inputs?: string[];
}

let pkg: Awaited<ReturnType<typeof installPackedPackage>>;
let hub: TestHub;
let workerd: Running;
const workers: Record<string, WorkerSpec> = {};
const url = (name: string, path: string) => `http://127.0.0.1:${workers[name]!.port}${path}`;

/** Bundles like wrangler: the chosen conditions, `.wasm` imports kept as a separate module named xet_core_bg.wasm. */
async function bundle(spec: WorkerSpec, outDir: string): Promise<void> {
  const wasmFiles: string[] = [];
  const result = await esbuild.build({
    entryPoints: [join(pkg.dir, spec.entry)],
    outfile: join(outDir, `${spec.name}.js`),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: spec.conditions,
    mainFields: ["browser", "module", "main"],
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "wasm-modules",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, async (args) => {
            if (args.pluginData === "inner") return undefined; // the b.resolve() below
            const r = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, namespace: "file", pluginData: "inner" });
            wasmFiles.push(r.path);
            return { path: "xet_core_bg.wasm", external: true };
          });
        },
      },
    ],
  });
  spec.inputs = Object.keys(result.metafile!.inputs);
  assert.equal(new Set(wasmFiles).size, 1, `${spec.name}: one .wasm import, got ${wasmFiles.join(", ")}`);
  assert.match(wasmFiles[0]!, /node_modules\/xet-buckets\/dist\/core\/wasm\/xet_core_bg\.wasm$/);
}

/** Cap'n Proto constant names are camelCase. */
const camel = (name: string) => name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());

function capnp(hubUrl: string, token: string): string {
  const services = Object.values(workers).map((w) => `(name = "${w.name}", worker = .${camel(w.name)})`);
  const sockets = Object.values(workers).map(
    (w) => `(name = "${w.name}", address = "127.0.0.1:${w.port}", http = (), service = "${w.name}")`,
  );
  const defs = Object.values(workers).map(
    (w) => `const ${camel(w.name)} :Workerd.Worker = (
  modules = [
    (name = "${w.name}.js", esModule = embed "${w.name}.js"),
    (name = "xet_core_bg.wasm", wasm = embed "xet_core_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = [${w.flags.map((f) => JSON.stringify(f)).join(", ")}],
  bindings = [
    (name = "HF_ENDPOINT", text = "${hubUrl}"),
    (name = "HF_TOKEN", text = "${token}"),
    (name = "WASM_BYTES", data = embed "xet_core_bg.wasm"),
  ],
  globalOutbound = "loopback",
);`,
  );
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    ${services.join(",\n    ")},
    # fetch() may reach local addresses only: the local hub on 127.0.0.1.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [
    ${sockets.join(",\n    ")},
  ],
);

${defs.join("\n\n")}
`;
}

before(async () => {
  const bin = runtimeBinary("workerd"); // throws (the suite fails) when the npm package's binary is missing
  pkg = await installPackedPackage();
  await copyScenario(pkg.dir);
  hub = await startTestHub();
  await writeFile(join(pkg.dir, "scenario-worker.mjs"), SCENARIO_WORKER);
  await writeFile(join(pkg.dir, "snippet-workerd.mjs"), await readmeSnippet("workerd"));
  await writeFile(join(pkg.dir, "snippet-edge.mjs"), await readmeSnippet("edge"));
  const wrangler = ["workerd", "worker", "browser"];
  const specs: Omit<WorkerSpec, "port">[] = [
    { name: "scenario", entry: "scenario-worker.mjs", conditions: wrangler, flags: [] },
    { name: "scenario-compat", entry: "scenario-worker.mjs", conditions: wrangler, flags: ["nodejs_compat"] },
    { name: "snippet-workerd", entry: "snippet-workerd.mjs", conditions: wrangler, flags: [] },
    { name: "snippet-edge", entry: "snippet-edge.mjs", conditions: ["worker", "browser"], flags: [] },
  ];
  const out = join(pkg.dir, "workerd");
  await mkdir(out, { recursive: true });
  for (const s of specs) {
    workers[s.name] = { ...s, port: await freePort() };
    await bundle(workers[s.name]!, out);
  }
  await copyFile(join(pkg.dir, "node_modules", "xet-buckets", "dist", "core", "wasm", "xet_core_bg.wasm"), join(out, "xet_core_bg.wasm"));
  await writeFile(join(out, "config.capnp"), capnp(hub.url, hub.users.alice.token));
  workerd = startProcess(bin, ["serve", join(out, "config.capnp"), "--verbose"], { cwd: out });
  for (const w of Object.values(workers)) await waitForHttp(url(w.name, "/ping"), workerd);
});

after(async () => {
  await workerd?.stop();
  await hub?.close();
  await pkg?.cleanup();
});

async function runScenarioIn(worker: string, runtime: string): Promise<void> {
  const bucket = `alice/${runtime}`;
  const t0 = Date.now();
  const res = await fetch(url(worker, `/run?bucket=${encodeURIComponent(bucket)}&runtime=${encodeURIComponent(runtime)}`));
  const text = await res.text();
  assert.equal(res.status, 200, `${worker}: ${text}\n${workerd.output()}`);
  const result = JSON.parse(text) as ScenarioResult;
  await checkScenario(result, hub, bucket, runtime);
  process.stderr.write(`# ${runtime} scenario: ${Date.now() - t0} ms (${JSON.stringify(result.steps)})\n`);
}

test("workerd: the `workerd` condition resolves to the web build that imports the .wasm as a module", () => {
  const inputs = workers.scenario!.inputs!;
  assert.ok(
    inputs.some((p) => p.endsWith("node_modules/xet-buckets/dist/web/workerd.js")),
    inputs.join("\n"),
  );
  assert.ok(
    !inputs.some((p) => /node_modules\/xet-buckets\/dist\/(?!web\/)/.test(p)),
    `only dist/web/ files are bundled:\n${inputs.join("\n")}`,
  );
  const edge = workers["snippet-edge"]!.inputs!;
  assert.ok(
    edge.some((p) => p.endsWith("node_modules/xet-buckets/dist/web/index.js")),
    edge.join("\n"),
  );
  assert.ok(!edge.some((p) => p.includes("workerd")), edge.join("\n"));
});

test("workerd: compiling WebAssembly from bytes is refused, as on Cloudflare", async () => {
  const res = await fetch(url("scenario", "/compile-bytes"));
  const body = (await res.json()) as { refused: boolean; message?: string };
  assert.equal(body.refused, true, JSON.stringify(body));
  assert.match(body.message ?? "", /disallowed/i);
});

test("workerd (no nodejs_compat): creates a bucket, uploads (one file > 1 MiB), lists, hashes and downloads", async () => {
  const globals = (await (await fetch(url("scenario", "/globals"))).json()) as { process: string };
  assert.equal(globals.process, "undefined");
  await runScenarioIn("scenario", "workerd");
});

test("workerd (nodejs_compat): the same with Node globals present", async () => {
  const globals = (await (await fetch(url("scenario-compat", "/globals"))).json()) as { process: string; node: string | null };
  assert.equal(globals.process, "object");
  process.stderr.write(`# workerd nodejs_compat: process.versions.node = ${globals.node}\n`);
  await runScenarioIn("scenario-compat", "workerd-nodejs_compat");
});

test("workerd: the README's Workers snippet stores the request body", async () => {
  const body = seededBytes(2 * 2 ** 20 + 777, 0xfeed);
  const res = await fetch(url("snippet-workerd", "/"), { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${workerd.output()}`);
  const want = await xetHash(body);
  assert.deepEqual(JSON.parse(text), [{ path: "workerd/body.bin", xetHash: want }]);
  const listed = [];
  for await (const e of listFiles({
    repo: "buckets/alice/runtimes",
    path: "workerd",
    hubUrl: hub.url,
    accessToken: hub.users.alice.token,
  })) {
    listed.push([e.path, e.size, e.xetHash]);
  }
  assert.deepEqual(listed, [["workerd/body.bin", body.length, want]]);
});

test("workerd: the README's edge snippet (explicit initCore with the imported module) hashes the request body", async () => {
  const body = seededBytes(3 * 2 ** 20 + 5, 0xed6e);
  const res = await fetch(url("snippet-edge", "/"), { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${workerd.output()}`);
  assert.equal(text, await xetHash(body));
});
