#!/usr/bin/env bash
# OpenAPI-driven fuzzing of the running server: schemathesis (from PyPI, installed once into
# .tools/schemathesis) generates requests from GET /api/v1/openapi.json, signed in with an API
# token, and checks every answer against the description: no 5xx, documented status codes,
# content types and bodies. A fresh SQLite database; the debug server binary.
#   ./scripts/api-fuzz.sh [MAX_EXAMPLES_PER_OPERATION]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
examples="${1:-60}"
export PATH="$HOME/.cargo/bin:$PATH"
SCHEMATHESIS_VERSION="4.32.5"

venv="$root/.tools/schemathesis"
if [ "$("$venv/bin/st" --version 2>/dev/null || true)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION into .tools/schemathesis"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

[ -x target/debug/server ] || cargo build -p server --quiet

port=3391
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
export DATABASE_URL="sqlite://$data/fuzz.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port"
printf 'fuzzing password\n' | target/debug/server user add fuzz --admin >/dev/null
# Every generated sign-in comes from 127.0.0.1: the per-address throttle would end the run's
# sign-ins after 50 failures. The per-username one stays on.
export AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP=0
RUST_LOG=error target/debug/server serve >"$data/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

token() {
  curl -sf -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
    -A "schemathesis/$SCHEMATHESIS_VERSION" -d "{\"username\":\"$1\",\"password\":\"fuzzing password\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# `positive_data_acceptance` is left out: `DELETE /api/v1/sessions` naming no session is valid
# by the schema (both query parameters are optional; OpenAPI cannot say "one of the two") and
# refused by design with 400 `no_sessions_named`.
# schemathesis sends its own User-Agent; the token is made with the same one (a session
# presented by another user agent is suspended). Signing out ends the token's session, after which every other operation could only answer
# 401: it runs last, on its own token.
fuzz() {
  "$venv/bin/st" run "$base/api/v1/openapi.json" \
    --url "$base" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --max-examples "$examples" \
    --header "Authorization: Bearer $(token "$account")" \
    --seed 7 \
    --no-color "$@"
}
echo "==> schemathesis against $base (at most $examples examples per operation)"
account=fuzz fuzz --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/admin/sessions/sign-out-all
echo "==> schemathesis: sign-out"
# On an account of its own, made only now: the fuzzing reuses names it read in answers (the
# users list included) and may have got them throttled with wrong passwords.
printf 'fuzzing password\n' | target/debug/server user add fuzz-sign-out >/dev/null
account=fuzz-sign-out fuzz --include-path /api/v1/auth/logout
echo "==> schemathesis: sign out everyone"
# It ends every session, the caller's too unless told otherwise: last, on an administrator of
# its own.
printf 'fuzzing password\n' | target/debug/server user add fuzz-everyone --admin >/dev/null
account=fuzz-everyone fuzz --include-path /api/v1/admin/sessions/sign-out-all
