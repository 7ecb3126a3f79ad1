//! The server's integration tests, one test binary: a real server on a free port per test,
//! over HTTP, on SQLite and (with `TEST_POSTGRES_URL`) PostgreSQL. One binary links once and
//! keeps the build's disk use small; the metrics tests have binaries of their own, because
//! Prometheus counters are process-wide.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod account;
mod activity;
mod admin;
mod api_clients;
mod assets;
mod auth;
mod cli;
mod config_defaults;
mod csrf;
mod device_lists;
mod devices;
mod exports;
mod faults;
mod hardening;
mod hardening_two;
mod hostile;
mod instances;
mod jwt_keys;
mod last_tab;
mod new_device;
mod openapi;
mod retention;
mod routes;
mod scheduled;
mod security_headers;
mod sensitive;
mod throttle;
mod timeouts;
