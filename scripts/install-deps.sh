#!/usr/bin/env bash
# What `make demo` and `make test` need beyond Rust and rustup, installed when missing: the
# wasm32-wasip1 target and the rustfmt/clippy components through rustup; cargo-deny through
# cargo install; docker-registry, bats, jq, python3, curl, htpasswd (apache2-utils) and openssl
# through apt when run as root, otherwise a list of what to install; Node.js and npm (apt) for
# Binaryen's wasm-opt, which npm installs into tools/binaryen (policy.wasm is optimised by it).
# One line per step; nothing is downloaded when everything is present.
set -euo pipefail

say() { echo "install-deps: $*"; }

if ! command -v rustup > /dev/null; then
  say "rustup not found: install Rust with rustup (https://rustup.rs), then run this again"
  exit 1
fi

if rustup target list --installed | grep -qx wasm32-wasip1; then
  say "wasm32-wasip1 target: present"
else
  say "wasm32-wasip1 target: installing (rustup target add wasm32-wasip1)"
  rustup target add wasm32-wasip1
fi

for component in rustfmt clippy; do
  if rustup component list --installed | grep -q "^$component"; then
    say "$component: present"
  else
    say "$component: installing (rustup component add $component)"
    rustup component add "$component"
  fi
done

# cargo-deny (make lint: licences, bans, sources, advisories), built from crates.io: about 4
# minutes on 2 cores (measured: 230 s), once per machine. The version deny.toml is written for.
if command -v cargo-deny > /dev/null; then
  say "cargo-deny: present ($(command -v cargo-deny))"
else
  say "cargo-deny: installing (cargo install --locked cargo-deny@0.20.2)"
  cargo install --locked cargo-deny@0.20.2
fi

# command → Debian package providing it.
# htpasswd and openssl: distribution.bats (an authenticating registry, a release key).
# node and npm: Binaryen's wasm-opt (scripts/optimize-wasm.sh).
declare -A packages=([docker-registry]=docker-registry [bats]=bats [jq]=jq [python3]=python3 [curl]=curl [htpasswd]=apache2-utils [openssl]=openssl [node]=nodejs [npm]=npm)
missing=()
for command in docker-registry bats jq python3 curl htpasswd openssl node npm; do
  path=$(command -v "$command" || true)
  if [ "$command" = docker-registry ] && [ -n "${REGISTRY_BIN:-}" ]; then
    path=$([ -x "$REGISTRY_BIN" ] && echo "$REGISTRY_BIN" || true)
  fi
  if [ -n "$path" ]; then
    say "$command: present ($path)"
  else
    say "$command: missing (Debian package ${packages[$command]})"
    missing+=("${packages[$command]}")
  fi
done

# Binaryen's wasm-opt: optimize-wasm.sh owns the pinned version and its installation.
binaryen() {
  "$(dirname "$0")/optimize-wasm.sh" --install 2>&1 | sed 's/^optimize-wasm: /install-deps: /'
}

if [ ${#missing[@]} -eq 0 ]; then
  binaryen
  say "everything is present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
  say "installing with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  say "installed: ${missing[*]}"
  binaryen
else
  say "cannot install as $(id -un) without apt-get as root; install these, then run this again:"
  say "  sudo apt-get install ${missing[*]}"
  exit 1
fi
