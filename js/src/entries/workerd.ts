/**
 * The `workerd` export condition (Cloudflare Workers via wrangler, workerd) of the whole client, with the core
 * initialised from the `.wasm` imported as a module.
 *
 * Bundlers for Workers turn this import into a compiled `WebAssembly.Module` shipped next to the script:
 * Workers refuse to compile WebAssembly from bytes at run time ("Wasm code generation disallowed by
 * embedder") but instantiate a compiled module, also at the top level, so no `await initCore()` is needed.
 * The initialisation is this file's own side effect (listed in package.json `sideEffects`), not a shared
 * module's, so bundlers that drop side-effect-free imports keep it.
 */
import wasmModule from "../core/wasm/xet_core_bg.wasm";
import { initCoreSync } from "../core/index.js";

initCoreSync(wasmModule);

// Exactly the names of the main entry, which lists them.
export * from "../index.js";
