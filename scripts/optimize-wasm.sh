#!/usr/bin/env bash
# optimize-wasm.sh IN OUT: the module cargo built, through Binaryen's wasm-opt -O3, into OUT.
# optimize-wasm.sh --install: only make sure the pinned wasm-opt is installed (make deps).
#
# Why: wasm-opt's whole-module passes (dead code across functions, merging of identical
# functions, local and control-flow simplification on the wasm itself) take 70 to 85 KB off
# what rustc and LLVM leave and do not slow the module down (-O3; -Os and -Oz are smaller by a
# few KB but measurably slower under the engine's compiler; README, Performance). TinyGo runs
# the same optimiser on every Kubewarden Go policy, and wasm-pack on Rust modules.
#
# Reproducible: wasm-opt is the npm package `binaryen`, pinned by tools/binaryen/package-lock.json;
# its output depends only on its version, its flags and the input. The feature flags are exactly
# what rustc enables for wasm32-wasip1 (`rustc --print cfg --target wasm32-wasip1`), so the
# optimiser may not introduce anything the input could not already contain.
#
# The last output is kept in $CARGO_TARGET_DIR/wasm-opt (default target/), named by a hash of the
# input, this script and the lock file: an unchanged cargo build costs nothing, and
# `make check-reproducible`, which builds in a target directory of its own, runs wasm-opt afresh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools/binaryen"
wasm_opt="$tools/node_modules/binaryen/bin/wasm-opt"

# The pinned wasm-opt, installed by `npm ci` when missing or of another version.
ensure_binaryen() {
  if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    echo "optimize-wasm: Node.js and npm are needed to build policy.wasm (Debian packages nodejs npm; scripts/install-deps.sh installs them)" >&2
    exit 1
  fi
  local version installed
  version=$(node -p 'require(process.argv[1]).dependencies.binaryen' "$tools/package.json")
  installed=$(node -p 'try { require(process.argv[1]).version } catch { "" }' \
    "$tools/node_modules/binaryen/package.json")
  if [ "$installed" = "$version" ]; then
    echo "optimize-wasm: binaryen $version (wasm-opt): present (tools/binaryen)" >&2
  else
    echo "optimize-wasm: binaryen $version (wasm-opt): installing (npm ci in tools/binaryen)" >&2
    npm ci --prefix "$tools" --no-audit --no-fund --silent
  fi
}

if [ "${1:-}" = --install ]; then
  ensure_binaryen
  exit 0
fi

in=$1 out=$2
cache="${CARGO_TARGET_DIR:-$root/target}/wasm-opt"
key=$(cat "$in" "$0" "$tools/package-lock.json" | sha256sum | cut -c1-32)

if [ -f "$cache/$key.wasm" ]; then
  cp "$cache/$key.wasm" "$out"
  exit 0
fi

ensure_binaryen
rm -rf "$cache" && mkdir -p "$cache"
node "$wasm_opt" -O3 --mvp-features \
  --enable-bulk-memory --enable-bulk-memory-opt --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-call-indirect-overlong \
  --enable-sign-ext \
  "$in" -o "$cache/$key.wasm"
cp "$cache/$key.wasm" "$out"
