#!/usr/bin/env python3
"""Start-up benchmark: time from exec to the first answered request, and idle RSS.

Usage: cargo build --release && python3 tests/bench/startup.py [target/release/aethenox-webhooks]
Each run starts the binary in a fresh empty folder (so the database is created and migrated).
"""
import os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/aethenox-webhooks")
port = 18181
times = []
rss_kib = None
for i in range(7):
    folder = tempfile.mkdtemp()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}"], cwd=folder,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = t0 + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not answer within 30 s")
                time.sleep(0.001)
        times.append((time.monotonic() - t0) * 1000)
        if i == 0:
            time.sleep(2)  # settle, then read the idle footprint
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmRSS"):
                    rss_kib = int(line.split()[1])
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(folder, ignore_errors=True)

print(f"binary size: {os.path.getsize(binary) / 1048576:.1f} MiB")
print(f"idle RSS: {rss_kib / 1024:.1f} MiB")
print(f"start to first answered request: median {statistics.median(times):.1f} ms "
      f"(runs: {', '.join(f'{t:.1f}' for t in times)})")
