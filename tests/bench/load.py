#!/usr/bin/env python3
"""Load benchmark: events in through the API, signed deliveries out to nginx, every attempt recorded.

Usage:
    cargo build --release
    python3 tests/bench/load.py [--binary target/release/aethenox-webhooks] [--fanout 4] [--seconds 20]
    python3 tests/bench/load.py --database-url postgres://root@127.0.0.1:5432/postgres --instances 2 ...
    python3 tests/bench/load.py --filter '{"channel": "whatsapp"}' ...   # a payload filter on every webhook
    python3 tests/bench/load.py --rate-limit 10000 ...                   # a rate limit never reached
    python3 tests/bench/load.py --ordered ...                            # an ordered webhook among others

With --database-url the instances share a fresh PostgreSQL database made on that server (and
dropped afterwards; needs psql); without it, one instance on its SQLite file. Publishing is
spread over the instances (one wrk per instance; round-robin in the latency phase).

Needs Debian's wrk and nginx. Everything runs on 127.0.0.1 and stops by itself. It reports:
  1. saturation: wrk posts events as fast as it can for --seconds; each event fans out to
     --fanout webhooks; deliveries/s is read from /metrics over the middle of the run, and the
     time to drain the queue afterwards is measured too;
  1b. paced: wrk offers --paced deliveries/s (events/s x fan-out) for --seconds; deliveries/s
     over the middle of the run and the largest backlog of due deliveries seen, which stays
     small only if delivery keeps up;
  2. latency: a paced client posts 500 events/s for --seconds to one webhook; the time from
     acceptance (the event's created_at) to arrival at nginx ($msec in its access log);
  3. the server's peak RSS (VmHWM), per instance;
  4. database statements per delivery during saturation (aethenox_db_statements_total), and the
     CPU time per delivery of the servers and (with --database-url) of PostgreSQL's processes,
     from /proc, over the same window as the rate.

For a fixed offered load below saturation (the two-instance comparison, issue 21):
    python3 tests/bench/load.py --saturation 0 --paced 1500 --fanout 1 --rate 200 \
        --database-url postgres://root@127.0.0.1:5432/postgres --instances 2
"""
import argparse, http.client, json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--fanout", type=int, default=4)
p.add_argument("--seconds", type=int, default=20)
p.add_argument("--saturation", type=int, default=1, help="0 to skip the saturation phase")
p.add_argument("--rate", type=int, default=500)
p.add_argument("--connections", type=int, default=16)
p.add_argument("--max-per-endpoint", type=int, default=64)
p.add_argument("--paced", type=int, default=5000, help="deliveries/s offered in the paced phase (0 to skip)")
p.add_argument("--without-log-indexes", action="store_true",
               help="drop the Delivery Log's filter indexes first, to measure what they cost writes")
p.add_argument("--database-url", help="a PostgreSQL server (URL of a database to connect to for making the benchmark's own)")
p.add_argument("--instances", type=int, default=1)
p.add_argument("--rate-limit", type=int, help="a rate limit (per second) on every webhook of the fan-out, "
               "high enough never to be reached, to measure what the window costs")
p.add_argument("--ordered", action="store_true",
               help="one more webhook, ordered, among the others (on the latency events)")
p.add_argument("--filter", help="a payload filter (JSON) on every webhook of the fan-out; the events published match "
               "it when it asks for what they hold, e.g. '{\"channel\": \"whatsapp\", \"contact.phone\": {\"$regex\": \"^\\\\+1\"}}'")
args = p.parse_args()
if args.instances > 1 and not args.database_url:
    raise SystemExit("--instances above 1 needs --database-url (SQLite is one process)")

APP, SINK = 18089, 18090
work = tempfile.mkdtemp(prefix="aethenox-bench-")
procs = []


def stop_all():
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


PORTS = [APP + 2 * i for i in range(args.instances)]
PG_DB = f"aethenox_bench_{os.getpid()}"


def psql(sql, db=None):
    url = args.database_url
    if db:
        url = urllib.parse.urlunparse(urllib.parse.urlparse(url)._replace(path="/" + db))
    return subprocess.check_output(["psql", "-X", "-At", "-d", url, "-c", sql], text=True)


def api(method, path, body=None, port=APP):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def metric(texts, name, combine=sum):
    """`name` from every instance's /metrics, summed (counters) or combined otherwise."""
    values = [0.0]
    for text in texts:
        for line in text.splitlines():
            if line.startswith(name + " "):
                values.append(float(line.split()[-1]))
    return combine(values)


def metrics():
    return [api("GET", "/metrics", port=port).decode() for port in PORTS]


def succeeded():
    return metric(metrics(), 'aethenox_deliveries_total{outcome="succeeded"}')


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU time of these processes so far (those gone since are left out)."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def postgres_pids():
    if not args.database_url:
        return []
    out = subprocess.run(["ps", "-C", "postgres", "-o", "pid="], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def sample(start, m):
    """(seconds, deliveries succeeded, statements, servers' CPU s, PostgreSQL's CPU s), from the
    instances' metrics `m` and /proc."""
    return (time.monotonic() - start, metric(m, 'aethenox_deliveries_total{outcome="succeeded"}'),
            metric(m, "aethenox_db_statements_total"), cpu_seconds([s.pid for s in servers]),
            cpu_seconds(postgres_pids()))


def per_delivery(mid):
    """Statements and CPU per delivery between the first and last of `mid` (the middle of a run)."""
    done = mid[-1][1] - mid[0][1]
    if len(mid) < 2 or done <= 0:
        return
    line = f"  per delivery: servers' CPU {(mid[-1][3] - mid[0][3]) / done * 1e6:.0f} µs"
    if args.database_url:
        line += (f", PostgreSQL's CPU {(mid[-1][4] - mid[0][4]) / done * 1e6:.0f} µs, "
                 f"statements {(mid[-1][2] - mid[0][2]) / done:.2f}")
    print(line)


try:
    binary = os.path.abspath(args.binary)
    # The receiver: nginx answering 204, logging when each delivery arrived.
    procs.append(common.start_nginx(work, SINK, healthz=True))
    common.wait_port(SINK)

    data_dir = os.path.join(work, "data")
    env = {**os.environ, "AETHENOX_LOG": "error"}
    env.pop("AETHENOX_DATABASE_URL", None)
    if args.database_url:
        psql(f"CREATE DATABASE {PG_DB}")
        env["AETHENOX_DATABASE_URL"] = urllib.parse.urlunparse(
            urllib.parse.urlparse(args.database_url)._replace(path="/" + PG_DB))
    KEY = subprocess.check_output([binary, "api-keys", "create", "--name", "bench", "--data-dir", data_dir],
                                  env=env).decode().strip()
    if args.without_log_indexes:
        db = sqlite3.connect(os.path.join(data_dir, "aethenox.db"))
        for index in ["deliveries_status_id", "deliveries_type_id", "deliveries_class_id", "deliveries_webhook_status_id"]:
            db.execute(f"DROP INDEX {index}")
        db.commit()
        db.close()
    # Every instance shares the data directory, and so the master key its first start makes.
    servers = []
    for port in PORTS:
        server = subprocess.Popen(
            [binary, "--bind", f"127.0.0.1:{port}", "--data-dir", data_dir, "--allow-private-targets",
             "--max-per-endpoint", str(args.max_per_endpoint)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(server)
        servers.append(server)
        common.wait_port(port)

    for i in range(args.fanout):
        hook = {"url": f"http://127.0.0.1:{SINK}/w{i}", "events": ["message.received"]}
        if args.filter:
            hook["filter"] = json.loads(args.filter)
        if args.rate_limit:
            hook["rate_limit"] = {"per_second": args.rate_limit}
        api("POST", "/api/v1/webhooks", hook)
    api("POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/latency", "events": ["call.missed"]})
    if args.ordered:
        api("POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/ordered", "events": ["call.missed"],
                                         "ordered": True})

    # 1. Throughput.
    lua = os.path.join(work, "post.lua")
    body = json.dumps({"type": "message.received", "data": {
        "message_id": "msg_01jd8k3a6b8c0d2e4f6g8h0j2k", "channel": "whatsapp", "direction": "inbound",
        "contact": {"id": "con_01jd8k2m4q7r9s3t5v6w8x0y1z", "name": "Amara Okafor", "phone": "+14155550132"},
        "body": "Hi! Is my order #4821 on its way?"}})
    with open(lua, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {KEY}"\nwrk.body = {json.dumps(body)}\n')
    per = max(1, args.connections // len(PORTS))
    wrks = [] if not args.saturation else [subprocess.Popen(["wrk", "-t1", f"-c{per}", f"-d{args.seconds}s", "-s", lua,
                              f"http://127.0.0.1:{port}/api/v1/events"], stdout=subprocess.PIPE, text=True)
            for port in PORTS]
    start = time.monotonic()
    samples = []
    while any(w.poll() is None for w in wrks):
        samples.append(sample(start, metrics()))
        time.sleep(1)
    wrk_outs = [w.stdout.read() for w in wrks]
    if not args.saturation:
        samples = []
    accepted = metric(metrics(), "aethenox_events_accepted_total")
    expected = accepted * args.fanout
    load_ended = time.monotonic() - start
    # The drain, sampled every 50 ms: printed when it took more than half a second, to show where
    # a backlog left at the end of the load waited: due in the queue, in flight, or neither (claimed
    # and waiting in memory for room, or sent and its outcome not yet recorded).
    drain = []
    while True:
        m = metrics()
        done = metric(m, 'aethenox_deliveries_total{outcome="succeeded"}')
        drain.append((time.monotonic() - start, done, metric(m, 'aethenox_queue_depth{state="due"}'),
                      metric(m, "aethenox_attempts_in_flight"), metric(m, "aethenox_deliveries_straight_total")))
        if done >= expected:
            break
        time.sleep(0.05)
    drained_at = time.monotonic() - start
    # Sustained rate: the middle of the run, away from warm-up and the end of the load.
    mid = [s for s in samples if args.seconds * 0.25 <= s[0] <= args.seconds * 0.9]
    sustained = (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0]) if len(mid) >= 2 else float("nan")
    rps = sum(float(next((l for l in out.splitlines() if "Requests/sec" in l), "0 0").split()[-1]) for out in wrk_outs)
    where = f"PostgreSQL, {len(PORTS)} instance(s)" if args.database_url else "SQLite"
    if args.saturation:
        print(f"saturation ({where}): {accepted:.0f} events accepted in {args.seconds} s ({rps:.0f} events/s by wrk), "
          f"fan-out {args.fanout}")
        print(f"  deliveries/s sustained during the load: {sustained:.0f}")
        per_delivery(mid)
        print(f"  all {expected:.0f} deliveries done after {drained_at:.1f} s: {expected / drained_at:.0f} deliveries/s overall")
        m = metrics()
        retried = metric(m, 'aethenox_deliveries_total{outcome="retry_scheduled"}')
        if retried:
            print(f"  attempts not succeeded (each retried on the schedule): {retried:.0f}")
            if not args.database_url:
                db = sqlite3.connect(os.path.join(data_dir, "aethenox.db"))
                for row in db.execute("SELECT status_code, error_class, error, count(*) FROM attempts "
                                      "WHERE status_code IS NULL OR status_code >= 300 GROUP BY 1, 2, 3"):
                    print("   ", *row)
                db.close()
        if drained_at - load_ended > 0.5:
            print(f"  drain after the load ended at {load_ended:.2f} s (s, left, due, in flight, sent straight):")
            for t, done, due, in_flight, straight in drain:
                print(f"    {t:6.2f} {expected - done:8.0f} {due:8.0f} {in_flight:5.0f} {straight:8.0f}")

    # 1b. Paced: wrk's delay() spaces each connection's requests to offer about --paced deliveries/s.
    if args.paced:
        conns = 128
        events_per_s = args.paced / args.fanout
        paced_lua = os.path.join(work, "paced.lua")
        with open(paced_lua, "w") as f:
            # wrk takes whole milliseconds; one is about the time a request itself takes here.
            f.write(open(lua).read() + f"function delay() return {max(1, int(conns * 1000 / events_per_s) - 1)} end\n")
        before_acc = metric(metrics(), "aethenox_events_accepted_total")
        wrks = [subprocess.Popen(["wrk", "-t1", f"-c{max(1, conns // len(PORTS))}", f"-d{args.seconds}s", "-s",
                                  paced_lua, f"http://127.0.0.1:{port}/api/v1/events"], stdout=subprocess.PIPE, text=True)
                for port in PORTS]
        start = time.monotonic()
        samples, backlog = [], 0
        while any(w.poll() is None for w in wrks):
            m = metrics()
            samples.append(sample(start, m))
            # The queue is shared: every instance reports the same depth.
            backlog = max(backlog, metric(m, 'aethenox_queue_depth{state="due"}', max))
            time.sleep(1)
        for w in wrks:
            w.stdout.read()
        offered = (metric(metrics(), "aethenox_events_accepted_total") - before_acc) * args.fanout / args.seconds
        mid = [s for s in samples if args.seconds * 0.25 <= s[0] <= args.seconds * 0.9]
        rate = (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0]) if len(mid) >= 2 else float("nan")
        print(f"paced: {offered:.0f} deliveries/s offered; {rate:.0f} deliveries/s delivered; "
              f"largest due backlog {backlog:.0f}")
        per_delivery(mid)
        expected = metric(metrics(), "aethenox_events_accepted_total") * args.fanout
        while succeeded() < expected:
            time.sleep(0.05)

    # 2. Latency at a steady rate, one webhook.
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in PORTS]
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    n = args.rate * args.seconds
    t0 = time.monotonic()
    late = 0
    sent_at = {}
    for i in range(n):
        due = t0 + i / args.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        elif now - due > 0.05:
            late += 1
        conn = conns[i % len(conns)]
        sent_at[f"lat-{i}"] = time.time() * 1000
        conn.request("POST", "/api/v1/events", body=json.dumps({"type": "call.missed", "id": f"lat-{i}", "data": {"call_id": i}}),
                     headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 202:
            raise SystemExit(f"event {i}: {r.status}")
    elapsed = time.monotonic() - t0
    want = {f"lat-{i}" for i in range(n)}
    arrivals = {}
    end = time.monotonic() + 30
    while time.monotonic() < end:
        time.sleep(1.2)  # nginx flushes its access log every second
        arrivals.clear()
        with open(os.path.join(work, "arrivals.log")) as f:
            for line in f:
                at, _, event = line.strip().partition(" ")
                if event in want and event not in arrivals:
                    arrivals[event] = float(at) * 1000
        if len(arrivals) == n:
            break
    if args.database_url:
        rows = psql("SELECT id, created_at FROM events WHERE id LIKE 'lat-%'", PG_DB).split()
        created = {r.split("|")[0]: int(r.split("|")[1]) for r in rows}
    else:
        db = sqlite3.connect(os.path.join(data_dir, "aethenox.db"))
        created = dict(db.execute("SELECT id, created_at FROM events WHERE id LIKE 'lat-%'"))
    lat = sorted(arrivals[e] - created[e] for e in arrivals)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"latency: {n} events at {n / elapsed:.0f}/s ({late} sent late by the client); {len(lat)} arrived")
    print(f"  acceptance to arrival: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms")
    # From the moment the client sent the request (nginx logs whole milliseconds).
    lat = sorted(arrivals[e] - sent_at[e] for e in arrivals)
    print(f"  publish to arrival: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms")

    # 3. Memory.
    for n, server in enumerate(servers):
        hwm = next(l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM")).split()[1]
        print(f"peak RSS (instance {n}): {int(hwm) / 1024:.1f} MiB")
finally:
    stop_all()
    shutil.rmtree(work, ignore_errors=True)
    if args.database_url:
        psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
