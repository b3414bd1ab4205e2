#!/usr/bin/env bash
# Build cost of #[plugin]: a crate with N plugins written with the attribute, beside the same
# registrations written by hand as linkme statics with hand-written `impl Plugin`, measured in
# the same run. Prints the median of RUNS timings of `cargo check` and `cargo build --release`
# of each crate alone (dependencies built beforehand).
#
#   scripts/build-cost.sh [N=1000] [RUNS=3]
set -euo pipefail
n=${1:-1000}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/build-cost"
rm -rf "$work" && mkdir -p "$work/macro/src" "$work/raw/src"

cat > "$work/Cargo.toml" <<TOML
[workspace]
members = ["macro", "raw"]
resolver = "3"
TOML
for kind in macro raw; do
  cat > "$work/$kind/Cargo.toml" <<TOML
[package]
name = "cost-$kind"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
modreg = { path = "$root" }
linkme = "0.3.37"
TOML
done

{
  echo "use modreg::{plugin, PluginBehavior, PluginError};"
  for i in $(seq 1 "$n"); do
    cat <<RS
#[plugin(type = Storage, name = "p$i", version = "1.0.0", capabilities = ["c$((i % 10))", "all"])]
#[derive(Default)]
pub struct P$i;
impl PluginBehavior for P$i {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(data.to_vec()) }
}
RS
  done
} > "$work/macro/src/lib.rs"

{
  cat <<'RS'
#![allow(unsafe_code)]
use linkme::distributed_slice;
use modreg::{Plugin, PluginDescriptor, PluginError, PluginType, SourceLocation};
// The default registry's table, where `#[plugin]` puts its descriptors.
use modreg::__private::default_registry::MODREG_PLUGINS_V0;
use std::sync::OnceLock;
const HERE: SourceLocation = SourceLocation { crate_name: "cost-raw", module_path: "cost_raw", file: "lib.rs", line: 1 };
RS
  for i in $(seq 1 "$n"); do
    cat <<RS
#[derive(Default)]
pub struct P$i;
#[distributed_slice(MODREG_PLUGINS_V0)]
static D$i: PluginDescriptor = <PluginDescriptor>::new("p$i", "1.0.0", PluginType::Storage, |_| Ok(Box::new(P$i)), HERE)
    .with_capabilities(&["c$((i % 10))", "all"]);
impl Plugin for P$i {
    fn name(&self) -> &str { D$i.name() }
    fn version(&self) -> &str { D$i.version() }
    fn plugin_type(&self) -> PluginType { D$i.plugin_type() }
    fn capabilities(&self) -> &[String] {
        static C: OnceLock<Vec<String>> = OnceLock::new();
        C.get_or_init(|| D$i.capabilities().iter().map(|c| c.to_string()).collect())
    }
    fn initialize(&mut self) -> Result<(), PluginError> { Ok(()) }
    fn cleanup(&mut self) -> Result<(), PluginError> { Ok(()) }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(data.to_vec()) }
}
RS
  done
} > "$work/raw/src/lib.rs"

cd "$work"
# Dependencies first, so that only the crates themselves are timed.
cargo check -q -p cost-macro -p cost-raw
cargo build -q --release -p cost-macro -p cost-raw

time_it() { # command... -> seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' 
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for step in check "build --release"; do
  for kind in macro raw; do : > "$work/$kind.$(echo "$step" | tr -d ' -')"; done
  for _ in $(seq 1 "$runs"); do
    for kind in macro raw; do
      touch "$work/$kind/src/lib.rs"
      # shellcheck disable=SC2086
      time_it cargo $step -q -p "cost-$kind" >> "$work/$kind.$(echo "$step" | tr -d ' -')"
    done
  done
  m=$(median < "$work/macro.$(echo "$step" | tr -d ' -')")
  r=$(median < "$work/raw.$(echo "$step" | tr -d ' -')")
  awk -v step="$step" -v n="$n" -v m="$m" -v r="$r" 'BEGIN {
    printf "cargo %-16s %5d plugins: #[plugin] %6.2fs  raw linkme %6.2fs  ratio %.2f  per plugin %+.2f ms\n",
      step, n, m, r, m / r, (m - r) * 1000 / n }' 
done
