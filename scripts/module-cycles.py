#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a cycle.

Usage: module-cycles.py [CRATE_SRC_DIR ...]

With no argument it checks every library and binary of every package `cargo metadata` lists
for the workspace, so a crate added later is checked without being named here.

Every `.rs` file under a crate's `src/` is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`;
`lib.rs` and `main.rs` are the root, which only declares and re-exports and is left out).
An edge `m -> n` is any path in m's code (outside its `#[cfg(test)] mod tests`) that starts
with `crate::`, `super::` or `self::` and names module n or an item in it (a parent that uses
its child counts: a child that uses its parent back makes a cycle): a `use`, a fully qualified
call, a type in a signature. Paths are resolved to the longest module prefix that exists, so
`crate::security::audit::AuditLog` is an edge to `security::audit`, and
`crate::security::redact` to `security`; a name the crate root re-exports (`crate::Name`, from
`pub use crate::module::Name` in lib.rs) is an edge to the module it comes from. A cycle of
any length fails, printed as a chain.
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)::((?:[A-Za-z_][A-Za-z0-9_]*::)*)\{([^;]*)\};", re.S)
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return ()
    return tuple(parts)


def strip(text: str) -> str:
    text = COMMENT.sub("", text)
    match = TESTS.search(text)
    return text[: match.start()] if match else text


def paths(text: str):
    """Every `crate::`/`super::` path, with `use x::{a, b::c}` groups expanded."""
    for group in USE_GROUP.finditer(text):
        root, prefix, inner = group.groups()
        for item in re.split(r"[,\s{}]+", inner):
            if item and item != "self":
                yield root, [p for p in (prefix + item).split("::") if p]
    for match in PATH.finditer(text):
        yield match.group(1), [p for p in match.group(2).split("::") if p]


def root_names(src: Path, modules: set) -> dict:
    """Names re-exported at the crate root, mapped to the module they come from."""
    names = {}
    for root in ("lib.rs", "main.rs"):
        path = src / root
        if not path.exists():
            continue
        text = COMMENT.sub("", path.read_text())
        for kind, segments in paths(text):
            if kind != "crate" or len(segments) < 2:
                continue
            full = tuple(segments)
            for n in range(len(full) - 1, 0, -1):
                if full[:n] in modules:
                    names.setdefault(full[-1], full[:n])
                    break
    return names


def edges(src: Path, modules: set, file: Path, me: tuple, aliases: dict):
    text = strip(file.read_text())
    for root, segments in paths(text):
        if root == "crate":
            base = ()
        elif root == "self":
            base = me
        else:
            # `super` of `a::b` (file a/b.rs) is `a`; of `a::b` (a/b/mod.rs) it is `a` too.
            base = me[:-1]
            while segments and segments[0] == "super":
                base, segments = base[:-1], segments[1:]
        full = base + tuple(segments)
        if root == "crate" and len(segments) >= 1 and (segments[0],) not in modules:
            full = aliases.get(segments[0], full)
        target = None
        for n in range(len(full), 0, -1):
            if full[:n] in modules:
                target = full[:n]
                break
        if target is not None and target != me:
            yield target


def check(src: Path) -> list:
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f) for f in files} - {()}
    graph = {m: set() for m in modules}
    aliases = root_names(src, modules)
    for f in files:
        me = module_of(src, f)
        if me:
            graph[me].update(edges(src, modules, f, me, aliases))
    cycles, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return cycles


def workspace_src_dirs() -> list:
    """The directory of every library and binary root of the workspace's packages."""
    import json
    import subprocess

    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    kinds = {"lib", "rlib", "cdylib", "staticlib", "dylib", "proc-macro", "bin"}
    return sorted(
        {
            str(Path(target["src_path"]).parent)
            for package in meta["packages"]
            for target in package["targets"]
            if kinds & set(target["kind"])
        }
    )


def main() -> int:
    failed = False
    for arg in sys.argv[1:] or workspace_src_dirs():
        src = Path(arg)
        cycles = check(src)
        count = sum(1 for _ in src.rglob("*.rs"))
        if cycles:
            failed = True
            for cycle in cycles:
                print(f"{src}: module cycle: " + " -> ".join("::".join(m) for m in cycle))
        else:
            print(f"{src}: {count} files, no module cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
