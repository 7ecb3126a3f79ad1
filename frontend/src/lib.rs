//! The WebAssembly entry point: hydrates the page's islands, nothing else.

/// Called by the generated JavaScript once the module has loaded; Leptos's island script then
/// hydrates each `<leptos-island>` of the page with the functions `app` exports.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::go_live();
}
