#!/usr/bin/env bash
# Starts the release server on a fresh SQLite database (127.0.0.1 trusted as a proxy), creates
# an account, gets one address throttled, then floods from it while a person signs in from
# other addresses: requests, answers, refusal latency p50/p99, audit rows added, and the
# other addresses' sign-ins (scripts/throttle_flood.py).
#   ./scripts/throttle-flood.sh [CONNECTIONS] [SECONDS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
clients="${1:-32}"
seconds="${2:-10}"
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building the release server"
cargo build --release -p server --quiet

port=3391
data="$(mktemp -d)"
db="$data/flood.db"
export DATABASE_URL="sqlite://$db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error
export AUTO_LOGOUT_TRUSTED_PROXIES=127.0.0.1
password="a person's own password"
printf '%s\n%s\n' "$password" "$password" | target/release/server user add person >/dev/null
target/release/server serve >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
python3 scripts/throttle_flood.py "http://127.0.0.1:$port" "$db" person "$password" \
  --clients "$clients" --seconds "$seconds"
