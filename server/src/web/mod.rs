//! HTTP: the router and its middleware. Handlers here are thin: they read the request and
//! call the engine.

pub mod api;
pub mod auth_routes;
pub mod client;
pub mod csrf;
pub mod devices;
pub mod enforce;
pub mod error;
pub mod guard;
pub mod hosts;
pub mod slash;
