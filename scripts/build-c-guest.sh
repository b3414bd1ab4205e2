#!/usr/bin/env bash
# Builds the C guests (examples/wasm-guests/c: the hex codec, and the hostile guests, in C with
# no C library) with clang's wasm32 target and lld's wasm-ld (Debian's `clang` and `lld`;
# `scripts/install-test-tools.sh` installs them) into
# target/wasm-c-guests/{c-hex,c-hostile}.wasm, and prints the directory. Then:
#   cargo run --release -- conformance target/wasm-c-guests/c-hex.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
out="$target/wasm-c-guests"
mkdir -p "$out"
for guest in hex hostile; do
  # -nostdlib: freestanding (-mbulk-memory: a fill or copy is `memory.fill`/`memory.copy`,
  # not a call to a C library that is not there); --no-entry: a library, its exports named
  # in the source; a 32 KiB stack (wasm-ld's default is 1 MiB; the codec does not recurse)
  # keeps a fresh instance to one page of memory, with room left for a small call's input and
  # answer, and --stack-first puts it below the data, so an overflow traps instead of
  # overwriting it.
  clang --target=wasm32 -mbulk-memory -O2 -std=c11 -nostdlib -ffreestanding -Wall -Wextra -Werror \
    -Wl,--no-entry -Wl,-z,stack-size=32768 -Wl,--stack-first \
    -o "$out/.c-$guest.wasm.$$" "examples/wasm-guests/c/$guest.c"
  mv "$out/.c-$guest.wasm.$$" "$out/c-$guest.wasm"
done
echo "$out"
