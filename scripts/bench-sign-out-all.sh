#!/usr/bin/env bash
# Times `server session revoke --all` (sign out everyone) over N live sessions, on SQLite and
# on the local PostgreSQL (127.0.0.1:5432, trust auth; a scratch database signout_bench), with
# the debug build the tests use. The table is analysed first, as a live one would be: without
# statistics PostgreSQL plans each batch's UPDATE as a scan of the whole table.
#   ./scripts/bench-sign-out-all.sh [N]   (default 100000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/target/debug/server"
[ -x "$bin" ] || (cd "$root" && cargo build -p server --quiet)
n=${1:-100000}
d=$(mktemp -d)
export DATABASE_URL="sqlite://$d/b.db?mode=rwc"
$bin migrate >/dev/null
printf 'bench password\n' | $bin user add bench >/dev/null
python3 - "$d/b.db" "$n" <<'PY'
import sqlite3, sys, time
db=sqlite3.connect(sys.argv[1]); n=int(sys.argv[2]); now=int(time.time()*1000)
uid=db.execute("select id from users where username='bench'").fetchone()[0]
db.executemany("insert into sessions (id_hash,user_id,kind,data,created_at,last_seen_at,expires_at) values (?,?,?,?,?,?,?)",
  ((f"{i:064x}",uid,'browser','{}',now,now,now+3600000) for i in range(n)))
db.commit()
PY
echo "SQLite, $n sessions:"; /usr/bin/time -f "%e s, %M KB max RSS" $bin session revoke --all
psql -q -h 127.0.0.1 -U postgres -d test -c "drop database if exists signout_bench" -c "create database signout_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/signout_bench"
$bin migrate >/dev/null
printf 'bench password\n' | $bin user add bench >/dev/null
psql -q -h 127.0.0.1 -U postgres -d signout_bench -c "insert into sessions (id_hash,user_id,kind,data,created_at,last_seen_at,expires_at) select lpad(to_hex(g),64,'0'), (select id from users where username='bench'), 'browser','{}', (extract(epoch from now())*1000)::bigint, (extract(epoch from now())*1000)::bigint, (extract(epoch from now())*1000)::bigint+3600000 from generate_series(1,$n) g" -c "analyze sessions"
echo "PostgreSQL, $n sessions:"; /usr/bin/time -f "%e s, %M KB max RSS" $bin session revoke --all
psql -q -h 127.0.0.1 -U postgres -d test -c "drop database signout_bench"
rm -rf "$d"
