#!/usr/bin/env bash
# Builds the C guest (examples/wasm-guests/c-hex: the hex codec written in C, no C library)
# with clang's wasm32 target and lld's wasm-ld (Debian's `clang` and `lld`; `.ci/run`
# installs them) into target/wasm-c-guests/c-hex.wasm. Then:
#   cargo run --release -- conformance target/wasm-c-guests/c-hex.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
out="$target/wasm-c-guests"
mkdir -p "$out"
# -nostdlib: the guest is freestanding; --no-entry: a library, its exports named in the source;
# a 64 KiB stack instead of wasm-ld's 1 MiB default keeps a fresh instance small.
clang --target=wasm32 -O2 -std=c11 -nostdlib -ffreestanding -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,-z,stack-size=65536 -Wl,--stack-first \
  -o "$out/.c-hex.wasm.$$" examples/wasm-guests/c-hex/hex.c
mv "$out/.c-hex.wasm.$$" "$out/c-hex.wasm"
echo "$out/c-hex.wasm"
