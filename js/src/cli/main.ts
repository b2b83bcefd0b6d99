#!/usr/bin/env node
/** Entry point of the `xet-buckets` command (package.json "bin"). */
import { main } from "./run.js";

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
