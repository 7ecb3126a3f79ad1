#!/usr/bin/env bash
# Installs what building and testing auto-logout needs, skipping whatever is already present:
# the pinned Rust toolchain with the wasm32 target, cargo-leptos, the wasm-bindgen CLI matching
# Cargo.lock, Debian's Chromium (for the browser tests), and the npm packages under end2end/
# (Playwright, sass and binaryen's wasm-opt, which cargo-leptos uses from PATH instead of
# downloading them). Run from anywhere; safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CARGO_LEPTOS_VERSION="0.3.11"
CARGO_MACHETE_VERSION="0.9.2"
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
wasm_bindgen_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! have rustup; then
  echo "rustup is required (https://rustup.rs); install it and run this again" >&2
  exit 1
fi

if ! rustup target list --installed --toolchain "$toolchain" 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  step "installing Rust $toolchain with the wasm32 target"
  rustup toolchain install "$toolchain" --profile minimal \
    --target wasm32-unknown-unknown --component rustfmt,clippy
fi

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores, once)"
  cargo +"$toolchain" install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  step "installing wasm-bindgen-cli $wasm_bindgen_version (matches Cargo.lock)"
  # Not --locked: its lock file names a crate version the registry no longer serves.
  cargo +"$toolchain" install wasm-bindgen-cli --version "$wasm_bindgen_version" --force
fi

if [ "$(cargo machete --version 2>/dev/null || true)" != "$CARGO_MACHETE_VERSION" ]; then
  step "installing cargo-machete $CARGO_MACHETE_VERSION (unused-dependency check, about 1 minute)"
  cargo +"$toolchain" install cargo-machete --locked --version "$CARGO_MACHETE_VERSION"
fi

if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

stamp="end2end/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ end2end/package-lock.json -nt "$stamp" ]; then
  step "installing npm packages under end2end/ (Playwright, sass, binaryen)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

step "tools ready: $(cargo leptos --version), $(wasm-bindgen --version), $(end2end/node_modules/.bin/sass --version | cut -d' ' -f1) sass"
