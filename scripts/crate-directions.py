#!/usr/bin/env python3
"""Fails when a crate of the workspace depends on one it must not see.

The directions, from the bottom: the lean core (with its macros) <- the host <- each layer
and each plugin source (the WebAssembly sandbox) <- the facade <- the tool. A layer or a
source depends on the host and the core and on no other layer or source; the host depends on
none of them. Reads `cargo metadata` (what cargo itself builds from), with
every kind of dependency (normal, build and dev), so a test or a build script cannot cross
a boundary either. A workspace crate missing from the table below fails too: a new crate
must say where it stands.
"""

import json
import subprocess
import sys

CORE = {"modreg-macros", "modreg-core"}
HOST = {"modreg-host"}
# The layer crates: each may see the core and the host, and nothing else of ours.
LAYERS = {"modreg-monitoring", "modreg-security", "modreg-semantic"}
# The plugin sources besides the host's own: like a layer, each may see the core and the host only.
SOURCES = {"modreg-wasm"}

ALLOWED = {
    "modreg-macros": set(),
    "modreg-core": {"modreg-macros"},
    "modreg-guest": CORE,
    "modreg-plugins": CORE,
    "modreg-host": CORE,
    "modreg": CORE | HOST | LAYERS | SOURCES | {"modreg-plugins"},
    "modreg-cli": CORE | HOST | LAYERS | SOURCES | {"modreg", "modreg-plugins"},
}
ALLOWED.update({crate: CORE | HOST for crate in LAYERS | SOURCES})
# Dev-only: the bundled plugins' tests drive them through the host; the facade's sandbox bench
# measures the typed calls of the `#[sandboxed]` example (a user's crate) beside its own, and its
# sandbox tests call the typed hostile guests through their trait.
DEV_ONLY = {"modreg-plugins": HOST, "modreg": {"sandboxed-trait", "guest-hostile-typed"}}
# Packages that only use the crates (examples, guests, checks): they may see anything.
USERS_UNDER = ("examples/", "tests/")

meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
root = meta["workspace_root"].rstrip("/") + "/"
ours = {p["name"] for p in meta["packages"]}
failures = []
for package in meta["packages"]:
    name = package["name"]
    where = package["manifest_path"][len(root):]
    if where.startswith(USERS_UNDER):
        continue
    if name not in ALLOWED:
        failures.append(f"{name} ({where}) is not in scripts/crate-directions.py: say where it stands")
        continue
    for dep in package["dependencies"]:
        target = dep["name"]
        if target not in ours or target == name:
            continue
        allowed = ALLOWED[name]
        if dep["kind"] == "dev":
            allowed = allowed | DEV_ONLY.get(name, set())
        if target not in allowed:
            kind = dep["kind"] or "normal"
            failures.append(f"{name} -> {target} ({kind} dependency) crosses a boundary")

for failure in failures:
    print(failure)
if failures:
    sys.exit(1)
print(f"crate directions hold: {len([p for p in meta['packages'] if not p['manifest_path'][len(root):].startswith(USERS_UNDER)])} crates checked")
