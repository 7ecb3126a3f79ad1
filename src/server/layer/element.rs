//! The files of the `<auto-logout-countdown>` custom element, served by
//! [`Engine::countdown_router`](crate::server::Engine::countdown_router) under
//! [`ELEMENT_PREFIX`]. `scripts/build-element.sh` builds them from the `countdown` crate into
//! `countdown/dist/`, and they are embedded here, so that an application serves them without
//! a build step of its own.
//!
//! A page loads [`ELEMENT_SCRIPT`], a one-line module that is revalidated on every load (it
//! is what may change when the engine is upgraded), and that imports the content-hashed
//! module, which loads the content-hashed WebAssembly; both are cached for a year. A page
//! rendered by the server can name the hashed module directly ([`element_script_src`]) and
//! save the revalidation.

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The path prefix of the engine's own routes (the element's files, the device list's forms).
pub const ELEMENT_PREFIX: &str = "/auto-logout/";

/// The path prefix of the element's files; requests under it are passive (loading the
/// element is not the person's activity).
pub const ELEMENT_FILES: &str = "/auto-logout/countdown";

/// The module script a page loads: `<script type="module" src="/auto-logout/countdown.js">`.
pub const ELEMENT_SCRIPT: &str = "/auto-logout/countdown.js";

/// The built files (`scripts/build-element.sh`), embedded once each.
const WASM: &[u8] = include_bytes!("../../../countdown/dist/countdown.wasm");
const WASM_BR: &[u8] = include_bytes!("../../../countdown/dist/countdown.wasm.br");
const MODULE: &[u8] = include_bytes!("../../../countdown/dist/countdown.js");
const MODULE_BR: &[u8] = include_bytes!("../../../countdown/dist/countdown.js.br");

/// One embedded file in its raw and brotli forms.
struct Asset {
    name: String,
    raw: &'static [u8],
    brotli: &'static [u8],
    content_type: &'static str,
}

struct Assets {
    /// The body of [`ELEMENT_SCRIPT`].
    loader: String,
    /// Its validator, for `If-None-Match`.
    loader_etag: String,
    module: Asset,
    wasm: Asset,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let wasm = Asset {
        name: format!("countdown-{}.wasm", content_hash(WASM)),
        raw: WASM,
        brotli: WASM_BR,
        content_type: "application/wasm",
    };
    let module = Asset {
        name: format!("countdown-{}.js", content_hash(MODULE)),
        raw: MODULE,
        brotli: MODULE_BR,
        content_type: "text/javascript; charset=utf-8",
    };
    let loader = format!("import \"./{}\";\n", module.name);
    Assets {
        loader_etag: format!("\"{}\"", content_hash(loader.as_bytes())),
        loader,
        module,
        wasm,
    }
});

/// The first 16 hex digits of the SHA-256 of `bytes` (as the build script names the
/// WebAssembly).
fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The content-hashed path of the element's module, for a page rendered by the server:
/// `<script type="module" src="{element_script_src()}">`. It changes whenever the element
/// does, so the browser may keep it for a year.
pub fn element_script_src() -> String {
    format!("{ELEMENT_PREFIX}{}", ASSETS.module.name)
}

/// The router of the element's files (see the module's documentation).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(&format!("{ELEMENT_PREFIX}{{file}}"), get(serve))
}

async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let assets = &*ASSETS;
    if ELEMENT_SCRIPT.strip_prefix(ELEMENT_PREFIX) == Some(file.as_str()) {
        return serve_loader(assets, &headers);
    }
    let Some(asset) = [&assets.module, &assets.wasm]
        .into_iter()
        .find(|a| a.name == file)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let brotli = accepts_brotli(&headers);
    let mut res = if brotli { asset.brotli } else { asset.raw }.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if brotli {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    }
    res
}

fn serve_loader(assets: &Assets, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&assets.loader_etag).expect("a quoted hex string");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        assets.loader.clone().into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::ETAG, etag);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// Whether `Accept-Encoding` names `br` without `q=0`.
fn accepts_brotli(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("br"))
                && parts.all(|p| {
                    p.strip_prefix("q=")
                        .is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_loads_the_webassembly_the_engine_serves() {
        let module = std::str::from_utf8(ASSETS.module.raw).unwrap();
        assert!(
            module.contains(&ASSETS.wasm.name),
            "countdown/dist/countdown.js names another WebAssembly than {}: run scripts/build-element.sh",
            ASSETS.wasm.name
        );
        assert!(module.contains("customElements.define(\"auto-logout-countdown\""));
        assert_eq!(
            ASSETS.loader,
            format!("import \"./{}\";\n", ASSETS.module.name)
        );
        assert!(element_script_src().starts_with("/auto-logout/countdown-"));
    }

    #[test]
    fn brotli_only_when_accepted() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepts_brotli(&h)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=0.5"));
        assert!(!with("gzip"));
        assert!(!with("br;q=0"));
        assert!(!with("brotli"));
        assert!(!accepts_brotli(&HeaderMap::new()));
    }
}
