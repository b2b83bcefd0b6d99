/**
 * A local hub in its own process: for tests that measure the hub alone (memory under load), and for tests of
 * what a real crash leaves on disk (`crashAt`: the hub kills itself with SIGKILL, no cleanup, at that point).
 * Prints `{"url": ..., "pid": ...}` once listening; stops on SIGTERM. Started by `startHubChild` (hub.ts).
 *
 *   node --import tsx js/test/helpers/hub-child.ts '{"dataDir": "...", "users": [...], "maxBodyBytesInFlight": ..., "crashAt": "xorb-temp"}'
 *
 * crashAt: xorb-temp     after a xorb's temp file is written and synced, before its rename
 *          batch-commit  inside the batch transaction, before its commit
 *          xorb-commit   inside the xorb row's transaction, after the file was renamed into place
 */
import { startLocalHub, type LocalHubOptions } from "../../server/src/index.js";

export type CrashPoint = "xorb-temp" | "batch-commit" | "xorb-commit";

const { crashAt, ...options } = JSON.parse(process.argv[2] ?? "{}") as LocalHubOptions & { crashAt?: CrashPoint };
const die = (): void => {
  process.kill(process.pid, "SIGKILL");
};
const hub = await startLocalHub({
  ...options,
  host: "127.0.0.1",
  port: 0,
  log: false,
  testHooks: crashAt && {
    afterXorbTempWrite: crashAt === "xorb-temp" ? die : undefined,
    beforeCommit: (what) => {
      if ((crashAt === "batch-commit" && what === "batch") || (crashAt === "xorb-commit" && what === "xorb")) die();
    },
  },
});
process.stdout.write(`${JSON.stringify({ url: hub.url, pid: process.pid })}\n`);
process.on("SIGTERM", () => {
  void hub.close().then(() => process.exit(0));
});
