/**
 * Tests shared by the runtimes that run a script file (Deno, Bun): the package installed from its npm
 * tarball, the runtime's own resolution of `xet-buckets` (export conditions), the scenario (scenario.mjs)
 * against a local hub, and the README's snippet for that runtime.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { runProcess } from "../helpers/processes.js";
import { checkScenario, copyScenario, installPackedPackage, parseResult, readmeSnippet, runtimeBinary } from "../helpers/runtimes.js";

const RUNNER = `import * as xb from "xet-buckets";
import { runScenario } from "./scenario/edge/scenario.mjs";

const env = globalThis.Deno ? Deno.env.toObject() : process.env;
const result = await runScenario(xb, { hubUrl: env.HF_ENDPOINT, accessToken: env.HF_TOKEN, bucket: env.BUCKET, runtime: env.RUNTIME });
console.log("RESOLVED " + import.meta.resolve("xet-buckets"));
console.log("RESOLVED_HASH " + import.meta.resolve("xet-buckets/hash"));
console.log("RESULT " + JSON.stringify(result));
`;

export function scriptRuntimeTests(runtime: "deno" | "bun", argsFor: (script: string) => string[]): void {
  let bin: string;
  let pkg: Awaited<ReturnType<typeof installPackedPackage>>;
  let hub: TestHub;
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    HF_ENDPOINT: hub.url,
    HF_TOKEN: hub.users.alice.token,
    DENO_DIR: join(pkg.dir, ".deno"),
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    DO_NOT_TRACK: "1",
    ...extra,
  });

  before(async () => {
    bin = runtimeBinary(runtime); // throws (the suite fails) when the runtime's npm package is missing
    pkg = await installPackedPackage();
    await copyScenario(pkg.dir);
    hub = await startTestHub();
  });
  after(async () => {
    await hub?.close();
    await pkg?.cleanup();
  });

  test(`${runtime}: creates a bucket, uploads (Blob + bytes, one file > 1 MiB), lists, hashes and downloads`, async () => {
    await writeFile(join(pkg.dir, "run.mjs"), RUNNER);
    const bucket = `alice/${runtime}-scenario`;
    const t0 = Date.now();
    const res = await runProcess(bin, argsFor("run.mjs"), {
      cwd: pkg.dir,
      env: env({ BUCKET: bucket, RUNTIME: runtime }),
      timeoutMs: 120_000,
    });
    assert.equal(res.code, 0, `${runtime} exited with ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
    const result = parseResult(res.stdout, res.stderr);
    await checkScenario(result, hub, bucket, runtime);
    // The runtime resolved the package through its export conditions to the ESM build, which reads the .wasm file.
    const resolved = /^RESOLVED (.*)$/m.exec(res.stdout)?.[1];
    assert.match(resolved ?? "", /\/node_modules\/xet-buckets\/dist\/index\.js$/, `${runtime} resolved xet-buckets to ${resolved}`);
    assert.match(/^RESOLVED_HASH (.*)$/m.exec(res.stdout)?.[1] ?? "", /\/node_modules\/xet-buckets\/dist\/entries\/hash\.js$/);
    process.stderr.write(`# ${runtime} scenario: ${Date.now() - t0} ms (${JSON.stringify(result.steps)})\n`);
  });

  test(`${runtime}: the README's ${runtime} snippet runs as written`, async () => {
    const content = seededBytes(2 * 2 ** 20 + 12345, 0xc0ffee);
    await writeFile(join(pkg.dir, "checkpoint.bin"), content);
    await writeFile(join(pkg.dir, "main.js"), await readmeSnippet(runtime));
    const res = await runProcess(bin, argsFor("main.js"), { cwd: pkg.dir, env: env(), timeoutMs: 120_000 });
    assert.equal(res.code, 0, `${runtime} exited with ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
    const want = await xetHash(content);
    assert.match(res.stdout, new RegExp(`^${runtime}/checkpoint\\.bin ${want}$`, "m"), res.stdout);
    const listed = [];
    for await (const e of listFiles({
      repo: "buckets/alice/runtimes",
      path: runtime,
      hubUrl: hub.url,
      accessToken: hub.users.alice.token,
    })) {
      listed.push([e.path, e.size, e.xetHash]);
    }
    assert.deepEqual(listed, [[`${runtime}/checkpoint.bin`, content.length, want]]);
  });
}
