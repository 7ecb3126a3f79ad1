#!/usr/bin/env bash
# `make bench`: requests/s and p99 latency of the server's main paths beside a bare axum route,
# in one run on this machine: release builds, fresh SQLite database, wrk with 2 threads and
# 32 connections, 10 s per row (load generator and servers share the machine; compare ratios,
# not absolute numbers, across machines; bare runs between every two rows, and each row's
# ratio is to the bare runs beside it). The rows are measured in ROUNDS rounds (3 unless
# given); each cell is the median of the rounds, the ratio's range across them beside it.
#   ./scripts/bench.sh [SECONDS] [ROUNDS]
# BENCH_SERVER=path/to/server measures that server binary instead of this tree's release build.
# BENCH_BEFORE=path/to/server measures that one too (an older commit's build, whose routes and
# sign-in must be these), on its own port and database, row by row beside this one: each row
# runs on the older server, then on this one, each between two bare runs, so that a change's
# before and after see the same minutes of the machine (rows marked `[before]`).
# BENCH_ONLY=REGEX measures only the rows whose label matches it (e.g.
# BENCH_ONLY='/home|/account'), each still beside bare axum.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
rounds="${2:-3}"
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server and the bare axum baseline"
cargo build --release -p server -p bare-axum --quiet

bare_port=3399
data="$(mktemp -d)"
ua="wrk"
body='{"username":"bench","password":"benchmark password"}'
crowd_body='{"username":"crowd","password":"benchmark password"}'

# The servers measured: this one (`now`) and, with BENCH_BEFORE, the older one (`before`) first.
# Per server: its process, address, credentials and the suffix of its rows' labels.
declare -A pid_of base_of cookie_of token_of jwt_of suffix_of
suffix_of[now]=""
suffix_of[before]=" [before]"
servers=()
bare=""
trap 'kill "${pid_of[@]}" $bare 2>/dev/null || true; wait "${pid_of[@]}" $bare 2>/dev/null || true; rm -rf "$data"' EXIT

# start_server NAME BINARY PORT: a fresh SQLite database with `bench`, an administrator, who
# signs in 10 times (the cookie, the token and 8 more browsers: `/api/v1/sessions` lists 10
# sessions), and `crowd`, who signs in 40 times and gets the JWTs (the console's first page,
# `/admin/sessions`, 50 a page, is full).
start_server() {
  local name="$1" server="$2" port="$3"
  [ -x "$server" ] || { echo "no server binary at $server" >&2; exit 1; }
  local base="http://127.0.0.1:$port"
  local env=(DATABASE_URL="sqlite://$data/bench$port.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port")
  printf 'benchmark password\n' | env "${env[@]}" "$server" user add bench --admin >/dev/null
  printf 'benchmark password\n' | env "${env[@]}" "$server" user add crowd >/dev/null
  env "${env[@]}" RUST_LOG=error "$server" serve >/dev/null 2>&1 &
  pid_of[$name]=$!
  base_of[$name]="$base"
  for _ in $(seq 1 100); do
    curl -sf "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -s -o /dev/null -A "$ua" -c "$data/jar$port" -X POST "$base/sign-in" \
    --data-urlencode username=bench --data-urlencode 'password=benchmark password'
  cookie_of[$name]="auto_logout_session=$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar$port")"
  token_of[$name]="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' -d "$body" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
  for _ in $(seq 1 8); do sign_in_as "$base" bench; done
  for _ in $(seq 1 40); do sign_in_as "$base" crowd; done
  servers+=("$name")
}
sign_in_as() {
  curl -s -o /dev/null -A "$ua" -X POST "$1/sign-in" -H "Origin: $1" \
    --data-urlencode "username=$2" --data-urlencode 'password=benchmark password'
}
# A JWT lives minutes (AUTO_LOGOUT_JWT_TTL): each round signs in for a fresh one (as `crowd`,
# so that `bench` keeps its 10 sessions).
fresh_jwts() {
  local name
  for name in "${servers[@]}"; do
    jwt_of[$name]="$(curl -s -A "$ua" -X POST "${base_of[$name]}/api/v1/auth/jwt" \
      -H 'content-type: application/json' -d "$crowd_body" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  done
}

if [ -n "${BENCH_BEFORE:-}" ]; then
  start_server before "$BENCH_BEFORE" 3397
fi
start_server now "${BENCH_SERVER:-target/release/server}" 3398
target/release/bare-axum "127.0.0.1:$bare_port" &
bare=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$bare_port/" >/dev/null 2>&1 && break
  sleep 0.1
done

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
# measure ROUND LABEL PATH [wrk args…]: the row on every server, each run between two bare
# runs. In the arguments @BASE@, @COOKIE@, @TOKEN@ and @JWT@ stand for that server's.
measure() {
  local round="$1" label="$2" path="$3"; shift 3
  [[ -z "${BENCH_ONLY:-}" || "$label" =~ $BENCH_ONLY ]] || return 0
  local name arg args
  for name in "${servers[@]}"; do
    args=()
    for arg in "$@"; do
      arg="${arg//@BASE@/${base_of[$name]}}"
      arg="${arg//@COOKIE@/${cookie_of[$name]}}"
      arg="${arg//@TOKEN@/${token_of[$name]}}"
      args+=("${arg//@JWT@/${jwt_of[$name]}}")
    done
    run "$round" "$label${suffix_of[$name]}" "${pid_of[$name]}" "${base_of[$name]}$path" "${args[@]}"
    bare_run "$round"
  done
}
echo "==> ${seconds} s per row, bare axum between every two rows, ${rounds} rounds"
for round in $(seq 1 "$rounds"); do
  echo "    round $round of $rounds"
  fresh_jwts
  bare_run "$round"
  measure "$round" "anonymous GET /healthz" /healthz
  measure "$round" "cookie GET /api/v1/session (passive)" /api/v1/session -H "Cookie: @COOKIE@"
  measure "$round" "cookie POST /api/v1/session/extend" /api/v1/session/extend -s "$root/scripts/bench-post.lua" -H "Cookie: @COOKIE@" -H "Origin: @BASE@"
  measure "$round" "Bearer token GET /api/v1/session (passive)" /api/v1/session -H "Authorization: Bearer @TOKEN@"
  measure "$round" "Bearer JWT GET /api/v1/session (passive)" /api/v1/session -H "Authorization: Bearer @JWT@"
  measure "$round" "cookie GET /api/v1/sessions (10)" /api/v1/sessions -H "Cookie: @COOKIE@"
  measure "$round" "cookie GET /home (server-rendered)" /home -H "Cookie: @COOKIE@"
  # As browsers ask for it: the page compressed (brotli), which the rows above do not pay.
  measure "$round" "cookie GET /home, brotli" /home -H "Cookie: @COOKIE@" -H "Accept-Encoding: br"
  measure "$round" "cookie GET /sessions (10 rows)" /sessions -H "Cookie: @COOKIE@"
  measure "$round" "cookie GET /account" /account -H "Cookie: @COOKIE@"
  measure "$round" "cookie GET /admin/sessions (50 rows)" /admin/sessions -H "Cookie: @COOKIE@"
done
python3 "$root/scripts/bench_table.py" "$results"
