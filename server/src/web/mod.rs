//! HTTP: the router and its middleware. Handlers here are thin: they read the request and
//! call the engine.

pub mod account_form;
pub mod activity_form;
pub mod admin_api;
pub mod admin_forms;
pub mod api_auth;
pub mod api_doc;
pub mod assets;
pub mod auth_routes;
pub mod compress;
pub mod csrf;
pub mod devices;
pub mod edge;
pub mod error;
pub mod hosts;
pub mod login_scope;
pub mod page_access;
pub mod page_render;
pub mod request_rules;
pub mod routes;
pub mod security_headers;
pub mod sensitive;
pub mod slash;

/// `text` made safe for HTML element content and quoted attribute values (for the few pages
/// written without Leptos, which escapes on its own).
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The same answer with its body boxed as axum's, for services whose answers carry another
/// body type (compression) under one that expects axum's.
pub fn with_axum_body<B>(res: axum::http::Response<B>) -> axum::response::Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    res.map(axum::body::Body::new)
}
