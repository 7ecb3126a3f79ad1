//! Queries whose predicates depend on which filters are in use, written with `$n`
//! placeholders (the form both SQLite and PostgreSQL accept through sqlx's `Any` driver), so
//! that only the filters in use reach the planner and it can pick the fitting index.

use sqlx::{any::AnyArguments, Arguments};

/// A query under construction: SQL text and its bound values, in order.
pub struct FilteredQuery {
    sql: String,
    arguments: AnyArguments<'static>,
    count: usize,
}

impl FilteredQuery {
    /// A query starting with `sql` (which has no placeholders of its own).
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            arguments: AnyArguments::default(),
            count: 0,
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends the next placeholder, bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.count += 1;
        self.sql.push_str(&format!("${}", self.count));
        // Encoding into the Any driver's own buffer does not fail for these types.
        let _ = self.arguments.add(value);
        self
    }

    /// The SQL text and its arguments, for `sqlx::query_with` / `query_as_with`.
    pub fn finish(self) -> (String, AnyArguments<'static>) {
        (self.sql, self.arguments)
    }
}
