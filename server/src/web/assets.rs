//! The client bundle (`/pkg/`): content-hashed names cached for a year, pre-compressed files
//! chosen by `Accept-Encoding` (DESIGN.md, "Assets").
//!
//! The bundle is the three files cargo-leptos writes to `<site root>/pkg`: `<name>.js`,
//! `<name>.wasm` and `<name>.css`. At start-up the server reads them once and derives a
//! fingerprint of their content; pages then refer to `<name>.<fingerprint>.{js,wasm,css}`
//! (the fingerprint becomes Leptos' output name, so `HydrationScripts` and
//! `HashedStylesheet` write those names). Those names are answered with
//! `Cache-Control: public, max-age=31536000, immutable`: a browser fetches the bundle once per
//! release. Any other file under `/pkg/`, including the bundle under its plain names, is
//! answered with `Cache-Control: no-cache`, so it is revalidated on every use.
//!
//! Every answer prefers `<file>.br`, then `<file>.gz` when they exist and the client accepts
//! them (`cargo leptos build --release --precompress` writes them). Without them the files go
//! through the router's on-the-fly compression like every other answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use sha2::{Digest, Sha256};
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The URL prefix of the bundle (Leptos' `site-pkg-dir`).
pub const PKG_PREFIX: &str = "/pkg";

/// What a content-hashed name is cached for: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// What every other static file is cached for: kept, but revalidated before each use.
pub const REVALIDATE: &str = "no-cache";

/// The extensions of the files that make up the bundle.
const BUNDLE_EXTENSIONS: [&str; 3] = ["js", "wasm", "css"];

/// Hex digits of the fingerprint in a file name (64 bits).
const FINGERPRINT_HEX_DIGITS: usize = 16;

/// The client bundle as found at start-up.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The folder the files are in (`<site root>/<site-pkg-dir>`).
    dir: PathBuf,
    /// The plain output name (`auto-logout`).
    output_name: String,
    /// A hash of the three files' contents, or `None` when one of them is missing.
    fingerprint: Option<String>,
}

impl Bundle {
    /// Reads the bundle `output_name`.{js,wasm,css} in `dir` and fingerprints it. A missing
    /// file (no `cargo leptos build` yet) leaves the bundle unfingerprinted, with a warning:
    /// the pages then use the plain names, which are revalidated on every use.
    pub async fn load(dir: PathBuf, output_name: String) -> Self {
        let (dir, output_name, fingerprint) = tokio::task::spawn_blocking(move || {
            let fingerprint = fingerprint_of(&dir, &output_name);
            (dir, output_name, fingerprint)
        })
        .await
        .expect("fingerprinting does not panic");
        let fingerprint = match fingerprint {
            Ok(fingerprint) => Some(fingerprint),
            Err(missing) => {
                tracing::warn!(
                    "the client bundle is incomplete ({} is missing: build it with `cargo leptos \
                     build`); pages refer to the plain file names, revalidated on every use",
                    missing.display()
                );
                None
            }
        };
        Self {
            dir,
            output_name,
            fingerprint,
        }
    }

    /// The name pages give the bundle's files: `<name>.<fingerprint>` when fingerprinted,
    /// else the plain name. Leptos appends `.js`, `.wasm` and `.css`.
    pub fn versioned_name(&self) -> String {
        match &self.fingerprint {
            Some(fingerprint) => format!("{}.{fingerprint}", self.output_name),
            None => self.output_name.clone(),
        }
    }

    /// The routes under `/pkg/`: the versioned names of the bundle (cached for a year), and
    /// every file of the folder under its own name (revalidated).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let plain = ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip();
        let mut router = Router::new().nest_service(PKG_PREFIX, cache_for(REVALIDATE).layer(plain));
        if self.fingerprint.is_some() {
            let versioned = self.versioned_name();
            for extension in BUNDLE_EXTENSIONS {
                let file =
                    ServeFile::new(self.dir.join(format!("{}.{extension}", self.output_name)))
                        .precompressed_br()
                        .precompressed_gzip();
                router = router.route_service(
                    &format!("{PKG_PREFIX}/{versioned}.{extension}"),
                    cache_for(IMMUTABLE).layer(file),
                );
            }
        }
        // Which copy is sent depends on `Accept-Encoding`: caches must key on it.
        router
            .layer(SetResponseHeaderLayer::if_not_present(
                header::VARY,
                HeaderValue::from_static("accept-encoding"),
            ))
            .layer(axum::middleware::from_fn(no_such_file_name))
    }
}

/// The longest file name a file system stores (bytes); a longer one names no file.
const MAX_FILE_NAME: usize = 255;

/// A path with a segment no file can have is not found, without asking the file system (which
/// refuses such a name with an error that the file server would answer with 500).
async fn no_such_file_name(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req
        .uri()
        .path()
        .split('/')
        .any(|segment| segment.len() > MAX_FILE_NAME)
    {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

/// Sends requests under `/pkg/` to the bundle's files and every other request to the
/// application: a static file passes no session, CSRF or no-store layer. One prefix test per
/// request, no router and no boxed service in front of the application.
#[derive(Debug, Clone)]
pub struct BundleOrApp<A> {
    bundle: Router,
    app: A,
}

impl<A> BundleOrApp<A> {
    /// `bundle` (see [`Bundle::router`]) beside `app`.
    pub fn new(bundle: Router, app: A) -> Self {
        Self { bundle, app }
    }
}

/// Whether `path` names a file of the bundle.
fn in_bundle(path: &str) -> bool {
    path.strip_prefix(PKG_PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl<A> tower::Service<axum::extract::Request> for BundleOrApp<A>
where
    A: tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
    >,
{
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::Either<
        tower::util::Oneshot<Router, axum::extract::Request>,
        A::Future,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.app.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        use tower::ServiceExt;
        if in_bundle(req.uri().path()) {
            futures_util::future::Either::Left(self.bundle.clone().oneshot(req))
        } else {
            futures_util::future::Either::Right(self.app.call(req))
        }
    }
}

/// A layer that gives a successful answer the `Cache-Control` `value` (an error is never
/// cached: the file may appear with the next release).
fn cache_for<B>(
    value: &'static str,
) -> SetResponseHeaderLayer<impl Fn(&axum::http::Response<B>) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        move |res: &axum::http::Response<B>| {
            (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED)
                .then(|| HeaderValue::from_static(value))
        },
    )
}

/// Fingerprints already computed in this process, by folder, name and the files' sizes and
/// modification times (tests start many servers on one bundle).
type Seen = HashMap<(PathBuf, String, Vec<(u64, Option<SystemTime>)>), String>;
static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The hex SHA-256 prefix of the bundle's three files (each preceded by its length, so that
/// bytes moved between files change it), or the path of the first file that is missing.
fn fingerprint_of(dir: &Path, output_name: &str) -> Result<String, PathBuf> {
    let paths: Vec<PathBuf> = BUNDLE_EXTENSIONS
        .iter()
        .map(|extension| dir.join(format!("{output_name}.{extension}")))
        .collect();
    let mut stamps = Vec::with_capacity(paths.len());
    for path in &paths {
        let meta = std::fs::metadata(path).map_err(|_| path.clone())?;
        stamps.push((meta.len(), meta.modified().ok()));
    }
    let key = (dir.to_path_buf(), output_name.to_owned(), stamps);
    if let Some(known) = SEEN.lock().expect("fingerprint cache").get(&key) {
        return Ok(known.clone());
    }
    let mut hash = Sha256::new();
    for path in &paths {
        let content = std::fs::read(path).map_err(|_| path.clone())?;
        hash.update((content.len() as u64).to_le_bytes());
        hash.update(&content);
    }
    let mut fingerprint = hex::encode(hash.finalize());
    fingerprint.truncate(FINGERPRINT_HEX_DIGITS);
    SEEN.lock()
        .expect("fingerprint cache")
        .insert(key, fingerprint.clone());
    Ok(fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_in(dir: &Path, js: &str, wasm: &str, css: &str) {
        std::fs::write(dir.join("app.js"), js).unwrap();
        std::fs::write(dir.join("app.wasm"), wasm).unwrap();
        std::fs::write(dir.join("app.css"), css).unwrap();
    }

    #[test]
    fn only_paths_under_the_prefix_are_bundle_files() {
        let too_long = format!("/pkg/auto-logout.css{}", "a".repeat(300));
        for path in [
            "/pkg/auto-logout.js",
            "/pkg/x/y.css",
            "/pkg/",
            too_long.as_str(),
        ] {
            assert!(in_bundle(path), "{path}");
        }
        for path in ["/pkg", "/pkgs/a.js", "/package", "/", "/home", "/api/pkg/a"] {
            assert!(!in_bundle(path), "{path}");
        }
    }

    #[test]
    fn the_fingerprint_follows_the_content() {
        let dir = tempfile::tempdir().unwrap();
        bundle_in(dir.path(), "js", "wasm", "css");
        let first = fingerprint_of(dir.path(), "app").unwrap();
        assert_eq!(first.len(), FINGERPRINT_HEX_DIGITS);
        assert_eq!(fingerprint_of(dir.path(), "app").unwrap(), first);

        let other = tempfile::tempdir().unwrap();
        bundle_in(other.path(), "js", "wasm", "css!");
        assert_ne!(fingerprint_of(other.path(), "app").unwrap(), first);
        // The same bytes split differently between the files are another bundle.
        let moved = tempfile::tempdir().unwrap();
        bundle_in(moved.path(), "jsw", "asm", "css");
        assert_ne!(fingerprint_of(moved.path(), "app").unwrap(), first);
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "js").unwrap();
        assert_eq!(
            fingerprint_of(dir.path(), "app"),
            Err(dir.path().join("app.wasm"))
        );
    }
}
