#!/usr/bin/env bash
# `make bench`: requests/s and p99 latency of the server's main paths beside a bare axum route,
# in one run on this machine: release builds, fresh SQLite database, wrk with 2 threads and
# 32 connections, 10 s per row (load generator and servers share the machine; compare ratios,
# not absolute numbers, across machines; bare runs first and last, ratios are to their mean).
#   ./scripts/bench.sh [SECONDS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-10}"
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server and the bare axum baseline"
cargo build --release -p server -p bare-axum --quiet

port=3398
bare_port=3399
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export DATABASE_URL="sqlite://$data/bench.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port"
printf 'benchmark password\n' | target/release/server user add bench >/dev/null
RUST_LOG=error target/release/server serve >/dev/null 2>&1 &
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
curl -s -o /dev/null -A "$ua" -c "$data/jar" -X POST "$base/sign-in" \
  --data-urlencode username=bench --data-urlencode 'password=benchmark password'
cookie="auto_logout_session=$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"
token="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' -d "$body" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
jwt="$(curl -s -A "$ua" -X POST "$base/api/v1/auth/jwt" -H 'content-type: application/json' -d "$body" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

# Rows are measured first and printed at the end, with ratios to the mean of two bare runs
# (one first, one last): on a shared 2-core machine one bare run alone moves by 10-20 %.
# The server's CPU time per request (user + system, from /proc) moves far less: it is the
# steadier comparison, and its ratio is bare's CPU per request over the row's.
labels=() rates=() p99s=() errors=() cpus=()
ticks="$(getconf CLK_TCK)"
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
measure() {
  local label="$1" url="$2"; shift 2
  local out before after who="$pid"
  case "$url" in "http://127.0.0.1:$bare_port/"*) who="$bare" ;; esac
  before="$(cpu_of "$who")"
  out="$(wrk -t2 -c32 -d"${seconds}s" --latency -H "User-Agent: $ua" "$@" "$url")"
  after="$(cpu_of "$who")"
  cpus+=("$(python3 -c "print(($after - $before) / $ticks / $(awk '/requests in/ { print $1 }' <<<"$out") * 1e6)")")
  labels+=("$label")
  rates+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
  p99s+=("$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  errors+=("$(awk '/Non-2xx/ { print "  (non-2xx: " $NF ")" }' <<<"$out")")
}
echo "==> ${seconds} s per row"
measure "bare axum GET / (first run)" "http://127.0.0.1:$bare_port/"
measure "anonymous GET /healthz" "$base/healthz"
measure "cookie GET /api/v1/session (passive)" "$base/api/v1/session" -H "Cookie: $cookie"
measure "cookie POST /api/v1/session/extend" "$base/api/v1/session/extend" -s "$root/scripts/bench-post.lua" -H "Cookie: $cookie" -H "Origin: $base"
measure "Bearer token GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $token"
measure "Bearer JWT GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $jwt"
measure "cookie GET /api/v1/sessions" "$base/api/v1/sessions" -H "Cookie: $cookie"
measure "cookie GET /home (server-rendered)" "$base/home" -H "Cookie: $cookie"
measure "bare axum GET / (last run)" "http://127.0.0.1:$bare_port/"
last=$(( ${#rates[@]} - 1 ))
bare_rps="$(python3 -c "print((${rates[0]} + ${rates[$last]}) / 2)")"
bare_cpu="$(python3 -c "print((${cpus[0]} + ${cpus[$last]}) / 2)")"
printf '%-44s %10s        %13s  %-12s %s\n' "" "req/s" "p99" "of bare" "server CPU per request (bare / it)"
for i in "${!labels[@]}"; do
  ratio="$(python3 -c "print(f'{${rates[$i]} / $bare_rps:.2f}')")"
  cpu="$(python3 -c "print(f'{${cpus[$i]}:6.1f} us ({$bare_cpu / ${cpus[$i]}:.2f})')")"
  printf '%-44s %10s req/s  p99 %9s  %s of bare  %s%s\n' "${labels[$i]}" "${rates[$i]}" \
    "${p99s[$i]}" "$ratio" "$cpu" "${errors[$i]}"
done
