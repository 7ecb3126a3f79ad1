#!/usr/bin/env bash
# Builds the <auto-logout-countdown> custom element (crate `countdown`, feature `element`) into
# countdown/dist/, which the engine embeds and serves under /auto-logout/:
#   countdown.wasm (+ .br)  the WebAssembly, optimised with binaryen's wasm-opt -Oz
#   countdown.js   (+ .br)  wasm-bindgen's ES module followed by js/element.js, which defines
#                           the element; it names the WebAssembly by its content hash
# and prints the bytes over the wire. The build is reproducible (paths are remapped), so
# `--check` rebuilds and fails when the committed dist/ is not what the sources give.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

check=false
[ "${1:-}" = "--check" ] && check=true

target="$root/target/element"
out="$target/out"
dist="$root/countdown/dist"
rm -rf "$out"
mkdir -p "$out"

# A target directory of its own: its flags (remapped paths) would otherwise rebuild the app's
# WebAssembly dependencies every time.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$root=/auto-logout --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" \
  cargo build --quiet -p auto-logout-countdown --features element \
  --target wasm32-unknown-unknown --profile wasm-release --target-dir "$target"

wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name countdown \
  "$target/wasm32-unknown-unknown/wasm-release/auto_logout_countdown.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/countdown_bg.wasm" -o "$out/countdown.wasm"
wasm_hash="$(sha256sum "$out/countdown.wasm" | cut -c1-16)"
{
  cat "$out/countdown.js"
  sed "s/__AUTO_LOGOUT_WASM__/countdown-$wasm_hash.wasm/" countdown/js/element.js
} >"$out/element.js"
mv "$out/element.js" "$out/countdown.js"
node -e '
  const fs = require("fs"), zlib = require("zlib");
  for (const file of process.argv.slice(1)) {
    const br = zlib.brotliCompressSync(fs.readFileSync(file), {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 },
    });
    fs.writeFileSync(file + ".br", br);
  }' "$out/countdown.wasm" "$out/countdown.js"

files="countdown.wasm countdown.wasm.br countdown.js countdown.js.br"
if $check; then
  for file in $files; do
    if ! cmp -s "$out/$file" "$dist/$file"; then
      echo "error: countdown/dist/$file is not what the sources build; run scripts/build-element.sh and commit countdown/dist" >&2
      exit 1
    fi
  done
  echo "countdown/dist is what the sources build"
else
  mkdir -p "$dist"
  for file in $files; do cp "$out/$file" "$dist/$file"; done
fi

printf '\n<auto-logout-countdown> over the wire (bytes):\n%-16s %9s %9s\n' file raw brotli
total_raw=0 total_br=0
for file in countdown.wasm countdown.js; do
  raw=$(stat -c %s "$out/$file") br=$(stat -c %s "$out/$file.br")
  printf '%-16s %9d %9d\n' "$file" "$raw" "$br"
  total_raw=$((total_raw + raw)) total_br=$((total_br + br))
done
printf '%-16s %9d %9d\n' total "$total_raw" "$total_br"
