#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets: next, cookie, forwarded_for, config_values,
# username, spreadsheet, csrf, throttle) for a
# while with libFuzzer through cargo-fuzz, installing cargo-fuzz when missing.
#   ./scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the pinned stable toolchain
# accept them. Crashes are kept under fuzz/artifacts/<target>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-120}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(next cookie forwarded_for config_values username spreadsheet csrf throttle)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  echo
  echo "==> fuzzing $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" -- -max_total_time="$seconds" -max_len=4096 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)|ERROR|panicked|SUMMARY' || true
  if ls "fuzz/artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "crash found in $target: see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
