//! The client bundle and compression (DESIGN.md, "Assets"): pages name the bundle by a hash of
//! its content, those names are cached for a year, pre-compressed files are chosen by
//! `Accept-Encoding`, and pages and JSON are compressed on the fly.

use std::io::Read;
use std::path::Path;

use crate::common::{browser, spawn_app_env, TestApp, TestDb};
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, VARY};
use reqwest::Response;

const WASM: &[u8] = b"\0asm the module";
const WASM_BR: &[u8] = b"brotli bytes of the module";
const WASM_GZ: &[u8] = b"gzip bytes of the module";

/// A site root whose `pkg/` holds a bundle named `auto-logout`, with pre-compressed copies of
/// the module only.
fn site_with_bundle(root: &Path, css: &str) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("auto-logout.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(pkg.join("auto-logout.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("auto-logout.wasm.br"), WASM_BR).unwrap();
    std::fs::write(pkg.join("auto-logout.wasm.gz"), WASM_GZ).unwrap();
    std::fs::write(pkg.join("auto-logout.css"), css).unwrap();
}

async fn spawn_on_site(root: &Path) -> TestApp {
    let root = root.display().to_string();
    spawn_app_env(TestDb::sqlite(), &[("LEPTOS_SITE_ROOT", &root)]).await
}

/// The bundle's file names the landing page refers to: (js, wasm, css).
async fn bundle_names(app: &TestApp) -> (String, String, String) {
    let html = browser()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let find = |extension: &str| {
        let end = html
            .find(&format!(".{extension}\""))
            .unwrap_or_else(|| panic!("the page names a .{extension} file: {html}"));
        let start = html[..end].rfind("/pkg/").expect("under /pkg/");
        html[start..end + 1 + extension.len()].to_owned()
    };
    (find("js"), find("wasm"), find("css"))
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> Response {
    let mut request = browser().get(app.url(path));
    if let Some(encodings) = accept_encoding {
        request = request.header(ACCEPT_ENCODING, encodings);
    }
    request.send().await.unwrap()
}

fn header(res: &Response, name: reqwest::header::HeaderName) -> &str {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_name_the_bundle_by_its_content_and_it_is_cached_for_a_year() {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path(), "body { color: black }");
    let app = spawn_on_site(site.path()).await;
    let (js, wasm, css) = bundle_names(&app).await;
    let hashed = hash_in(&wasm);
    assert_eq!(js, format!("/pkg/auto-logout.{hashed}.js"));
    assert_eq!(css, format!("/pkg/auto-logout.{hashed}.css"));

    for path in [&js, &wasm, &css] {
        let res = get(&app, path, None).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            header(&res, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    // The same files under their plain names are revalidated on every use, and a name with
    // another hash (a page from an earlier release) is not found rather than cached for ever.
    let res = get(&app, "/pkg/auto-logout.css", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    let res = get(&app, "/pkg/auto-logout.0123456789abcdef.wasm", None).await;
    assert_eq!(res.status(), 404);
    assert!(!header(&res, CACHE_CONTROL).contains("immutable"));

    // Another stylesheet is another bundle: a new name, so no browser keeps the old one.
    let changed = tempfile::tempdir().unwrap();
    site_with_bundle(changed.path(), "body { color: navy }");
    let other = spawn_on_site(changed.path()).await;
    let (_, other_wasm, _) = bundle_names(&other).await;
    assert_ne!(hash_in(&other_wasm), hashed);
}

/// The hash part of `/pkg/auto-logout.<hash>.wasm`, checked to be 16 hex digits.
fn hash_in(path: &str) -> String {
    let hash = path
        .strip_prefix("/pkg/auto-logout.")
        .and_then(|rest| rest.strip_suffix(".wasm"))
        .unwrap_or_else(|| panic!("a hashed name: {path}"));
    assert_eq!(hash.len(), 16, "{path}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{path}");
    hash.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_precompressed_module_is_chosen_by_accept_encoding() {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path(), "body { color: black }");
    let app = spawn_on_site(site.path()).await;
    let (_, wasm, _) = bundle_names(&app).await;

    let cases: [(Option<&str>, &str, &[u8]); 4] = [
        (Some("gzip, deflate, br, zstd"), "br", WASM_BR),
        (Some("gzip"), "gzip", WASM_GZ),
        (Some("br;q=0, gzip;q=1"), "gzip", WASM_GZ),
        (None, "", WASM),
    ];
    for (accepts, encoding, body) in cases {
        let res = get(&app, &wasm, accepts).await;
        assert_eq!(res.status(), 200, "{accepts:?}");
        assert_eq!(header(&res, CONTENT_ENCODING), encoding, "{accepts:?}");
        assert!(
            header(&res, VARY)
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{accepts:?}"
        );
        assert_eq!(
            header(&res, CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(res.bytes().await.unwrap().as_ref(), body, "{accepts:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_json_are_compressed_small_answers_are_not() {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path(), "body { color: black }");
    let app = spawn_on_site(site.path()).await;

    for path in ["/sign-in", "/api/v1/openapi.json"] {
        let plain = get(&app, path, None).await.bytes().await.unwrap();
        let res = get(&app, path, Some("gzip")).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, CONTENT_ENCODING), "gzip", "{path}");
        let compressed = res.bytes().await.unwrap();
        assert!(
            compressed.len() * 2 < plain.len(),
            "{path}: {} of {}",
            compressed.len(),
            plain.len()
        );
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_ref())
            .read_to_end(&mut decoded)
            .unwrap();
        // The page differs between two renders only in nothing a reader sees; compare sizes
        // loosely and the start exactly.
        assert_eq!(&decoded[..64], &plain[..64], "{path}");

        let res = get(&app, path, Some("br")).await;
        assert_eq!(header(&res, CONTENT_ENCODING), "br", "{path}");
    }
    // A few bytes are not worth compressing.
    let res = get(&app, "/healthz", Some("gzip, br")).await;
    assert_eq!(header(&res, CONTENT_ENCODING), "");
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_built_bundle_pages_use_the_plain_names() {
    let empty = tempfile::tempdir().unwrap();
    let app = spawn_on_site(empty.path()).await;
    let (js, wasm, css) = bundle_names(&app).await;
    assert_eq!(
        (js.as_str(), wasm.as_str(), css.as_str()),
        (
            "/pkg/auto-logout.js",
            "/pkg/auto-logout.wasm",
            "/pkg/auto-logout.css"
        )
    );
    assert_eq!(get(&app, &wasm, None).await.status(), 404);
}
