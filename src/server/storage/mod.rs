//! Storage: every table the engine keeps and the SQL that reads and writes it (SQLite and
//! PostgreSQL). Nothing here decides a rule; the rules call it.

pub mod audit;
pub mod changes;
pub mod db;
pub mod filters;
pub mod jwt_keys;
pub mod keys;
pub mod listings;
pub mod login_attempts;
pub mod retention;
pub mod sessions;
pub mod store;
pub mod users;
