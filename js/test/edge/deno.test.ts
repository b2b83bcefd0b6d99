/** The client in Deno (the `deno` npm package's binary): see script-runtime.ts. */
import { scriptRuntimeTests } from "./script-runtime.js";

// The permissions the README gives: network, environment, and reading node_modules and the local file.
scriptRuntimeTests("deno", (script) => ["run", "--allow-net", "--allow-env", "--allow-read", "--no-prompt", script]);
