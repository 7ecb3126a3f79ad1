//! Compiles the PostgreSQL variants of the integration tests as ignored (reported as such by
//! the test runner, never as passed) when `TEST_POSTGRES_URL` is not set at build time.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=TEST_POSTGRES_URL");
    if std::env::var_os("TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
