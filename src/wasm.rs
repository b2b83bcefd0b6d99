//! The wasm-bindgen surface (feature "wasm"). Thin: converts types, calls the core.

use wasm_bindgen::prelude::*;

/// Streaming file hash.
#[wasm_bindgen(js_name = XetHasher)]
pub struct WasmXetHasher {
    inner: crate::hasher::XetHasher,
}

#[wasm_bindgen(js_class = XetHasher)]
impl WasmXetHasher {
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmXetHasher {
        WasmXetHasher {
            inner: crate::hasher::XetHasher::new(),
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }
    pub fn finish(&mut self) -> String {
        self.inner.finish_reset().to_hex()
    }
}
