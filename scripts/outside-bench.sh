#!/usr/bin/env bash
# The calls a user's binary makes (create_plugin, a name lookup, a monitored creation and a
# monitored process), measured from a crate outside the workspace, as a user builds them,
# against two revisions: BEFORE (default: the last commit before the host became crates)
# and AFTER (default: the working tree; give a revision to measure a commit while the tree
# changes). Each side builds its revision's own user crate (benches/outside): the same rows,
# written against that revision's API. Runs alternate (before, after, before, after, ...) RUNS times and
# print each row's median per run and the ratio after/before.
#
# Usage: scripts/outside-bench.sh [BEFORE_REV] [RUNS] [AFTER_REV]
set -euo pipefail
cd "$(dirname "$0")/.."
before_rev=${1:-1280ebf}
runs=${2:-2}
after_rev=${3:-}
work=$PWD/target/outside-bench
rm -rf "$work"
mkdir -p "$work"
git worktree add --quiet --force "$work/before-tree" "$before_rev"
trap 'git worktree remove --force "$work/before-tree"' EXIT
if [ -n "$after_rev" ]; then
  git worktree add --quiet --force "$work/after-tree" "$after_rev"
  trap 'git worktree remove --force "$work/before-tree"; git worktree remove --force "$work/after-tree"' EXIT
fi
for side in before after; do
  mkdir -p "$work/$side"
  tree=$PWD
  [ "$side" = before ] && tree="$work/before-tree"
  [ "$side" = after ] && [ -n "$after_rev" ] && tree="$work/after-tree"
  # Each side's own user crate: the same rows, written against that revision's API.
  cp -r "$tree/benches/outside/benches" "$tree/benches/outside/src" "$work/$side/"
  sed "s#path = \"../..\"#path = \"$tree\"#" "$tree/benches/outside/Cargo.toml" >"$work/$side/Cargo.toml"
  cp "$tree/Cargo.lock" "$work/$side/Cargo.lock"
  (cd "$work/$side" && cargo bench --quiet --no-run)
done
for run in $(seq "$runs"); do
  for side in before after; do
    (cd "$work/$side" && cargo bench --quiet --bench user -- --warm-up-time 1 \
      --measurement-time 5 --noplot 2>/dev/null) |
      grep -E 'user/|time:' | sed "s/^/$run $side /" >>"$work/raw.txt"
  done
done
python3 - "$work/raw.txt" <<'PY'
import re, sys
rows, name = {}, None
for line in open(sys.argv[1]):
    run, side, rest = line.split(" ", 2)
    m = re.search(r"(user/\S+)", rest)
    if m:
        name = m.group(1)
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+)", rest)
    if m:
        value = float(m.group(1)) * (1000 if m.group(2) == "µs" else 1)
        rows.setdefault(name, {}).setdefault(side, []).append(value)
print(f"{'row':32} {'before (ns)':>22} {'after (ns)':>22}  after/before")
for name, sides in rows.items():
    b, a = sides.get("before", []), sides.get("after", [])
    ratios = ", ".join(f"{x / y:.2f}" for x, y in zip(a, b))
    print(f"{name:32} {', '.join(f'{v:.1f}' for v in b):>22} {', '.join(f'{v:.1f}' for v in a):>22}  {ratios}")
PY
