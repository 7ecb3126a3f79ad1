#!/usr/bin/env bash
# `make bench-tabs`: what open tabs cost the database. Starts the release server on a fresh
# database, signs in one session per simulated tab and lets every tab read its status on the
# countdown's schedule (every 2 s) for a while; prints database statements per request, the
# server's CPU and the status reads' latency (bench/src/bin/tabs.rs).
#   ./scripts/bench-tabs.sh [sqlite|postgres] [TABS] [SECONDS]   (defaults: sqlite 5000 60)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kind="${1:-sqlite}"
tabs="${2:-5000}"
seconds="${3:-60}"
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building the release server and the load generator"
cargo build --release -p server -p bare-axum --quiet

port=3397
data="$(mktemp -d)"
case "$kind" in
  sqlite) export DATABASE_URL="sqlite://$data/bench.db?mode=rwc" ;;
  postgres)
    pg="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
    psql -q "$pg" -c 'DROP DATABASE IF EXISTS auto_logout_tabs_bench' -c 'CREATE DATABASE auto_logout_tabs_bench'
    export DATABASE_URL="${pg%/*}/auto_logout_tabs_bench" ;;
  *) echo "usage: $0 [sqlite|postgres] [TABS] [SECONDS]" >&2; exit 2 ;;
esac
export LEPTOS_SITE_ADDR="127.0.0.1:$port" AUTO_LOGOUT_MAX_SESSIONS=0
export TABS_USER=bench TABS_PASSWORD="benchmark password"
printf '%s\n' "$TABS_PASSWORD" | target/release/server user add "$TABS_USER" >/dev/null
RUST_LOG=error target/release/server serve >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "==> $tabs tabs on $kind, $seconds s"
target/release/tabs "http://127.0.0.1:$port" "$pid" "$tabs" "$seconds"
