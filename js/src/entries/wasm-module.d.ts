/** `.wasm` imports as edge bundlers (wrangler, workerd) give them: a compiled WebAssembly.Module. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
