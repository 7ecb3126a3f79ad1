//! The WebAssembly entry point: hydrates the server-rendered page, nothing else.

/// Called by the generated JavaScript once the module has loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
