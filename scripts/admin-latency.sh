#!/usr/bin/env bash
# p99 latency of the admin console's lists at scale: seeds 1,000,000 audit entries and
# 1,000,000 sessions (100 users, 10% of the sessions live) into a fresh database, starts the
# release server, signs an administrator in and measures GET /admin/activity and
# GET /admin/sessions (server-rendered pages), unfiltered and filtered, with wrk (1 thread,
# 4 connections, 10 s each). Load generator and server share this machine.
#   ./scripts/admin-latency.sh sqlite|postgres [ROWS]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kind="${1:-sqlite}"
rows="${2:-1000000}"
export PATH="$HOME/.cargo/bin:$PATH"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

echo "==> building the release server"
cargo build --release -p server --quiet

data="$(mktemp -d)"
case "$kind" in
  sqlite) export DATABASE_URL="sqlite://$data/bench.db?mode=rwc" ;;
  postgres)
    pg="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
    psql -q "$pg" -c 'DROP DATABASE IF EXISTS auto_logout_admin_bench' -c 'CREATE DATABASE auto_logout_admin_bench'
    export DATABASE_URL="${pg%/*}/auto_logout_admin_bench" ;;
  *) echo "usage: $0 sqlite|postgres [ROWS]" >&2; exit 2 ;;
esac
target/release/server migrate >/dev/null
printf 'benchmark password\n' | target/release/server user add admin --admin >/dev/null

# The seed: users user0..user99, then ROWS audit entries and ROWS sessions spread over them.
seed_sql="
INSERT INTO users (username, password_hash, is_admin, created_at)
  SELECT 'user' || n, 'x', 0, 1700000000000 FROM series WHERE n < 100;
INSERT INTO audit_log (event, at, user_id, username, ip, user_agent)
  SELECT CASE n % 4 WHEN 0 THEN 'login' WHEN 1 THEN 'logout' WHEN 2 THEN 'login_failed'
                    ELSE 'idle_timeout' END,
         1700000000000 + n * 1000, (n % 100) + 2, 'user' || (n % 100),
         '10.0.' || (n % 250) || '.1', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'
  FROM series;
INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at,
                      expires_at, ip, last_ip, user_agent, ended_at, end_reason)
  SELECT 'seed' || n, (n % 100) + 2, CASE WHEN n % 10 = 0 THEN 'api' ELSE 'browser' END, '{}', 0,
         1700000000000 + n * 1000, 1700000000000 + n * 1000 + 60000, 4102444800000,
         '10.0.' || (n % 250) || '.1', '10.0.' || (n % 250) || '.1',
         'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
         CASE WHEN n % 10 = 1 THEN NULL ELSE 1700000000000 + n * 1000 + 600000 END,
         CASE WHEN n % 10 = 1 THEN NULL ELSE 'idle_timeout' END
  FROM series;"
echo "==> seeding $rows audit entries and $rows sessions ($kind)"
start=$(date +%s)
if [ "$kind" = sqlite ]; then
  sqlite3 "$data/bench.db" "
    CREATE TEMP TABLE series AS WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < $rows - 1) SELECT n FROM s;
    BEGIN; $seed_sql COMMIT; ANALYZE;"
else
  psql -q "$DATABASE_URL" -c "
    CREATE TEMP TABLE series AS SELECT generate_series(0, $rows - 1) AS n;
    $seed_sql" -c 'ANALYZE'
fi
echo "    seeded in $(( $(date +%s) - start )) s"

port=3396
base="http://127.0.0.1:$port"
RUST_LOG=error LEPTOS_SITE_ADDR="127.0.0.1:$port" target/release/server serve >/dev/null 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  if [ "$kind" = postgres ]; then
    psql -q "${pg}" -c 'DROP DATABASE IF EXISTS auto_logout_admin_bench' || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -s -o /dev/null -A wrk -c "$data/jar" -X POST "$base/sign-in" \
  --data-urlencode username=admin --data-urlencode 'password=benchmark password'
cookie="$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"

measure() {
  local path="$1"
  local out
  out="$(wrk -t1 -c4 -d10s --latency -H "User-Agent: wrk" -H "Cookie: auto_logout_session=$cookie" "$base$path")"
  local p50 p99 rps non2xx
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ { print $NF }' <<<"$out")"
  printf '%-52s p50 %8s  p99 %8s  %8s req/s%s\n' "$path" "$p50" "$p99" "$rps" "${non2xx:+  non-2xx: $non2xx}"
}
echo "==> GET, 10 s each ($kind, $rows rows)"
measure "/admin/activity"
measure "/admin/activity?user=user7"
measure "/admin/activity?event=login_failed"
measure "/admin/activity?user=user7&event=logout"
measure "/admin/sessions"
measure "/admin/sessions?state=active"
measure "/admin/sessions?state=active&user=user7"
measure "/admin/sessions?kind=api"
