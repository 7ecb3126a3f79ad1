#!/usr/bin/env bash
# `make bench`: requests/s and p99 latency of the server's main paths beside a bare axum route,
# in one run on this machine: release builds, fresh SQLite database, wrk with 2 threads and
# 32 connections, 10 s per row (load generator and servers share the machine; compare ratios,
# not absolute numbers, across machines; bare runs between every two rows, and each row's
# ratio is to the bare runs beside it). The rows are measured in ROUNDS rounds (3 unless
# given); each cell is the median of the rounds, the ratio's range across them beside it.
#   ./scripts/bench.sh [SECONDS] [ROUNDS]
# BENCH_SERVER=path/to/server measures that server binary instead of this tree's release build
# (an older commit's, to show a change's before and after on one machine; its routes and
# sign-in must be these). BENCH_ONLY=REGEX measures only the rows whose label matches it
# (e.g. BENCH_ONLY='/home|/account'), each still beside bare axum.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
rounds="${2:-3}"
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server and the bare axum baseline"
cargo build --release -p server -p bare-axum --quiet

port=3398
bare_port=3399
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export DATABASE_URL="sqlite://$data/bench.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port"
server="${BENCH_SERVER:-target/release/server}"
[ -x "$server" ] || { echo "no server binary at $server" >&2; exit 1; }
# `bench`, an administrator, signs in 10 times (the cookie, the token and 8 more browsers):
# `/api/v1/sessions` lists 10 sessions. `crowd` signs in 40 times and gets the JWTs: the
# console's first page (`/admin/sessions`, 50 a page) is full.
printf 'benchmark password\n' | "$server" user add bench --admin >/dev/null
printf 'benchmark password\n' | "$server" user add crowd >/dev/null
RUST_LOG=error "$server" serve >/dev/null 2>&1 &
pid=$!
target/release/bare-axum "127.0.0.1:$bare_port" &
bare=$!
trap 'kill "$pid" "$bare" 2>/dev/null || true; wait "$pid" "$bare" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$bare_port/" >/dev/null 2>&1 && break
  sleep 0.1
done

ua="wrk"
body='{"username":"bench","password":"benchmark password"}'
crowd_body='{"username":"crowd","password":"benchmark password"}'
sign_in_as() {
  curl -s -o /dev/null -A "$ua" -X POST "$base/sign-in" -H "Origin: $base" \
    --data-urlencode "username=$1" --data-urlencode 'password=benchmark password'
}
curl -s -o /dev/null -A "$ua" -c "$data/jar" -X POST "$base/sign-in" \
  --data-urlencode username=bench --data-urlencode 'password=benchmark password'
cookie="auto_logout_session=$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"
token="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' -d "$body" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
for _ in $(seq 1 8); do sign_in_as bench; done
for _ in $(seq 1 40); do sign_in_as crowd; done
# A JWT lives minutes (AUTO_LOGOUT_JWT_TTL): each round signs in for a fresh one (as `crowd`,
# so that `bench` keeps its 10 sessions).
fresh_jwt() {
  curl -s -A "$ua" -X POST "$base/api/v1/auth/jwt" -H 'content-type: application/json' -d "$crowd_body" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# The machine's speed drifts (a shared 2-core VM: one bare run alone moves by 10-20 % from
# minute to minute), so bare axum runs between every two rows and each row is compared with
# the mean of the bare runs just before and just after it. Two columns: requests/s over bare's,
# and the server's CPU time per request (user + system, from /proc), bare's over the row's.
# Every run is one line of $results: round, label, req/s, p99, CPU per request, non-2xx.
results="$data/results.tsv"
: >"$results"
ticks="$(getconf CLK_TCK)"
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run ROUND LABEL WHO URL [wrk args…]: one wrk run, one line of $results.
run() {
  local round="$1" label="$2" who="$3" url="$4"; shift 4
  local before after out requests
  before="$(cpu_of "$who")"
  out="$(wrk -t2 -c32 -d"${seconds}s" --latency -H "User-Agent: $ua" "$@" "$url")"
  after="$(cpu_of "$who")"
  requests="$(awk '/requests in/ { print $1 }' <<<"$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$label" \
    "$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
    "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
    "$(python3 -c "print(($after - $before) / $ticks / $requests * 1e6)")" \
    "$(awk '/Non-2xx/ { print $NF }' <<<"$out")" >>"$results"
}
bare_run() { run "$1" "bare" "$bare" "http://127.0.0.1:$bare_port/"; }
measure() {
  local round="$1" label="$2" url="$3"; shift 3
  [[ -z "${BENCH_ONLY:-}" || "$label" =~ $BENCH_ONLY ]] || return 0
  run "$round" "$label" "$pid" "$url" "$@"
  bare_run "$round"
}
echo "==> ${seconds} s per row, bare axum between every two rows, ${rounds} rounds"
for round in $(seq 1 "$rounds"); do
  echo "    round $round of $rounds"
  jwt="$(fresh_jwt)"
  bare_run "$round"
  measure "$round" "anonymous GET /healthz" "$base/healthz"
  measure "$round" "cookie GET /api/v1/session (passive)" "$base/api/v1/session" -H "Cookie: $cookie"
  measure "$round" "cookie POST /api/v1/session/extend" "$base/api/v1/session/extend" -s "$root/scripts/bench-post.lua" -H "Cookie: $cookie" -H "Origin: $base"
  measure "$round" "Bearer token GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $token"
  measure "$round" "Bearer JWT GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $jwt"
  measure "$round" "cookie GET /api/v1/sessions (10)" "$base/api/v1/sessions" -H "Cookie: $cookie"
  measure "$round" "cookie GET /home (server-rendered)" "$base/home" -H "Cookie: $cookie"
  # As browsers ask for it: the page compressed (brotli), which the rows above do not pay.
  measure "$round" "cookie GET /home, brotli" "$base/home" -H "Cookie: $cookie" -H "Accept-Encoding: br"
  measure "$round" "cookie GET /sessions (10 rows)" "$base/sessions" -H "Cookie: $cookie"
  measure "$round" "cookie GET /account" "$base/account" -H "Cookie: $cookie"
  measure "$round" "cookie GET /admin/sessions (50 rows)" "$base/admin/sessions" -H "Cookie: $cookie"
done
python3 "$root/scripts/bench_table.py" "$results"
