#!/usr/bin/env python3
"""Sign-in flood: peak RSS, health and API latency through N simultaneous sign-ins.

Usage: cargo build --release && python3 tests/bench/signin_flood.py [BINARY] [--runs 3] [--n 128] [server flags]

Each run starts the binary on a fresh data dir with 8 users and one API key, then sends N
sign-ins at the same moment from N/8 loopback addresses (127.0.0.2, 127.0.0.3, ...; 8 each,
under the per-address limit, so every one reaches the password check): a quarter each of
unknown accounts with wrong passwords, known accounts with wrong passwords, known accounts
with the right password, unknown accounts with a plausible password. Meanwhile /healthz and
GET /api/v1/webhooks are polled. Prints peak RSS (VmHWM), RSS before and 3 s after the burst,
the slowest health and API answers, and how the sign-ins were answered; medians of the runs.
"""
import argparse, http.client, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("binary", nargs="?", default="target/release/aethenox-webhooks")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--n", type=int, default=128)
ap.add_argument("--port", type=int, default=18282)
# Anything else is passed to the server, e.g. --max-password-hashes 4.
args, server_flags = ap.parse_known_args()
binary = os.path.abspath(args.binary)
PASSWORD = "correct horse battery"


def kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    raise SystemExit(f"no {field}")


def request(method, path, source="127.0.0.1", body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60, source_address=(source, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status, r.getheaders()
    finally:
        c.close()


def one_run():
    folder = tempfile.mkdtemp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHENOX_")}
    for n in range(8):
        subprocess.run([binary, "users", "add", "--email", f"u{n}@example.com", "--role", "support",
                        "--password-stdin"], input=PASSWORD + "\n", text=True, cwd=folder, env=env,
                       check=True, capture_output=True)
    key = subprocess.run([binary, "api-keys", "create", "--name", "bench"], cwd=folder, env=env,
                         check=True, capture_output=True, text=True).stdout.strip()
    p = subprocess.Popen([binary, "--bind", f"127.0.0.1:{args.port}", *server_flags], cwd=folder, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.01)
        # Every client loads the form first, as a browser does, for its CSRF cookie.
        clients = []
        for i in range(args.n):
            source = f"127.0.0.{2 + i // 8}"
            _, headers = request("GET", "/login", source)
            cookie = next(v for k, v in headers if k.lower() == "set-cookie" and v.startswith("aethenox_csrf="))
            token = re.match(r"aethenox_csrf=([^;]+)", cookie).group(1)
            kind = i % 4
            email = f"ghost{i}@example.com" if kind in (0, 3) else f"u{i % 8}@example.com"
            password = PASSWORD if kind in (2, 3) else "wrong password"
            body = f"csrf_token={token}&email={email.replace('@', '%40')}&password={password.replace(' ', '+')}&next=%2Fwebhooks"
            clients.append((source, body, f"aethenox_csrf={token}"))
        rss_before = kib(p.pid, "VmRSS")
        statuses = []
        slowest = {"health": 0.0, "api": 0.0}
        done = threading.Event()
        barrier = threading.Barrier(args.n)

        def sign_in(source, body, cookie):
            barrier.wait()
            status, _ = request("POST", "/login", source, body,
                                {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            statuses.append(status)

        def poll(name, path, headers):
            while not done.is_set():
                t0 = time.monotonic()
                status, _ = request("GET", path, headers=headers)
                assert status == 200, (name, status)
                slowest[name] = max(slowest[name], time.monotonic() - t0)
                time.sleep(0.02)

        pollers = [threading.Thread(target=poll, args=("health", "/healthz", {})),
                   threading.Thread(target=poll, args=("api", "/api/v1/webhooks", {"Authorization": f"Bearer {key}"}))]
        for t in pollers:
            t.start()
        threads = [threading.Thread(target=sign_in, args=c) for c in clients]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        burst = time.monotonic() - t0
        done.set()
        for t in pollers:
            t.join()
        peak = kib(p.pid, "VmHWM")
        time.sleep(3)
        rss_after = kib(p.pid, "VmRSS")
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        return {"peak": peak / 1024, "before": rss_before / 1024, "after": rss_after / 1024,
                "health": slowest["health"] * 1000, "api": slowest["api"] * 1000,
                "burst": burst, "counts": counts}
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(folder, ignore_errors=True)


runs = [one_run() for _ in range(args.runs)]
for r in runs:
    print(f"peak RSS {r['peak']:.1f} MiB, before {r['before']:.1f}, 3 s after {r['after']:.1f}; "
          f"slowest /healthz {r['health']:.0f} ms, API {r['api']:.0f} ms; burst {r['burst']:.1f} s; "
          f"answers {r['counts']}")
med = lambda k: statistics.median(r[k] for r in runs)
print(f"median of {len(runs)}: peak RSS {med('peak'):.1f} MiB, RSS 3 s after {med('after'):.1f} MiB "
      f"(before {med('before'):.1f}), slowest /healthz {med('health'):.0f} ms, slowest API {med('api'):.0f} ms")
