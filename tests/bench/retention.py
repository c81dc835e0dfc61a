#!/usr/bin/env python3
"""Retention benchmark.

Usage:
    cargo build --release
    python3 tests/bench/retention.py prune  [--binary B] [--deliveries 1000000] [--rate 500]
    python3 tests/bench/retention.py steady [--binary B] [--retention 1m] [--minutes 6] [--rate 500]

prune: seeds a fresh database with --deliveries deliveries that finished 40 days ago (each with
  one attempt and its event), starts the release server (default 30-day retention, so all of them
  are due), and while its first retention pass deletes them, publishes --rate events/s to nginx
  and times pages (Delivery Log, webhooks, Storage) every 200 ms. Reports how long the pass took,
  p99 acceptance -> arrival (nginx's $msec minus the event's created_at), the slowest page, and
  the database file before and after.
steady: starts an empty server with a short --retention and publishes --rate events/s for
  --minutes; prints the database's size (file + WAL) every 15 s: it should level off once the
  first deliveries pass the retention.
Needs Debian's nginx. Everything runs on 127.0.0.1 and stops by itself.
"""
import argparse, http.client, json, os, random, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# The workspace everything of a single-workspace installation lives in.
DEFAULT_WS = "'ws_00000000000000000000000000'"

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["prune", "steady"])
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--deliveries", type=int, default=1_000_000)
p.add_argument("--rate", type=int, default=500)
p.add_argument("--retention", default="1m")
p.add_argument("--minutes", type=float, default=6)
args = p.parse_args()

APP, SINK = 18310, 18311
CROCK = "0123456789abcdefghjkmnpqrstvwxyz"
EMAIL, PASSWORD = "bench@example.com", "benchmark password"
work = tempfile.mkdtemp(prefix="aethenox-retention-")
procs = []


def ulid(prefix, ms):
    v = (ms << 80) | random.getrandbits(80)
    return prefix + "_" + "".join(CROCK[(v >> (5 * i)) & 31] for i in range(25, -1, -1))


def wait_port(port, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} did not open")


def db_bytes(data):
    path = os.path.join(data, "aethenox.db")
    return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))


def start_nginx():
    procs.append(common.start_nginx(work, SINK))
    wait_port(SINK)


def start_server(binary, data, extra=()):
    server = subprocess.Popen([binary, "--bind", f"127.0.0.1:{APP}", "--data-dir", data, "--allow-private-targets", *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "AETHENOX_LOG": "error"})
    procs.append(server)
    wait_port(APP)
    return server


def api(key, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", APP, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, out


def metric(key, name):
    _, text = api(key, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def publisher(key, rate, stop, prefix):
    """Posts `rate` events/s (call.missed) until `stop` is set; returns the ids it published."""
    conn = http.client.HTTPConnection("127.0.0.1", APP, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    sent, i, t0 = [], 0, time.monotonic()
    while not stop.is_set():
        due = t0 + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        eid = f"{prefix}-{i}"
        conn.request("POST", "/api/v1/events", body=json.dumps({"type": "call.missed", "id": eid, "data": {"n": i}}), headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 202:
            raise SystemExit(f"event {i}: {r.status}")
        sent.append(eid)
        i += 1
    return sent


def sign_in():
    conn = http.client.HTTPConnection("127.0.0.1", APP, timeout=60)
    return conn, common.sign_in(conn, EMAIL, PASSWORD)


def latencies(data, ids):
    want = set(ids)
    arrivals = {}
    end = time.monotonic() + 30
    while time.monotonic() < end:
        time.sleep(1.2)  # nginx flushes its access log every second
        with open(os.path.join(work, "arrivals.log")) as f:
            for line in f:
                at, _, event = line.strip().partition(" ")
                if event in want and event not in arrivals:
                    arrivals[event] = float(at) * 1000
        if len(arrivals) == len(want):
            break
    db = sqlite3.connect(os.path.join(data, "aethenox.db"))
    created = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        created.update(db.execute(f"SELECT id, created_at FROM events WHERE id IN ({','.join('?' * len(part))})", part))
    db.close()
    lat = sorted(arrivals[e] - created[e] for e in arrivals if e in created)
    return lat, len(arrivals)


def seed(data, n):
    random.seed(11)
    db = sqlite3.connect(os.path.join(data, "aethenox.db"))
    now = int(time.time() * 1000)
    start = now - 47 * 86_400_000
    wid = ulid("wh", start - 1000)
    db.execute("INSERT INTO webhooks (id, url, description, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?)",
               (wid, "https://old.example.com/hook", "old", 0, start, start))
    db.execute("INSERT INTO webhook_secrets (webhook_id, secret, created_at) VALUES (?,?,?)", (wid, "whsec_" + "A" * 43 + "=", start))
    headers = json.dumps({"content-type": "application/json", "user-agent": "AethenoxAI-Webhooks/0.1.0", "webhook-signature": "v1," + "A" * 44})
    events, deliveries, attempts = [], [], []
    for e in range(n):
        ms = start + e * (7 * 86_400_000) // n
        eid, did = ulid("evt", ms), ulid("dlv", ms)
        events.append((eid, "message.sent", b'{"id":"' + eid.encode() + b'","data":{}}', 1, ms))
        deliveries.append((did, eid, wid, "message.sent", "succeeded", 1, 204, 2, 12, ms, ms))
        attempts.append((did, ms, 12, 204, headers, '{"server":"nginx"}', b""))
        if len(deliveries) >= 100_000:
            flush(db, events, deliveries, attempts)
            events, deliveries, attempts = [], [], []
    flush(db, events, deliveries, attempts)
    db.commit()
    db.close()


def flush(db, events, deliveries, attempts):
    db.executemany("INSERT INTO events (id, event_type, body, delivery_count, created_at, workspace_id)"
                           f" VALUES (?,?,?,?,?,{DEFAULT_WS})", events)
    db.executemany("INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, last_status_code,"
                   " last_status_class, last_duration_ms, created_at, updated_at, workspace_id)"
                   f" VALUES (?,?,?,?,?,?,?,?,?,?,?,{DEFAULT_WS})", deliveries)
    db.executemany("INSERT INTO attempts (delivery_id, attempted_at, duration_ms, status_code, request_headers, response_headers,"
                   " response_body) VALUES (?,?,?,?,?,?,?)", attempts)


def prepare(binary):
    data = os.path.join(work, "data")
    subprocess.run([binary, "users", "add", "--email", EMAIL, "--role", "admin", "--password-stdin", "--data-dir", data],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "bench", "--data-dir", data]).decode().strip()
    return data, key


def prune_mode(binary):
    start_nginx()
    data, key = prepare(binary)
    t0 = time.monotonic()
    seed(data, args.deliveries)
    size_before = db_bytes(data)
    print(f"seeded {args.deliveries} finished deliveries 40+ days old in {time.monotonic() - t0:.0f} s; database {size_before / 2**20:.0f} MiB")
    start_server(binary, data)
    api(key, "POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/latency", "events": ["call.missed"]})
    stop = threading.Event()
    sent = []
    pub = threading.Thread(target=lambda: sent.extend(publisher(key, args.rate, stop, "ret")))
    pages = {"/w/default/deliveries": [], "/w/default/webhooks": [], "/settings/storage": []}

    def time_pages():
        conn, cookie = sign_in()
        while not stop.is_set():
            for path, times in pages.items():
                t = time.perf_counter()
                conn.request("GET", path, headers={"Cookie": cookie})
                r = conn.getresponse(); r.read()
                if r.status != 200:
                    raise SystemExit(f"{path}: {r.status}")
                times.append((time.perf_counter() - t) * 1000)
            time.sleep(0.2)

    pager = threading.Thread(target=time_pages)
    t0 = time.monotonic()
    pub.start(); pager.start()
    # The first pass starts 5 s after start-up; wait until it has deleted them all.
    while True:
        time.sleep(1)
        pruned = metric(key, 'aethenox_pruned_total{table="deliveries"}') or 0
        if pruned >= args.deliveries:
            break
        if time.monotonic() - t0 > 900:
            raise SystemExit(f"only {pruned} pruned after 900 s")
    took = time.monotonic() - t0
    time.sleep(2)
    stop.set(); pub.join(); pager.join()
    lat, arrived = latencies(data, sent)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"pruned {args.deliveries} deliveries (+ attempts, events) within {took:.0f} s of start-up (first pass starts at 5 s)")
    print(f"while pruning: {len(sent)} events at {args.rate}/s, {arrived} arrived; acceptance to arrival p50 {q(0.5):.1f} ms, "
          f"p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms")
    for path, times in pages.items():
        print(f"  page {path}: median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms ({len(times)} requests)")
    time.sleep(62)  # the next pass gives back what is left (and reads the final size)
    print(f"database: {size_before / 2**20:.0f} MiB before, {db_bytes(data) / 2**20:.1f} MiB after")


def steady_mode(binary):
    start_nginx()
    data, key = prepare(binary)
    start_server(binary, data, ["--retention", args.retention])
    api(key, "POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/steady", "events": ["call.missed"]})
    stop = threading.Event()
    pub = threading.Thread(target=lambda: publisher(key, args.rate, stop, "steady"))
    pub.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.minutes * 60:
        time.sleep(15)
        rows = metric(key, 'aethenox_rows{table="deliveries"}')
        print(f"{time.monotonic() - t0:5.0f} s: database {db_bytes(data) / 2**20:6.1f} MiB, {rows:.0f} deliveries kept", flush=True)
    stop.set(); pub.join()


try:
    binary = os.path.abspath(args.binary)
    (prune_mode if args.mode == "prune" else steady_mode)(binary)
finally:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(work, ignore_errors=True)
