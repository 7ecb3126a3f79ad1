#!/usr/bin/env bash
# Starts the release server on a fresh SQLite database, sends 300 concurrent failed sign-ins
# for unknown usernames for 10 seconds, and prints the server's peak resident memory and the
# sign-in throughput. Run twice: with the per-IP throttle off (every attempt checks a password:
# this measures the bound on hashing) and with the defaults (the throttle answers 429).
#   ./scripts/sign-in-flood.sh [CLIENTS] [SECONDS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
clients="${1:-300}"
seconds="${2:-10}"
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building the release server"
cargo build --release -p server --quiet

port=3390
data="$(mktemp -d)"
run() {
  local label="$1"; shift
  echo
  echo "==> $label"
  env "$@" DATABASE_URL="sqlite://$data/flood-$RANDOM.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    RUST_LOG=error target/release/server serve >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  python3 scripts/sign_in_flood.py "http://127.0.0.1:$port" "$pid" --clients "$clients" --seconds "$seconds"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
trap 'rm -rf "$data"' EXIT
run "per-IP throttle off: every attempt checks a password" AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP=0
run "default settings: the per-IP throttle answers after 50 failures" AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP=50
