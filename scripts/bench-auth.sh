#!/usr/bin/env bash
# Throughput of an authenticated, passive status read (GET /api/v1/session) by the three ways
# in: the browser's session cookie, an API bearer token, and a JWT. Release server, fresh
# SQLite database, wrk (Debian's package) with 2 threads and 32 connections, 10 s each, one
# after the other in one run. Load generator and server share this machine.
#   ./scripts/bench-auth.sh [SECONDS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server"
cargo build --release -p server --quiet

port=3394
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export DATABASE_URL="sqlite://$data/bench.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port"
printf 'benchmark password\n' | target/release/server user add bench >/dev/null
RUST_LOG=error target/release/server serve >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

ua="wrk"
body='{"username":"bench","password":"benchmark password"}'
curl -s -o /dev/null -A "$ua" -c "$data/jar" -X POST "$base/sign-in" \
  --data-urlencode username=bench --data-urlencode 'password=benchmark password'
cookie="$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"
token="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' -d "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
jwt="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/jwt" -H 'content-type: application/json' -d "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

bench() {
  local label="$1"; shift
  local rps
  rps="$(wrk -t2 -c32 -d"${seconds}s" -H "User-Agent: $ua" "$@" "$base/api/v1/session" \
    | awk '/Requests\/sec/ { print $2 } /Non-2xx/ { print "non-2xx: " $0 > "/dev/stderr" }')"
  printf '%-28s %10s req/s\n' "$label" "$rps"
}
echo "==> GET /api/v1/session, ${seconds} s each"
bench "cookie (browser session)" -H "Cookie: auto_logout_session=$cookie"
bench "Authorization: Bearer token" -H "Authorization: Bearer $token"
bench "Authorization: Bearer JWT" -H "Authorization: Bearer $jwt"
