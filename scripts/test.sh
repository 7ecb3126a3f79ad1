#!/usr/bin/env bash
# Runs every test: the engine's unit, property and doc tests, the server's unit and
# integration tests (SQLite always; PostgreSQL too when reachable), the app's tests, and the
# Playwright end-to-end tests in Chromium against a freshly built server.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# PostgreSQL: use TEST_POSTGRES_URL when given, else the local server if one answers.
if [ -z "${TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
   && pg_isready -q -h 127.0.0.1 -p 5432; then
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
fi
echo "PostgreSQL tests: ${TEST_POSTGRES_URL:-skipped (set TEST_POSTGRES_URL)}"

step() { printf '\n==> %s\n' "$*"; }

# Every runner's output is also kept, to add up the totals at the end.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
run() { "$@" 2>&1 | tee -a "$log"; }

step "the <auto-logout-countdown> element: countdown/dist is what its sources build"
./scripts/build-element.sh --check

step "building the app (cargo leptos build) and the example applications"
cargo leptos build
cargo build -p auto-logout-example

step "the WebAssembly build pulls no server crates"
if cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none \
   | grep -E '^(sqlx|tokio|argon2|axum)[ -]'; then
  echo "error: the frontend's wasm dependency tree contains server crates (above)" >&2
  exit 1
fi
echo "none of sqlx, tokio, argon2, axum"

step "no unused dependencies (cargo machete)"
cargo machete

step "the documentation builds without a warning (cargo doc)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet \
  -p auto-logout --features auto-logout/server,auto-logout/openapi \
  -p server -p app -p auto-logout-example -p auto-logout-countdown -p auto-logout-leptos
echo "cargo doc: no warnings"

step "end-to-end tests (Playwright, Chromium)"
(cd end2end && run npx playwright test)

step "OpenAPI-driven fuzzing of the running server (schemathesis)"
./scripts/api-fuzz.sh 100

step "engine tests"
run cargo test -p auto-logout --features server

step "countdown rules (the browser countdown's pure half)"
run cargo test -p auto-logout-countdown

step "app and component library tests"
run cargo test -p app -p auto-logout-leptos --features app/ssr,auto-logout-leptos/ssr

step "server unit and integration tests"
run cargo test -p server --tests

step "the example axum + axum-login application (engine layer outside Leptos)"
run cargo test -p auto-logout-example


# One line with the totals of all runners (cargo's "test result" lines and Playwright's).
sum() { awk '{ s += $1 } END { print s + 0 }'; }
passed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed.*/\1/p; s/^ *\([0-9]*\) passed (.*/\1/p' "$log" | sum)
failed=$(sed -n 's/^test result: [a-zA-Z]*\. [0-9]* passed; \([0-9]*\) failed.*/\1/p; s/^ *\([0-9]*\) failed$/\1/p' "$log" | sum)
skipped=$(sed -n 's/^test result: [a-zA-Z]*\. [0-9]* passed; [0-9]* failed; \([0-9]*\) ignored.*/\1/p; s/^ *\([0-9]*\) skipped$/\1/p' "$log" | sum)
echo
echo "total: $passed passed, $failed failed, $skipped skipped"
