#!/usr/bin/env bash
# `make bench-scale`: the server on a database of 1,000,000 stored sessions of 100,000 users.
# Seeds the database, starts the release server, and measures with wrk:
#   1. one user's session list (GET /api/v1/sessions), p99;
#   2. 100,000 sessions reaching their idle limit at one moment: the sweep ends them while
#      signed-in clients keep reading their status and extending their session; p99 of both,
#      and how long the sweep took (live sessions counted every 0.5 s; the run lasts 60 s).
# Load generator, database and server share this machine.
#   ./scripts/bench-scale.sh sqlite|postgres [SESSIONS]   (default 1000000; users = SESSIONS/10)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kind="${1:-sqlite}"
rows="${2:-1000000}"
users=$(( rows / 10 ))
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server"
cargo build --release -p server --quiet

data="$(mktemp -d)"
case "$kind" in
  sqlite)
    command -v sqlite3 >/dev/null || { echo "sqlite3 is needed: apt-get install sqlite3" >&2; exit 1; }
    export DATABASE_URL="sqlite://$data/bench.db?mode=rwc"
    sql() { sqlite3 "$data/bench.db" "$1"; } ;;
  postgres)
    pg="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
    psql -q "$pg" -c 'DROP DATABASE IF EXISTS auto_logout_scale_bench' -c 'CREATE DATABASE auto_logout_scale_bench'
    export DATABASE_URL="${pg%/*}/auto_logout_scale_bench"
    sql() { psql -qtA "$DATABASE_URL" -c "$1"; } ;;
  *) echo "usage: $0 sqlite|postgres [SESSIONS]" >&2; exit 2 ;;
esac
# A 2-minute idle limit: the expiring tenth of the sessions is set to reach it during the run.
export AUTO_LOGOUT_IDLE_TIME=2m AUTO_LOGOUT_MAX_SESSIONS=0
target/release/server migrate >/dev/null
printf 'benchmark password\n' | target/release/server user add bench >/dev/null

now_ms=$(( $(date +%s) * 1000 ))
# Users user0.. and the sessions spread over them, ten each: a tenth live and about to reach
# the idle limit ('exp…'), a tenth live with "Remember me" ('live…'), the rest ended long ago.
# The bench user has ten live sessions of its own besides the one the script signs in.
seed_sql="
INSERT INTO users (username, password_hash, is_admin, created_at)
  SELECT 'user' || n, 'x', 0, 1700000000000 FROM series WHERE n < $users;
INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at,
                      expires_at, ip, last_ip, user_agent, ended_at, end_reason)
  SELECT CASE n % 10 WHEN 0 THEN 'exp' WHEN 1 THEN 'live' ELSE 'old' END || n,
         (SELECT id FROM users WHERE username = 'bench') + 1 + (n % $users),
         'browser', '{}', CASE WHEN n % 10 = 1 THEN 1 ELSE 0 END,
         CASE WHEN n % 10 < 2 THEN $now_ms ELSE 1700000000000 + n * 1000 END,
         CASE WHEN n % 10 < 2 THEN $now_ms ELSE 1700000000000 + n * 1000 + 60000 END,
         4102444800000, '10.0.' || (n % 250) || '.1', '10.0.' || (n % 250) || '.1',
         'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
         CASE WHEN n % 10 < 2 THEN NULL ELSE 1700000000000 + n * 1000 + 600000 END,
         CASE WHEN n % 10 < 2 THEN NULL ELSE 'idle_timeout' END
  FROM series;
INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at,
                      expires_at, ip, last_ip, user_agent)
  SELECT 'mine' || n, (SELECT id FROM users WHERE username = 'bench'), 'browser', '{}', 1,
         $now_ms, $now_ms, 4102444800000, '10.1.0.' || n, '10.1.0.' || n,
         'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'
  FROM series WHERE n < 10;"
echo "==> seeding $users users and $rows sessions ($kind)"
start=$(date +%s)
if [ "$kind" = sqlite ]; then
  sql "CREATE TEMP TABLE series AS WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < $rows - 1) SELECT n FROM s;
       BEGIN; $seed_sql COMMIT; ANALYZE;"
else
  psql -q "$DATABASE_URL" -c "CREATE TEMP TABLE series AS SELECT generate_series(0, $rows - 1) AS n; $seed_sql" -c 'ANALYZE'
fi
echo "    seeded in $(( $(date +%s) - start )) s: $(sql 'SELECT COUNT(*) FROM sessions') sessions, $(sql 'SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL') live"

port=3398
base="http://127.0.0.1:$port"
RUST_LOG=error LEPTOS_SITE_ADDR="127.0.0.1:$port" target/release/server serve >/dev/null 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  if [ "$kind" = postgres ]; then
    psql -q "$pg" -c 'DROP DATABASE IF EXISTS auto_logout_scale_bench' || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -s -o /dev/null -A wrk -c "$data/jar" -X POST "$base/sign-in" \
  --data-urlencode username=bench --data-urlencode 'password=benchmark password'
cookie="auto_logout_session=$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"

# The expiring tenth reaches its idle limit 15 s from now.
expire_at_ms=$(( ($(date +%s) + 15) * 1000 ))
sql "UPDATE sessions SET created_at = $expire_at_ms - 120000, last_seen_at = $expire_at_ms - 120000 WHERE id_hash LIKE 'exp%'" >/dev/null

report() {
  local label="$1" out="$2"
  local p50 p99 rps non2xx
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ { print $NF }' <<<"$out")"
  printf '%-46s p50 %8s  p99 %8s  %9s req/s%s\n' "$label" "$p50" "$p99" "$rps" "${non2xx:+  non-2xx: $non2xx}"
}

echo "==> one user's sessions among $rows (wrk -t1 -c4, 10 s)"
report "GET /api/v1/sessions ($(sql "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'bench' AND s.ended_at IS NULL") live)" \
  "$(wrk -t1 -c4 -d10s --latency -H "User-Agent: wrk" -H "Cookie: $cookie" "$base/api/v1/sessions")"

while [ "$(date +%s)" -lt $(( expire_at_ms / 1000 - 3 )) ]; do sleep 0.2; done
echo "==> the sweep of $(( rows / 10 )) sessions under traffic (status reads -c16, extends -c4, 60 s)"
(
  while true; do
    printf '%s %s\n' "$(date +%s.%N)" "$(sql "SELECT COUNT(*) FROM sessions WHERE id_hash LIKE 'exp%' AND ended_at IS NULL")"
    sleep 0.5
  done
) >"$data/live.log" 2>/dev/null &
poller=$!
wrk -t1 -c16 -d60s --latency -H "User-Agent: wrk" -H "Cookie: $cookie" "$base/api/v1/session" >"$data/status.out" &
status_wrk=$!
wrk -t1 -c4 -d60s --latency -s "$root/scripts/bench-post.lua" -H "User-Agent: wrk" \
  -H "Cookie: $cookie" -H "Origin: $base" "$base/api/v1/session/extend" >"$data/extend.out"
wait "$status_wrk"
kill "$poller" 2>/dev/null || true
wait "$poller" 2>/dev/null || true
report "GET /api/v1/session (passive)" "$(cat "$data/status.out")"
report "POST /api/v1/session/extend (active)" "$(cat "$data/extend.out")"
awk -v total=$(( rows / 10 )) '
  $2 < total && first == "" { first = $1 }
  $2 == 0 && first != "" && done == "" { done = $1 }
  END {
    if (first == "") print "    the sweep did not start within the run";
    else if (done == "") print "    the sweep had not finished when the run ended";
    else printf "    the sweep ended %d sessions in %.1f s (first to last sample)\n", total, done - first
  }' "$data/live.log"
echo "    still live among the expiring: $(sql "SELECT COUNT(*) FROM sessions WHERE id_hash LIKE 'exp%' AND ended_at IS NULL"); idle_timeout audit entries: $(sql "SELECT COUNT(*) FROM audit_log WHERE event = 'idle_timeout'")"
