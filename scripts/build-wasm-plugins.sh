#!/usr/bin/env bash
# Builds the example WebAssembly guests from source into target/wasm-plugins:
#   codecs.wasm   rot13 and the bundled hex and Base64 codecs (modreg-plugins' own source)
#   hostile.wasm  plugins that misbehave on purpose (the sandbox's tests)
# and, in a folder of its own (its trait is the application's, `Pricing`):
#   target/wasm-typed/pricing.wasm  examples/sandboxed-trait built to WebAssembly
# Then: cargo run --release -- --plugin-dir target/wasm-plugins run rot13
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release --target wasm32-unknown-unknown -p guest-codecs -p guest-hostile -p sandboxed-trait \
  --target-dir "$target/wasm-guests"
mkdir -p "$target/wasm-plugins"
cp "$target/wasm-guests/wasm32-unknown-unknown/release/guest_codecs.wasm" "$target/wasm-plugins/codecs.wasm"
cp "$target/wasm-guests/wasm32-unknown-unknown/release/guest_hostile.wasm" "$target/wasm-plugins/hostile.wasm"
mkdir -p "$target/wasm-typed"
cp "$target/wasm-guests/wasm32-unknown-unknown/release/sandboxed_trait.wasm" "$target/wasm-typed/pricing.wasm"
ls -l "$target/wasm-plugins" "$target/wasm-typed"
