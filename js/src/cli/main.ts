#!/usr/bin/env node
/** Entry point of the `xet-buckets` command (package.json "bin"). */
import { commandName, main, OWN_SIGNALS } from "./run.js";

const argv = process.argv.slice(2);
const controller = new AbortController();
if (!OWN_SIGNALS.has(commandName(argv) ?? "")) {
  // First SIGINT / SIGTERM: abort the command (it cleans up and exits 130); a second one exits at once.
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new DOMException("interrupted", "AbortError"));
    // A command blocked on something the signal cannot cancel (a read from an idle stdin) still ends.
    setTimeout(() => {
      process.stderr.write("\nxet-buckets: interrupted\n");
      process.exit(130);
    }, 3000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

main(argv, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`xet-buckets: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
