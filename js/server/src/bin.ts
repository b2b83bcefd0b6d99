#!/usr/bin/env node
/** Entry point of the `xet-buckets-hub` command (the hub package's "bin"): `xet-buckets serve` under its own name. */
import { runServe } from "./cli.js";

runServe(process.argv.slice(2), "xet-buckets-hub").then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`xet-buckets-hub: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
