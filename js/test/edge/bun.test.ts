/** The client in Bun (the `bun` npm package's binary): see script-runtime.ts. */
import { scriptRuntimeTests } from "./script-runtime.js";

scriptRuntimeTests("bun", (script) => [script]);
