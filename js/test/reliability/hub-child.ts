/**
 * A local hub in its own process, for tests that measure the hub alone (memory under load). Prints
 * `{"url": ..., "pid": ...}` once listening; stops on SIGTERM.
 *
 *   node --import tsx js/test/reliability/hub-child.ts '{"dataDir": "...", "users": [...], "maxBodyBytesInFlight": ...}'
 */
import { startLocalHub, type LocalHubOptions } from "../../server/src/index.js";

const options = JSON.parse(process.argv[2] ?? "{}") as LocalHubOptions;
const hub = await startLocalHub({ ...options, host: "127.0.0.1", port: 0, log: false });
process.stdout.write(`${JSON.stringify({ url: hub.url, pid: process.pid })}\n`);
process.on("SIGTERM", () => {
  void hub.close().then(() => process.exit(0));
});
