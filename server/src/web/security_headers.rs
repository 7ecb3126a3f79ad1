//! The security headers of every answer, set in this one service, the outermost of the server
//! (it wraps [`super::edge`], so a refused host, a redirect, the bundle's files and every page,
//! form, server function and API answer get them):
//! - `X-Content-Type-Options: nosniff`: a browser takes each answer as its declared type;
//! - `Referrer-Policy: same-origin`: addresses (with their queries: `?next=`, the
//!   administrators' filters) are told to this site's own pages only, never to another site;
//!   the CSRF check ([`super::csrf`]) reads `Origin` and `Sec-Fetch-Site`, which this does not
//!   change, and same-origin requests keep their `Referer`;
//! - `Strict-Transport-Security: max-age=63072000; includeSubDomains` when `cookie_secure` is
//!   on (the site is then served over HTTPS only);
//! - `Content-Security-Policy`: on an HTML answer (a page) [`page_policy`]: only this site's
//!   scripts, styles, images and connections; inline scripts only with the nonce of that
//!   answer, WebAssembly allowed to compile (`'wasm-unsafe-eval'`), no plugins, no `<base>`,
//!   forms sent to this site only, and no framing by anyone (clickjacking). Any other answer
//!   (JSON, text, the bundle's files) gets [`NOT_A_PAGE_POLICY`], which allows nothing, should
//!   it ever be opened as a document.
//!
//! The nonce is the one Leptos renders into the page's inline scripts (its hydration script
//! and any serialised data): [`report_page_nonce`], run in every page render's context
//! (`startup::page_context`), hands it to this service in the internal header
//! [`NONCE_HEADER`], which this service removes from the answer. An HTML answer rendered
//! without Leptos (the short error pages) has no inline script and gets the page policy
//! without a nonce. Soft navigation (`app::navigation`) swaps only a fetched page's body into
//! the document and never runs its scripts (they carry that answer's nonce, not the
//! document's); the islands of the new page are hydrated by the script already loaded.
//!
//! Styles: pages use only the stylesheet (no `<style>`, no `style=` attribute; the countdown's
//! bar is a `<progress>`), so `style-src` falls back to `'self'` with no `'unsafe-inline'`.
//!
//! Every header value but a page's policy (which holds the nonce) is made once at start-up.

use axum::{
    extract::Request,
    http::{header, HeaderName, HeaderValue},
    response::Response,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// The internal header in which a page render hands its nonce to [`SecurityHeaders`], which
/// takes it off the answer.
pub const NONCE_HEADER: HeaderName = HeaderName::from_static("x-auto-logout-csp-nonce");

/// `Content-Security-Policy` of every answer that is not a page.
pub const NOT_A_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// `Referrer-Policy` of every answer.
pub const REFERRER_POLICY: &str = "same-origin";

/// `Strict-Transport-Security` of every answer when `cookie_secure` is on: two years, this host
/// and its subdomains.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The directives of a page's policy before the script sources.
const PAGE_HEAD: &str = "default-src 'self'; script-src 'self' ";

/// The directives of a page's policy after the script nonce.
const PAGE_TAIL: &str = "'wasm-unsafe-eval'; object-src 'none'; base-uri 'self'; \
                         form-action 'self'; frame-ancestors 'none'";

/// The `Content-Security-Policy` of a page whose inline scripts carry `nonce` (or of an HTML
/// answer without inline scripts, for `None`). `live_reload` adds `connect-src` for
/// cargo-leptos' reload socket (`cargo leptos watch`).
pub fn page_policy(nonce: Option<&str>, live_reload: Option<&str>) -> String {
    let mut policy = String::with_capacity(256);
    policy.push_str(PAGE_HEAD);
    if let Some(nonce) = nonce {
        policy.push_str("'nonce-");
        policy.push_str(nonce);
        policy.push_str("' ");
    }
    policy.push_str(PAGE_TAIL);
    if let Some(source) = live_reload {
        policy.push_str("; connect-src 'self' ");
        policy.push_str(source);
    }
    policy
}

/// Run in a page render's context: hands the nonce Leptos put on the page's inline scripts to
/// [`SecurityHeaders`] (through [`NONCE_HEADER`]). Does nothing outside a render.
pub fn report_page_nonce() {
    use leptos::context::use_context;
    let (Some(nonce), Some(answer)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&nonce) {
        answer.insert_header(NONCE_HEADER, value);
    }
}

/// The header values, made once.
#[derive(Debug)]
struct Values {
    /// Whether to send `Strict-Transport-Security`.
    hsts: bool,
    /// A page policy's text before the nonce.
    page_head: String,
    /// A page policy's text after the nonce.
    page_tail: String,
    /// The policy of an HTML answer without a nonce.
    page_without_nonce: HeaderValue,
}

/// Wraps the server in [`SecurityHeaders`].
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeadersLayer {
    values: &'static Values,
}

impl SecurityHeadersLayer {
    /// The headers for a server with `cookie_secure` as given; with `LEPTOS_WATCH` set
    /// (`cargo leptos watch`), pages may also connect to the reload socket on `reload_port`.
    ///
    /// The values are made once and kept for the life of the process (a few hundred bytes
    /// per server started), so that an answer copies no reference count.
    pub fn new(cookie_secure: bool, reload_port: u32) -> Self {
        let live_reload = std::env::var_os("LEPTOS_WATCH")
            .is_some()
            .then(|| format!("ws://*:{reload_port} wss://*:{reload_port}"));
        let with_nonce = page_policy(Some("\u{0}"), live_reload.as_deref());
        let (head, tail) = with_nonce
            .split_once('\u{0}')
            .expect("the policy holds the nonce's place");
        let page_without_nonce = HeaderValue::try_from(page_policy(None, live_reload.as_deref()))
            .expect("the page policy is a valid header value");
        Self {
            values: Box::leak(Box::new(Values {
                hsts: cookie_secure,
                page_head: head.to_owned(),
                page_tail: tail.to_owned(),
                page_without_nonce,
            })),
        }
    }
}

impl<S> tower::Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders {
            inner,
            values: self.values,
        }
    }
}

/// The service of [`SecurityHeadersLayer`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
    values: &'static Values,
}

impl<S> tower::Service<Request> for SecurityHeaders<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = SecurityHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        SecurityHeadersFuture {
            inner: self.inner.call(req),
            values: self.values,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's answer with the security headers.
    pub struct SecurityHeadersFuture<F> {
        #[pin]
        inner: F,
        values: &'static Values,
    }
}

impl<F> Future for SecurityHeadersFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(mut res)) => {
                this.values.apply(&mut res);
                Poll::Ready(Ok(res))
            }
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Values {
    /// Sets the headers on `res` (replacing any it had) and takes the internal nonce header off.
    fn apply(&self, res: &mut Response) {
        let headers = res.headers_mut();
        let nonce = headers.remove(NONCE_HEADER);
        let is_page = headers.get(header::CONTENT_TYPE).is_some_and(|t| {
            t.as_bytes()
                .get(..9)
                .is_some_and(|t| t.eq_ignore_ascii_case(b"text/html"))
        });
        let policy = if is_page {
            nonce
                .as_ref()
                .and_then(|nonce| self.page_policy(nonce))
                .unwrap_or_else(|| self.page_without_nonce.clone())
        } else {
            HeaderValue::from_static(NOT_A_PAGE_POLICY)
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static(REFERRER_POLICY),
        );
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            );
        }
    }

    /// A page's policy allowing scripts with `nonce`, if it is a well-formed nonce (base64 or
    /// base64url, as CSP wants).
    fn page_policy(&self, nonce: &HeaderValue) -> Option<HeaderValue> {
        let nonce = nonce.as_bytes();
        let well_formed = (16..=128).contains(&nonce.len())
            && nonce.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
            });
        if !well_formed {
            return None;
        }
        let mut policy =
            Vec::with_capacity(self.page_head.len() + nonce.len() + self.page_tail.len());
        policy.extend_from_slice(self.page_head.as_bytes());
        policy.extend_from_slice(nonce);
        policy.extend_from_slice(self.page_tail.as_bytes());
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(policy)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn answer(content_type: &str, nonce: Option<&str>) -> Response {
        let mut res = Response::new(axum::body::Body::empty());
        *res.status_mut() = StatusCode::OK;
        res.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        if let Some(nonce) = nonce {
            res.headers_mut()
                .insert(NONCE_HEADER, HeaderValue::from_str(nonce).unwrap());
        }
        res
    }

    fn header_of(res: &Response, name: HeaderName) -> Option<&str> {
        res.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn a_page_allows_its_nonce_and_no_inline_script() {
        let values = SecurityHeadersLayer::new(false, 3001).values;
        let mut res = answer("text/html; charset=utf-8", Some("AbCdEf0123456789-_xyzw"));
        values.apply(&mut res);
        let csp = header_of(&res, header::CONTENT_SECURITY_POLICY).unwrap();
        assert_eq!(
            csp,
            "default-src 'self'; script-src 'self' 'nonce-AbCdEf0123456789-_xyzw' \
             'wasm-unsafe-eval'; object-src 'none'; base-uri 'self'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert!(
            res.headers().get(NONCE_HEADER).is_none(),
            "internal header removed"
        );
        assert_eq!(
            header_of(&res, header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff")
        );
        assert_eq!(
            header_of(&res, header::REFERRER_POLICY),
            Some("same-origin")
        );
        assert_eq!(header_of(&res, header::STRICT_TRANSPORT_SECURITY), None);
    }

    #[test]
    fn other_answers_and_bad_nonces() {
        let values = SecurityHeadersLayer::new(true, 3001).values;
        let mut json = answer("application/json", Some("AbCdEf0123456789AbCd"));
        values.apply(&mut json);
        assert_eq!(
            header_of(&json, header::CONTENT_SECURITY_POLICY),
            Some(NOT_A_PAGE_POLICY)
        );
        assert!(json.headers().get(NONCE_HEADER).is_none());
        assert_eq!(
            header_of(&json, header::STRICT_TRANSPORT_SECURITY),
            Some(HSTS)
        );
        let mut bad = answer("TEXT/HTML", Some("x'; script-src *"));
        values.apply(&mut bad);
        assert_eq!(
            header_of(&bad, header::CONTENT_SECURITY_POLICY),
            Some(page_policy(None, None).as_str())
        );
    }
}
