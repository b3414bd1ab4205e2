#!/usr/bin/env bash
# Installs what `cargo test --workspace` needs beyond a Rust toolchain, where it is missing:
#   - the wasm32-unknown-unknown target (the tests build the example guests from source;
#     rust-toolchain.toml names it, but rustup adds a toolchain file's targets only when it
#     installs the toolchain itself, not to a toolchain already there);
#   - Debian's clang and lld (the C guests, `scripts/build-c-guest.sh`);
#   - Debian's chromium (the dashboard test renders `modreg serve`'s page).
# Idempotent: on a machine that has them it installs nothing. apt-get runs as root, or
# through sudo where that is there; elsewhere the script names the packages and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# (grep reads the whole list: with pipefail, an early exit could fail rustup's write.)
rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null ||
  rustup target add wasm32-unknown-unknown

packages=()
command -v clang >/dev/null 2>&1 || packages+=(clang)
command -v wasm-ld >/dev/null 2>&1 || packages+=(lld)
[ -x /usr/bin/chromium ] || packages+=(chromium)
# More packages may be asked for by the caller (`.ci/run` adds those of its own steps).
packages+=("$@")
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-test-tools: needs root to install ${packages[*]} (apt-get); install them and run again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-tools: no apt-get here; install ${packages[*]} with this system's package manager" >&2
  exit 1
fi
echo "== installing ${packages[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
