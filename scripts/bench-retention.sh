#!/usr/bin/env bash
# Times the retention over N audit rows (default 1,000,000) on SQLite and on the local
# PostgreSQL (127.0.0.1:5432, trust auth; a scratch database retention_bench), with the debug
# build the tests use, through `server retention` (what running servers do every minute):
#   1. ip_retention: N rows 40 days old are trimmed to networks and devices;
#   2. audit_retention = 30d: the same N rows are deleted.
#   ./scripts/bench-retention.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/target/debug/server"
[ -x "$bin" ] || (cd "$root" && cargo build -p server --quiet)
n=${1:-1000000}
old=$(( ($(date +%s) - 40 * 86400) * 1000 ))
ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
timed() { /usr/bin/time -f "  %e s, %M KB max RSS" "$bin" retention; }

d=$(mktemp -d)
export DATABASE_URL="sqlite://$d/b.db?mode=rwc"
$bin migrate >/dev/null
python3 - "$d/b.db" "$n" "$old" "$ua" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); n, old, ua = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
db.executemany(
    "insert into audit_log (event, at, username, ip, user_agent) values ('login', ?, 'bench', ?, ?)",
    ((old + i, f"198.51.{i % 200}.{i % 250}", ua if i % 3 else "curl/8.5.0") for i in range(n)))
db.commit()
PY
echo "SQLite, $n audit rows:"
echo " ip_retention (trim):"; timed
echo " audit_retention 30d (delete):"; AUTO_LOGOUT_AUDIT_RETENTION=30d timed
rm -rf "$d"

psql -q -h 127.0.0.1 -U postgres -d test -c "drop database if exists retention_bench" -c "create database retention_bench" 2>/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/retention_bench"
$bin migrate >/dev/null
psql -q -h 127.0.0.1 -U postgres -d retention_bench \
  -c "insert into audit_log (event, at, username, ip, user_agent) select 'login', $old + g, 'bench', '198.51.' || (g % 200) || '.' || (g % 250), case when g % 3 = 0 then 'curl/8.5.0' else '$ua' end from generate_series(1, $n) g" \
  -c "analyze audit_log"
echo "PostgreSQL, $n audit rows:"
echo " ip_retention (trim):"; timed
echo " audit_retention 30d (delete):"; AUTO_LOGOUT_AUDIT_RETENTION=30d timed
psql -q -h 127.0.0.1 -U postgres -d test -c "drop database retention_bench"
