#!/usr/bin/env bash
# `make bench`: requests/s and p99 latency of the server's main paths beside a bare axum route,
# in one run on this machine: release builds, fresh SQLite database, wrk with 2 threads and
# 32 connections, 10 s per row (load generator and servers share the machine; compare ratios,
# not absolute numbers, across machines; bare runs between every two rows, and each row's
# ratio is to the bare runs beside it).
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

# The machine's speed drifts (a shared 2-core VM: one bare run alone moves by 10-20 % from
# minute to minute), so bare axum runs between every two rows and each row is compared with
# the mean of the bare runs just before and just after it. Two columns: requests/s over bare's,
# and the server's CPU time per request (user + system, from /proc), bare's over the row's.
labels=() rates=() p99s=() errors=() cpus=() bare_rates=() bare_cpus=()
ticks="$(getconf CLK_TCK)"
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run WHO URL [wrk args…]: sets out (wrk's output) and cpu (µs of WHO's CPU per request).
run() {
  local who="$1" url="$2"; shift 2
  local before after
  before="$(cpu_of "$who")"
  out="$(wrk -t2 -c32 -d"${seconds}s" --latency -H "User-Agent: $ua" "$@" "$url")"
  after="$(cpu_of "$who")"
  cpu="$(python3 -c "print(($after - $before) / $ticks / $(awk '/requests in/ { print $1 }' <<<"$out") * 1e6)")"
}
bare_run() {
  run "$bare" "http://127.0.0.1:$bare_port/"
  bare_rates+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
  bare_cpus+=("$cpu")
}
measure() {
  local label="$1" url="$2"; shift 2
  run "$pid" "$url" "$@"
  labels+=("$label")
  cpus+=("$cpu")
  rates+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
  p99s+=("$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  errors+=("$(awk '/Non-2xx/ { print "  (non-2xx: " $NF ")" }' <<<"$out")")
  bare_run
}
echo "==> ${seconds} s per row, bare axum between every two rows"
bare_run
measure "anonymous GET /healthz" "$base/healthz"
measure "cookie GET /api/v1/session (passive)" "$base/api/v1/session" -H "Cookie: $cookie"
measure "cookie POST /api/v1/session/extend" "$base/api/v1/session/extend" -s "$root/scripts/bench-post.lua" -H "Cookie: $cookie" -H "Origin: $base"
measure "Bearer token GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $token"
measure "Bearer JWT GET /api/v1/session (passive)" "$base/api/v1/session" -H "Authorization: Bearer $jwt"
measure "cookie GET /api/v1/sessions" "$base/api/v1/sessions" -H "Cookie: $cookie"
measure "cookie GET /home (server-rendered)" "$base/home" -H "Cookie: $cookie"
printf '%-44s %10s        %13s  %-12s %s\n' "" "req/s" "p99" "of bare" "server CPU per request (bare / it)"
for i in "${!labels[@]}"; do
  read -r bare_rps bare_cpu < <(python3 -c "print((${bare_rates[$i]} + ${bare_rates[$((i + 1))]}) / 2, (${bare_cpus[$i]} + ${bare_cpus[$((i + 1))]}) / 2)")
  ratio="$(python3 -c "print(f'{${rates[$i]} / $bare_rps:.2f}')")"
  cpu="$(python3 -c "print(f'{${cpus[$i]}:6.1f} us ({$bare_cpu / ${cpus[$i]}:.2f})')")"
  printf '%-44s %10s req/s  p99 %9s  %s of bare  %s%s\n' "${labels[$i]}" "${rates[$i]}" \
    "${p99s[$i]}" "$ratio" "$cpu" "${errors[$i]}"
done
python3 - "${bare_rates[@]}" "${bare_cpus[@]}" <<'PY'
import sys
values = [float(v) for v in sys.argv[1:]]
rates, cpus = values[: len(values) // 2], values[len(values) // 2 :]
print(f"bare axum GET /, {len(rates)} runs: {min(rates):.0f}-{max(rates):.0f} req/s, "
      f"{min(cpus):.1f}-{max(cpus):.1f} us CPU per request")
PY
