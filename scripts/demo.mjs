#!/usr/bin/env node
// npm run demo: installs what the build needs, builds, then runs examples/node/checkpoints.mjs against an
// embedded local hub: successive checkpoints synced to a bucket, listing, download and verification.
import { join } from "node:path";
import { ROOT, run, setup } from "./setup.mjs";
import { buildTs, buildWasm } from "./build.mjs";

try {
  setup(new Set(["build"]));
  buildWasm();
  buildTs();
  run(process.execPath, [join(ROOT, "examples", "node", "checkpoints.mjs")]);
} catch (err) {
  process.stderr.write(`[demo] error: ${err.message}\n`);
  process.exit(1);
}
