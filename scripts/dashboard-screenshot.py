#!/usr/bin/env python3
"""Takes docs/dashboard.png: starts `modreg serve`, drives 100 s of load in which
base64-decode begins failing most of its calls after 55 s, and has headless Chromium
take a screenshot of the dashboard.

    cargo build && python3 scripts/dashboard-screenshot.py [target/debug/modreg] [docs/dashboard.png]
"""
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request

binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/modreg"
shot = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "docs/dashboard.png")
token = "0123456789abcdef0123"
server = subprocess.Popen(
    [binary, "serve", "--addr", "127.0.0.1:0", "--health-interval-ms", "500"],
    stdout=subprocess.PIPE,
    env={**os.environ, "MODREG_TOKEN": token},
)
addr = server.stdout.readline().decode().split("http://")[1].strip()


def run(pipeline, body):
    request = urllib.request.Request(
        f"http://{addr}/run/{pipeline}",
        data=body,
        method="POST",
        headers={"Authorization": "Bearer " + token},
    )
    try:
        urllib.request.urlopen(request).read()
    except Exception:
        pass  # the failures are the point


try:
    start = time.time()
    while time.time() - start < 100:
        failing = 0.9 if time.time() - start > 55 else 0.05
        for _ in range(random.randint(3, 8)):
            run("gzip-compress,base64-encode", os.urandom(random.randint(100, 20000)))
        for _ in range(random.randint(1, 4)):
            run("sha256", b"abc" * random.randint(1, 1000))
        for _ in range(random.randint(2, 5)):
            run("zstd-compress,zstd-decompress", bytes(random.randint(1000, 100000)))
        for _ in range(6):
            run("base64-decode", b"not base64!" if random.random() < failing else b"aGVsbG8=")
        time.sleep(0.2)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={shot}",
             "--window-size=1400,1100", "--virtual-time-budget=2000", f"http://{addr}/"],
            check=True,
            capture_output=True,
        )
    print(shot)
finally:
    server.kill()
