#!/usr/bin/env bash
# Installs what is missing, builds, and starts auto-logout on http://127.0.0.1:3000 with
# SQLite (data/auto-logout.db) and the demo account (AUTO_LOGOUT_DEMO_ACCOUNT=true).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The demo account exists only where it is asked for (never by default in production).
export AUTO_LOGOUT_DEMO_ACCOUNT="${AUTO_LOGOUT_DEMO_ACCOUNT:-true}"
echo
echo "Starting on http://127.0.0.1:3000 — demo account: username 'demo', password 'auto-logout-demo'"
exec cargo leptos serve --project auto-logout
