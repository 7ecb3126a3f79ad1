//! Metrics and logs (SPEC §7 `/metrics`): the Prometheus recorder, the request-latency layer,
//! the database-statement counter, and the log format (`AUTO_LOGOUT_LOG_FORMAT=json` for JSON
//! lines). The engine counts its own events (`auto_logout::server::telemetry`).

use crate::state::AppState;
use auto_logout::server::{
    telemetry::{self, metrics_access, MetricsAccess, REQUEST_DURATION},
    ClientInfo,
};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, Method, StatusCode},
    response::{IntoResponse, Response},
};
use metrics::Histogram;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{
    cell::RefCell,
    collections::HashMap,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
    time::Duration,
};
use tracing::{Event, Subscriber};
use tracing_subscriber::{
    filter::Targets, layer, prelude::*, registry::LookupSpan, EnvFilter, Layer,
};

/// Latency buckets (seconds): from half a millisecond to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process's Prometheus recorder (installed on first use).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder (a second server in one test process) keeps the first one.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// `GET /metrics`: the Prometheus text format, for whom [`metrics_access`] lets in: the
/// bearer of `metrics_token` when one is configured (else 401 with `WWW-Authenticate:
/// Bearer`), otherwise loopback clients only (else 403). The client is the one the session
/// layer computed ([`ClientInfo`]: the socket peer, or `X-Forwarded-For` from a trusted proxy).
/// The live-session gauges are counted at most once per
/// [`LiveSessionGauges::DEFAULT_MAX_AGE`](auto_logout::server::telemetry::LiveSessionGauges),
/// not once per read.
pub async fn metrics_text(State(state): State<AppState>, req: Request) -> Response {
    let client_ip = req
        .extensions()
        .get::<ClientInfo>()
        .and_then(|client| client.ip);
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match metrics_access(
        state.config.metrics_token.as_ref(),
        authorization,
        client_ip,
    ) {
        MetricsAccess::Allowed => {}
        MetricsAccess::Unauthorized => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "Send the metrics token: Authorization: Bearer <metrics_token>.",
            )
                .into_response();
        }
        MetricsAccess::LoopbackOnly => {
            return (
                StatusCode::FORBIDDEN,
                "The metrics are served to this machine only; set metrics_token to read them \
                 from elsewhere.",
            )
                .into_response();
        }
    }
    if let Err(err) = state.live_sessions.refresh().await {
        tracing::warn!(error = %err, "counting live sessions for /metrics failed");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
        .into_response()
}

/// Records one request's latency by route template and method. Labels stay bounded whatever
/// clients send: the route is the router's template (`unmatched` for an answer from outside the
/// router, see [`RouteOnAnswerLayer`]) and a method outside HTTP's standard ones is `OTHER`.
/// The histogram of each pair is looked up once per thread and kept, so a request allocates
/// nothing here and shares no lock with the other threads.
pub fn record_latency(method: &Method, res: &Response, latency: Duration) {
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    with_latency_histogram(method_label(method), route, |histogram| {
        histogram.record(latency.as_secs_f64());
    });
}

/// The label of `method`: its name when it is one of HTTP's standard methods, else `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// Histogram handles by route template.
type ByRoute = HashMap<Box<str>, Histogram, foldhash::fast::RandomState>;

thread_local! {
    /// The latency histograms this thread has used, by method label and route template. Every
    /// thread's handle of a pair records into the one histogram of the recorder; a thread of
    /// its own keeps look-ups free of a lock (or a reference count) shared between cores, which
    /// every request would otherwise take. Bounded: the labels are.
    static LATENCY_HISTOGRAMS: RefCell<HashMap<&'static str, ByRoute, foldhash::fast::RandomState>> =
        RefCell::new(HashMap::default());
}

/// Runs `record` with the histogram of one method label and route template, registered on
/// this thread's first use of the pair.
fn with_latency_histogram(method: &'static str, route: &str, record: impl FnOnce(&Histogram)) {
    LATENCY_HISTOGRAMS.with_borrow_mut(|methods| {
        let routes = methods.entry(method).or_default();
        if let Some(histogram) = routes.get(route) {
            return record(histogram);
        }
        // Handles are bound to the recorder installed when they are made: install it first.
        prometheus();
        let histogram =
            metrics::histogram!(REQUEST_DURATION, "route" => route.to_owned(), "method" => method);
        record(&histogram);
        routes.insert(route.into(), histogram);
    });
}

/// Copies the route template the router matched ([`MatchedPath`]) from the request onto its
/// answer, so that layers wrapped around the whole router (built once, not once per route)
/// can still label by route. No allocation per request.
#[derive(Debug, Clone, Copy)]
pub struct RouteOnAnswerLayer;

impl<S> tower::Layer<S> for RouteOnAnswerLayer {
    type Service = RouteOnAnswer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteOnAnswer { inner }
    }
}

/// The service of [`RouteOnAnswerLayer`].
#[derive(Debug, Clone)]
pub struct RouteOnAnswer<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RouteOnAnswer<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RouteOnAnswerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        RouteOnAnswerFuture {
            route: req.extensions().get::<MatchedPath>().cloned(),
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RouteOnAnswer`].
    pub struct RouteOnAnswerFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, E> std::future::Future for RouteOnAnswerFuture<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            res.extensions_mut().insert(route);
        }
        Poll::Ready(Ok(res))
    }
}

/// Counts sqlx's per-statement events (target `sqlx::query`) as database statements.
struct StatementCounter;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StatementCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            telemetry::db_query();
        }
    }
}

/// Installs the log subscriber: human-readable lines, or JSON lines with
/// `AUTO_LOGOUT_LOG_FORMAT=json`; `RUST_LOG` filters (default: info, quieter sqlx and
/// tower-sessions). Also counts database statements. Once per process; later calls do nothing.
pub fn init() {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into())
    };
    let json = std::env::var("AUTO_LOGOUT_LOG_FORMAT").is_ok_and(|f| f == "json");
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_filter(filter())
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_filter(filter())
            .boxed()
    };
    let statements = StatementCounter
        .with_filter(Targets::new().with_target("sqlx::query", tracing::Level::TRACE));
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(statements)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_outside_the_standard_ones_is_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for name in ["FOO", "BREW", "X-ANYTHING"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "OTHER", "{name}");
        }
    }
}
