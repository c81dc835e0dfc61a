#!/usr/bin/env python3
"""Scale benchmark: 10,000 workspaces with 3 webhooks each (issue 17).

Usage:
    cargo build --release
    python3 tests/bench/workspaces.py [--binary target/release/aethenox-webhooks] [--workspaces 10000] [--runs 3]

Needs Debian's wrk and nginx. Everything runs on 127.0.0.1 and stops by itself. It starts two
servers on fresh SQLite files, alternately measured in each run:
  many: --workspaces workspaces (made with PUT /api/v1/workspaces/{uid}), 3 webhooks to nginx each;
  one:  the default workspace only, with 3 webhooks to nginx.
and reports, per run:
  1. publishing: wrk -c16 posts message.received for --seconds into one workspace of `many`
     (/api/v1/workspaces/acct_05000/events) and into `one` (/api/v1/events): events/s accepted
     and their ratio (the target: at least 0.95), and the deliveries made meanwhile (from
     /metrics) and their ratio: an installation whose deliveries fall behind has more CPU left
     to accept events, so the first ratio alone can flatter it;
  2. the Workspaces page (/workspaces, 100 rows with their counts) and the switcher's search
     (/workspaces?q=…) on `many`, signed in: median and max of 15 requests.
"""
import argparse, concurrent.futures, http.client, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--workspaces", type=int, default=10_000)
p.add_argument("--seconds", type=int, default=15)
p.add_argument("--runs", type=int, default=3)
args = p.parse_args()

SINK, MANY, ONE = 18190, 18191, 18192
EMAIL, PASSWORD = "bench@example.com", "a long bench password"
work = tempfile.mkdtemp(prefix="aethenox-ws-bench-")
procs = []


def call(port, key, method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def start(name, port):
    binary = os.path.abspath(args.binary)
    data = os.path.join(work, name)
    env = {**os.environ, "AETHENOX_LOG": "error"}
    env.pop("AETHENOX_DATABASE_URL", None)
    subprocess.run([binary, "users", "add", "--email", EMAIL, "--role", "admin", "--password-stdin",
                    "--data-dir", data], input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=env)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "bench", "--data-dir", data],
                                  env=env).decode().strip()
    procs.append(subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}", "--data-dir", data,
                                   "--allow-private-targets", "--max-per-endpoint", "64"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
    common.wait_port(port, 60)
    return key


def hooks(port, key, prefix):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(3):
        call(port, key, "POST", f"{prefix}/webhooks",
             {"url": f"http://127.0.0.1:{SINK}/w{i}", "events": ["message.received"]}, conn)


def delivered(port, key):
    """Deliveries that succeeded so far (from /metrics)."""
    text = call(port, key, "GET", "/metrics").decode()
    return int(next(l for l in text.splitlines()
                    if l.startswith('aethenox_deliveries_total{outcome="succeeded"}')).split()[-1])


def publish_rate(port, key, path):
    """Events/s accepted while wrk posts for --seconds, and deliveries/s made meanwhile."""
    before, t = delivered(port, key), time.monotonic()
    accepted = post_for(port, key, path)
    return accepted, (delivered(port, key) - before) / (time.monotonic() - t)


def post_for(port, key, path):
    lua = os.path.join(work, f"post-{port}.lua")
    body = json.dumps({"type": "message.received", "data": {"channel": "whatsapp", "body": "Hi! Is my order on its way?"}})
    with open(lua, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {key}"\nwrk.body = {json.dumps(body)}\n')
    out = subprocess.check_output(["wrk", "-t1", "-c16", f"-d{args.seconds}s", "-s", lua,
                                   f"http://127.0.0.1:{port}{path}"], text=True)
    return float(next(l for l in out.splitlines() if "Requests/sec" in l).split()[-1])


def page_times(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cookie = common.sign_in(conn, EMAIL, PASSWORD)
    times = []
    for _ in range(15):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        times.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise SystemExit(f"{path}: {r.status}")
    return statistics.median(times), max(times)


try:
    procs.append(common.start_nginx(work, SINK, healthz=True))
    common.wait_port(SINK)
    many_key, one_key = start("many", MANY), start("one", ONE)
    t0 = time.monotonic()

    def make(i):
        uid = f"acct_{i:05d}"
        call(MANY, many_key, "PUT", f"/api/v1/workspaces/{uid}", {"name": f"Account {i}"})
        hooks(MANY, many_key, f"/api/v1/workspaces/{uid}")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(1, args.workspaces + 1)))
    hooks(ONE, one_key, "/api/v1")
    print(f"made {args.workspaces} workspaces with 3 webhooks each in {time.monotonic() - t0:.0f} s")
    target = f"acct_{args.workspaces // 2:05d}"
    for run in range(1, args.runs + 1):
        many = publish_rate(MANY, many_key, f"/api/v1/workspaces/{target}/events")
        one = publish_rate(ONE, one_key, "/api/v1/events")
        page = page_times(MANY, "/workspaces")
        search = page_times(MANY, f"/workspaces?q={target}")
        (many, many_sent), (one, one_sent) = many, one
        print(f"run {run}: publishing {many:.0f} events/s into one of {args.workspaces} workspaces, "
              f"{one:.0f} into a single-workspace installation (ratio {many / one:.3f}); "
              f"deliveries/s meanwhile {many_sent:.0f} and {one_sent:.0f} (ratio {many_sent / one_sent:.3f}); "
              f"Workspaces page {page[0]:.1f} ms (max {page[1]:.1f}), switcher search {search[0]:.1f} ms "
              f"(max {search[1]:.1f})")
finally:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    shutil.rmtree(work, ignore_errors=True)
