#!/usr/bin/env bash
# `make footprint`: what the release server costs to start and to hold, on SQLite.
#   1. start-up time to the first answer (`GET /healthz`), on an empty database (migrated by
#      `server migrate`, and not yet migrated) and on 1,000,000 stored sessions;
#   2. resident memory (VmRSS) with 100,000 live sessions in its cache: after start-up, then
#      once each of 100,000 API clients has read its status (`GET /api/v1/session`), which
#      puts its session in the cache.
# The stored sessions: 100,000 live API sessions of 10,000 accounts (tokens `fp-<n>`; the
# database keeps their SHA-256, as for a real token) and 900,000 ended ones.
#   ./scripts/footprint.sh [SESSIONS]   (default 1000000; the live ones stay 100,000)
# FOOTPRINT_LOG=FILE appends the server's error log there (to see why a status read failed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${1:-1000000}"
live=100000
[ "$rows" -ge "$live" ] || { echo "SESSIONS must be at least $live" >&2; exit 2; }
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building the release server"
cargo build --release -p server --quiet
server="$root/target/release/server"

port=3397
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$data"' EXIT

# start_timed: starts the server on $DATABASE_URL, sets $ms to the milliseconds until its
# first answer, and leaves it running as $pid.
start_timed() {
  local started now
  if curl -sf -o /dev/null "$base/healthz"; then
    echo "port $port is taken by another server" >&2
    exit 1
  fi
  started="$(date +%s%N)"
  "$server" serve >/dev/null 2>>"${FOOTPRINT_LOG:-/dev/null}" &
  pid=$!
  until curl -sf -o /dev/null "$base/healthz"; do
    kill -0 "$pid" 2>/dev/null || { echo "the server stopped" >&2; exit 1; }
    sleep 0.002
  done
  now="$(date +%s%N)"
  ms=$(( (now - started) / 1000000 ))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }

export DATABASE_URL="sqlite://$data/fresh.db?mode=rwc"
start_timed; fresh_ms="$ms"
stop
"$server" migrate >/dev/null
start_timed; empty_ms="$ms"
empty_rss="$(rss_mib)"
stop

export DATABASE_URL="sqlite://$data/footprint.db?mode=rwc"
"$server" migrate >/dev/null
echo "==> seeding $rows sessions ($live live)"
python3 - "$data/footprint.db" "$rows" "$live" <<'EOF'
import hashlib, sqlite3, sys, time
path, rows, live = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time() * 1000)
accounts = live // 10
db = sqlite3.connect(path)
db.execute("BEGIN")
# As the server writes an account: with its username key (the folded name; these names are
# ASCII lowercase, their own key). Accounts without one are an old database's, which start-up
# fills in once (see `fill_username_keys`), not what a start-up costs.
db.executemany(
    "INSERT INTO users (username, username_key, password_hash, is_admin, created_at) "
    "VALUES (?, ?, 'x', 0, ?)",
    ((f"fp{n}", f"fp{n}", now) for n in range(accounts)),
)
first = db.execute("SELECT MIN(id) FROM users WHERE username LIKE 'fp%'").fetchone()[0]
ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
def session(n):
    user = first + n % accounts
    if n < live:
        token_hash = hashlib.sha256(f"fp-{n}".encode()).hexdigest()
        return (token_hash, user, "api", 0, now, now, 4102444800000, ua, None, None)
    then = 1700000000000 + n * 1000
    return (f"old{n}", user, "browser", 0, then, then + 60000, 4102444800000, ua,
            then + 600000, "idle_timeout")
db.executemany(
    "INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at, "
    "expires_at, ip, last_ip, user_agent, ended_at, end_reason) "
    "VALUES (?, ?, ?, '{}', ?, ?, ?, ?, '10.0.0.1', '10.0.0.1', ?, ?, ?)",
    (session(n) for n in range(rows)),
)
db.commit()
db.execute("ANALYZE")
db.close()
EOF

start_timed; full_ms="$ms"
before_rss="$(rss_mib)"
echo "==> $live clients read their status once"
python3 - "$port" "$live" <<'EOF'
import http.client, sys, threading
port, live = int(sys.argv[1]), int(sys.argv[2])
# The user agent the sessions signed in with (a session presented by another is suspended).
ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
threads, failed = 4, []
def client(k):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for n in range(k, live, threads):
        conn.request("GET", "/api/v1/session", headers={"Authorization": f"Bearer fp-{n}", "User-Agent": ua})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            failed.append(answer.status)
workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
if failed:
    sys.exit(f"{len(failed)} status reads failed (first: {failed[0]})")
EOF
after_rss="$(rss_mib)"

per_session="$(awk -v a="$after_rss" -v b="$before_rss" -v n="$live" 'BEGIN { printf "%.0f", (a - b) * 1048576 / n }')"
printf '\n%-58s %s\n' "measure" "value"
printf '%-58s %s ms\n' "start-up to first answer, database not yet migrated" "$fresh_ms"
printf '%-58s %s ms\n' "start-up to first answer, empty database" "$empty_ms"
printf '%-58s %s ms\n' "start-up to first answer, $rows stored sessions" "$full_ms"
printf '%-58s %s MiB\n' "resident memory, empty database" "$empty_rss"
printf '%-58s %s MiB\n' "resident memory, $rows stored, none cached" "$before_rss"
printf '%-58s %s MiB\n' "resident memory, $live live sessions cached" "$after_rss"
printf '%-58s %s bytes\n' "resident memory per cached session" "$per_session"
