#!/usr/bin/env python3
"""Portal benchmark (issue 18): what a customer's browser loads, and what a portal page costs.

Usage:
    cargo build --release
    python3 tests/bench/portal.py [--binary target/release/aethenox-webhooks] [--deliveries 2000] [--runs 3]

Starts the server on a fresh SQLite file (127.0.0.1, stopped at the end) with one workspace
`acme`, a webhook, --deliveries events delivered to a local sink, and a portal link opened.
Reports:
  1. weight: bytes sent for each page of the portal and for the static files a first visit
     loads, without and with `Accept-Encoding: gzip`, and the whole first visit of the
     Delivery Log page (page + CSS + JS);
  2. time: the median and p95 of 200 requests of the portal's Webhooks and Delivery Log pages,
     beside the same pages signed in (a portal session is looked up per request, as a signed-in
     session is), per run; medians of --runs runs.
"""
import argparse, gzip, http.client, http.server, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--deliveries", type=int, default=2000)
p.add_argument("--runs", type=int, default=3)
args = p.parse_args()

PORT = 18290
EMAIL, PASSWORD = "bench@example.com", "a long bench password"
work = tempfile.mkdtemp(prefix="aethenox-portal-bench-")
procs = []


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_):
        pass


def call(key, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read()


def get(path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    return r.status, len(body), r.headers.get("Content-Encoding", ""), r.headers.get("Location", "")


def timed(path, headers, n=200):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        assert r.status == 200, (path, r.status)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


try:
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    data = os.path.join(work, "data")
    env = dict(os.environ, AETHENOX_LOG="warn")
    key = subprocess.run([args.binary, "api-keys", "create", "--name", "bench", "--data-dir", data],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([args.binary, "users", "add", "--email", EMAIL, "--role", "admin", "--password-stdin",
                    "--data-dir", data], input=PASSWORD, text=True, check=True, capture_output=True)
    procs.append(subprocess.Popen([args.binary, "--bind", f"127.0.0.1:{PORT}", "--data-dir", data,
                                   "--allow-private-targets"], env=env))
    common.wait_port(PORT)
    call(key, "PUT", "/api/v1/workspaces/acme", {"name": "Acme Corp"})
    for path in ["/api/v1/workspaces/acme/webhooks", "/api/v1/webhooks"]:
        call(key, "POST", path, {"url": f"http://127.0.0.1:{sink.server_port}/hook",
                                 "events": ["message.received"]})
    for i in range(args.deliveries):
        for path in ["/api/v1/workspaces/acme/events", "/api/v1/events"]:
            call(key, "POST", path, {"type": "message.received", "data": {"body": f"message {i}"}})
    status, body = call(key, "POST", "/api/v1/workspaces/acme/portal-links", {"user": "bench"})
    link = json.loads(body)["url"].split(f"127.0.0.1:{PORT}", 1)[1]
    _, _, _, location = get(link)
    base = location.rsplit("/webhooks", 1)[0]
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    cookie = common.sign_in(conn, EMAIL, PASSWORD)

    print("weight: bytes sent, as they are / gzipped")
    gz = {"Accept-Encoding": "gzip"}
    first_visit = [0, 0]
    for page in ["/webhooks", "/deliveries", "/inboxes"]:
        _, plain, _, _ = get(base + page)
        _, packed, enc, _ = get(base + page, gz)
        print(f"  portal {page:<12} {plain:>9,} / {packed:>9,} ({enc})")
        if page == "/deliveries":
            first_visit = [plain, packed]
    for asset in ["/static/app.css", "/static/app.js", "/static/htmx.min.js"]:
        _, plain, _, _ = get(asset)
        _, packed, enc, _ = get(asset, gz)
        first_visit[0] += plain
        first_visit[1] += packed
        print(f"  {asset:<19} {plain:>9,} / {packed:>9,} ({enc})")
    for asset in ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/api/v1/openapi.json"]:
        _, plain, _, _ = get(asset)
        _, packed, enc, _ = get(asset, gz)
        print(f"  {asset:<19} {plain:>9,} / {packed:>9,} ({enc})")
    print(f"  first visit of the portal's Delivery Log (page, CSS, JS): {first_visit[0]:,} / {first_visit[1]:,} bytes")

    rows = {}
    for run in range(args.runs):
        for name, path, headers in [
            ("portal /webhooks", base + "/webhooks", {}),
            ("signed-in /webhooks", "/w/acme/webhooks", {"Cookie": cookie}),
            ("portal /deliveries", base + "/deliveries", {}),
            ("signed-in /deliveries", "/w/acme/deliveries", {"Cookie": cookie}),
        ]:
            rows.setdefault(name, []).append(timed(path, headers))
    print(f"time: ms per request, median of {args.runs} runs of 200 (p50, p95)")
    for name, runs in rows.items():
        p50 = statistics.median(r[0] for r in runs)
        p95 = statistics.median(r[1] for r in runs)
        print(f"  {name:<22} p50 {p50:6.2f}  p95 {p95:6.2f}")
finally:
    for proc in procs:
        proc.terminate()
        proc.wait()
    shutil.rmtree(work, ignore_errors=True)
