//! Metrics and logs (SPEC §7 `/metrics`): the Prometheus recorder, the request-latency layer,
//! the database-statement counter, and the log format (`AUTO_LOGOUT_LOG_FORMAT=json` for JSON
//! lines). The engine counts its own events (`auto_logout::server::telemetry`).

use crate::state::AppState;
use auto_logout::{
    server::telemetry::{self, REQUEST_DURATION},
    SessionKind,
};
use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Instant};
use tracing::{Event, Subscriber};
use tracing_subscriber::{
    filter::Targets, layer::Context, prelude::*, registry::LookupSpan, EnvFilter, Layer,
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

/// `GET /metrics`: the Prometheus text format, with the live-session gauges read now.
pub async fn metrics_text(State(state): State<AppState>) -> Response {
    match state.sessions.count_active_by_kind().await {
        Ok(counts) => {
            for kind in [SessionKind::Browser, SessionKind::Api] {
                let n = counts
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or(0, |(_, n)| *n);
                telemetry::active_sessions(kind, n);
            }
        }
        Err(err) => tracing::warn!(error = %err, "counting live sessions for /metrics failed"),
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

/// Records each request's latency by route template (never the raw path: bounded labels).
pub async fn track_latency(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    metrics::histogram!(REQUEST_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Counts sqlx's per-statement events (target `sqlx::query`) as database statements.
struct StatementCounter;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StatementCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
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
