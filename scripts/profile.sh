#!/usr/bin/env bash
# Where one path's server time goes: the release server on a fresh SQLite database with the
# accounts and sessions of `make bench` (`bench`, an administrator, with 10 sessions; `crowd`
# with 40), loaded by wrk (-t2 -c32) while perf samples the server with DWARF call graphs.
# Prints the heaviest functions by inclusive time (children) and by their own time.
#   ./scripts/profile.sh PATH [SECONDS]      e.g. ./scripts/profile.sh /home
# perf.data is left in the temporary folder it names, for `perf report -i`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
path="${1:?usage: scripts/profile.sh PATH [SECONDS]}"
seconds="${2:-3}"
export PATH="$HOME/.cargo/bin:$PATH"
for tool in wrk perf; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk linux-perf)" >&2; exit 1; }
done
cargo build --release -p server --quiet

port=3396
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export DATABASE_URL="sqlite://$data/profile.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port"
printf 'benchmark password\n' | target/release/server user add bench --admin >/dev/null
printf 'benchmark password\n' | target/release/server user add crowd >/dev/null
RUST_LOG=error target/release/server serve >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

sign_in_as() {
  curl -s -o /dev/null -A wrk -X POST "$base/sign-in" -H "Origin: $base" "$@" \
    --data-urlencode 'password=benchmark password'
}
sign_in_as -c "$data/jar" --data-urlencode username=bench
for _ in $(seq 1 9); do sign_in_as --data-urlencode username=bench; done
for _ in $(seq 1 40); do sign_in_as --data-urlencode username=crowd; done
cookie="auto_logout_session=$(awk '$6 == "auto_logout_session" { print $7 }' "$data/jar")"

perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o "$data/perf.data" -p "$pid" \
  -- sleep "$((seconds + 1))" >/dev/null 2>&1 &
recorder=$!
sleep 0.3
wrk -t2 -c32 -d"${seconds}s" -H "User-Agent: wrk" -H "Cookie: $cookie" "$base$path" | grep -E 'Requests/sec|Non-2xx' || true
wait "$recorder"
report() { perf report -i "$data/perf.data" --sort symbol --stdio -g none "$@" 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-180; }
echo "==> inclusive time (children), $path"
report --children | head -60
echo "==> own time, $path"
report --no-children | head -30
echo "perf data: $data/perf.data"
