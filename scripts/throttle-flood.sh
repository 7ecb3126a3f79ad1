#!/usr/bin/env bash
# Starts the release server on a fresh SQLite database (127.0.0.1 trusted as a proxy), creates
# an account, gets one address throttled, then floods from it while a person signs in from
# other addresses: requests, answers, refusal latency p50/p99, audit rows added, and the
# other addresses' sign-ins (scripts/throttle_flood.py).
# Then, with wrk when it is installed, the same flood at full speed (wrk -t2 -c32): the refusals'
# rate and latency as the server sees them, and the server's CPU per refusal.
#   ./scripts/throttle-flood.sh [CONNECTIONS] [SECONDS]
# SERVER=path/to/server measures another build (an older commit's, for a before and after).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
clients="${1:-32}"
seconds="${2:-10}"
export PATH="$HOME/.cargo/bin:$PATH"

server="${SERVER:-target/release/server}"
if [ -z "${SERVER:-}" ]; then
  echo "==> building the release server"
  cargo build --release -p server --quiet
fi

port=3391
data="$(mktemp -d)"
db="$data/flood.db"
export DATABASE_URL="sqlite://$db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error
export AUTO_LOGOUT_TRUSTED_PROXIES=127.0.0.1
password="a person's own password"
printf '%s\n%s\n' "$password" "$password" | "$server" user add person >/dev/null
"$server" serve >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
python3 scripts/throttle_flood.py "http://127.0.0.1:$port" "$db" person "$password" \
  --clients "$clients" --seconds "$seconds"

if command -v wrk >/dev/null 2>&1; then
  echo
  echo "==> wrk -t2 -c32 -d${seconds}s, the same refused sign-ins"
  cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
  before="$(cpu)"
  wrk -t2 -c32 -d"${seconds}s" --latency -s scripts/throttle-flood.lua "http://127.0.0.1:$port/sign-in" \
    -- "http://127.0.0.1:$port" | grep -E 'Requests/sec|requests in|99%|50%|Non-2xx'
  after="$(cpu)"
  echo "server CPU: $(( (after - before) * 10 )) ms in all (clock ticks of 10 ms)"
  python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
try:
    rows, attempts = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(repeat_count), 0) FROM audit_log WHERE event = 'login_throttled'"
    ).fetchone()
except sqlite3.OperationalError:  # a build from before rows stood for several attempts
    rows = attempts = db.execute("SELECT COUNT(*) FROM audit_log WHERE event = 'login_throttled'").fetchone()[0]
total = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
print(f"audit rows in all: {total}; login_throttled: {rows}, standing for {attempts} refused attempts")
PY
fi
