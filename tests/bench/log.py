#!/usr/bin/env python3
"""Delivery Log benchmark: the log's first page and each filter over 1,000,000 deliveries.

Usage:
    cargo build --release
    python3 tests/bench/log.py [--binary target/release/aethenox-webhooks] [--deliveries 1000000]

Seeds a fresh database (made and migrated by the binary itself) with 10 webhooks and
--deliveries deliveries (10 per event, spread over 7 days: 95% succeeded, 3% failed, 2%
pending), starts the release server on it, and times each page and API call 15 times over one
keep-alive connection on 127.0.0.1, reporting the median and the slowest. That time includes
HTTP and rendering, so it bounds the server time from above.
"""
import argparse, http.client, json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# The workspace everything of a single-workspace installation lives in.
DEFAULT_WS = "'ws_00000000000000000000000000'"

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--deliveries", type=int, default=1_000_000)
args = p.parse_args()

CROCK = "0123456789abcdefghjkmnpqrstvwxyz"
TYPES = ["message.received", "message.sent", "message.delivered", "message.read",
         "call.completed", "call.missed", "contact.created", "contact.updated"]
PORT = 18099
EMAIL, PASSWORD = "bench@example.com", "benchmark password"


def ulid(prefix, ms):
    v = (ms << 80) | random.getrandbits(80)
    return prefix + "_" + "".join(CROCK[(v >> (5 * i)) & 31] for i in range(25, -1, -1))


work = tempfile.mkdtemp(prefix="aethenox-logbench-")
server = None
try:
    binary = os.path.abspath(args.binary)
    data = os.path.join(work, "data")
    subprocess.run([binary, "users", "add", "--email", EMAIL, "--role", "admin", "--password-stdin", "--data-dir", data],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "bench", "--data-dir", data]).decode().strip()

    random.seed(7)
    db = sqlite3.connect(os.path.join(data, "aethenox.db"))
    now = int(time.time() * 1000)
    start = now - 7 * 86_400_000
    webhooks = []
    for i in range(10):
        wid = ulid("wh", start - 1000 + i)
        webhooks.append(wid)
        db.execute("INSERT INTO webhooks (id, url, description, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                   (wid, f"https://hooks{i}.example.com/aethenox", f"bench {i}", 1, start, start))
        db.executemany("INSERT INTO webhook_events (webhook_id, event_type) VALUES (?,?)", [(wid, t) for t in TYPES])
        db.execute("INSERT INTO webhook_secrets (webhook_id, secret, created_at) VALUES (?,?,?)", (wid, "whsec_" + "A" * 43 + "=", start))
    t0 = time.monotonic()
    events, deliveries = [], []
    n_events = args.deliveries // len(webhooks)
    sample_event = sample_delivery = None
    for e in range(n_events):
        ms = start + e * (now - start) // n_events
        etype = TYPES[e % len(TYPES)]
        eid = ulid("evt", ms)
        body = json.dumps({"id": eid, "type": etype, "created_at": "2026-11-27T20:00:00Z", "data": {"n": e}})
        events.append((eid, etype, body.encode(), len(webhooks), ms))
        for w in webhooks:
            r = random.random()
            if r < 0.95:
                status, code, cls, nxt = "succeeded", 204, 2, None
            elif r < 0.98:
                status, code, cls, nxt = "failed", random.choice([500, 503, None]), None, None
                cls = 0 if code is None else 5
            else:
                status, code, cls, nxt = "pending", 503, 5, now + 3_600_000
            did = ulid("dlv", ms)
            deliveries.append((did, eid, w, etype, status, 1, nxt, code, cls, random.randint(2, 80), ms, ms))
            if e == n_events // 2 and w == webhooks[3]:
                sample_event, sample_delivery = eid, did
        if len(deliveries) >= 100_000:
            db.executemany("INSERT INTO events (id, event_type, body, delivery_count, created_at, workspace_id)"
                           f" VALUES (?,?,?,?,?,{DEFAULT_WS})", events)
            db.executemany("INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at,"
                           " last_status_code, last_status_class, last_duration_ms, created_at, updated_at, workspace_id)"
                           f" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,{DEFAULT_WS})", deliveries)
            events, deliveries = [], []
    if deliveries:
        db.executemany("INSERT INTO events (id, event_type, body, delivery_count, created_at, workspace_id)"
                           f" VALUES (?,?,?,?,?,{DEFAULT_WS})", events)
        db.executemany("INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at,"
                       " last_status_code, last_status_class, last_duration_ms, created_at, updated_at, workspace_id)"
                       f" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,{DEFAULT_WS})", deliveries)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    total = n_events * len(webhooks)
    print(f"seeded {total} deliveries ({n_events} events x {len(webhooks)} webhooks) in {time.monotonic() - t0:.0f} s")

    server = subprocess.Popen([binary, "--bind", f"127.0.0.1:{PORT}", "--data-dir", data],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "AETHENOX_LOG": "error"})
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    end = time.monotonic() + 30
    while True:
        try:
            conn.request("GET", "/healthz"); conn.getresponse().read(); break
        except OSError:
            if time.monotonic() > end:
                raise SystemExit("the server did not start")
            time.sleep(0.05)
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)

    # Sign in like a browser.
    cookie = common.sign_in(conn, EMAIL, PASSWORD)

    def timed(path, headers):
        times = []
        for _ in range(15):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            res = conn.getresponse()
            body = res.read()
            times.append((time.perf_counter() - t) * 1000)
            if res.status != 200:
                raise SystemExit(f"{path}: {res.status}")
        return statistics.median(times), max(times), body

    day = 86_400_000
    def iso(ms):
        return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(ms / 1000))
    middle = ulid("dlv", start + 3 * day)
    queries = [
        ("first page", ""),
        ("status=failed", "status=failed"),
        ("status=pending", "status=pending"),
        ("event_type", "event_type=call.missed"),
        ("webhook", f"webhook={webhooks[3]}"),
        ("class=5xx", "class=5xx"),
        ("class=none (no response)", "class=none"),
        ("time range (1 hour, 3 days ago)", f"from={iso(start + 3 * day)}&to={iso(start + 3 * day + 3_600_000)}"),
        ("search by event id", f"q={sample_event}"),
        ("search by delivery id", f"q={sample_delivery}"),
        ("a page in the middle (cursor)", f"before={middle}"),
        ("failed + event type + webhook", f"status=failed&event_type=message.read&webhook={webhooks[1]}"),
        # Extreme filters: combinations that match nothing make SQLite walk a whole index.
        ("extreme: succeeded + class=5xx (none)", "status=succeeded&class=5xx"),
        ("extreme: pending + type + class=3xx", "status=pending&event_type=call.missed&class=3xx"),
        ("extreme: a day in 1970", "from=1970-01-01T00:00&to=1970-01-02T00:00"),
    ]
    print(f"{'filter':36} {'rows':>5} {'page median':>12} {'page max':>9} {'API median':>11} {'API max':>8}")
    for label, q in queries:
        page = timed(f"/w/default/deliveries?{q}", {"Cookie": cookie})
        api_q = q.replace("webhook=", "webhook_id=").replace("class=", "status_class=").replace("before=", "cursor=")
        api = timed(f"/api/v1/deliveries?limit=50&{api_q}", {"Authorization": f"Bearer {key}"})
        rows = page[2].count(b'class="delivery-row')
        if rows != len(json.loads(api[2])["data"]):
            raise SystemExit(f"{label}: the page shows {rows} rows, the API {len(json.loads(api[2])['data'])}")
        print(f"{label:36} {rows:5} {page[0]:10.1f}ms {page[1]:7.1f}ms {api[0]:9.1f}ms {api[1]:6.1f}ms")
finally:
    if server:
        server.terminate(); server.wait()
    shutil.rmtree(work, ignore_errors=True)
