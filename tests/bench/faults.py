#!/usr/bin/env python3
"""What a publisher sees while PostgreSQL restarts under load (issue 20's report, rerunnable):

    python3 tests/bench/faults.py --database-url postgres://root@127.0.0.1:5432/postgres \
        --instances 2 --rate 200 --seconds 20 --restart-at 6

Starts the release binary --instances times on a fresh database of that server, one webhook to a
receiver here that records each arrival's webhook-id, and publishes --rate events a second
(spread over the instances, each with its own id) for --seconds. At --restart-at seconds it runs
`pg_ctlcluster <version> main restart -m fast` (needs root, and the machine's own cluster). It
reports every answer's status (a 500 is a failure of this server), whether each 503 had
Retry-After and said database_unavailable, how long /healthz said 503, how long after
PostgreSQL was back the first publish was accepted again, and whether every accepted event
arrived (at least once).
"""

import argparse, collections, http.client, http.server, json, os, shutil, socketserver, subprocess
import sys, tempfile, threading, time, urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--database-url", required=True)
p.add_argument("--instances", type=int, default=2)
p.add_argument("--rate", type=int, default=200)
p.add_argument("--seconds", type=int, default=20)
p.add_argument("--restart-at", type=float, default=6)
args = p.parse_args()

work = tempfile.mkdtemp(prefix="aethenox-faults-")
procs = []
arrived = set()
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            arrived.add(self.headers.get("webhook-id"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, key=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    c.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = c.getresponse()
    data = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def psql(url, sql):
    subprocess.run(["psql", url, "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def pg_ready(url):
    return subprocess.run(["pg_isready", "-d", url], stdout=subprocess.DEVNULL).returncode == 0


try:
    receiver = Server(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    sink = receiver.server_address[1]
    db = f"aethenox_faults_{os.getpid()}"
    psql(args.database_url, f"CREATE DATABASE {db}")
    url = urllib.parse.urlunparse(urllib.parse.urlparse(args.database_url)._replace(path="/" + db))
    env = {**os.environ, "AETHENOX_DATABASE_URL": url, "AETHENOX_LOG": "info"}
    data_dir = os.path.join(work, "data")
    binary = os.path.abspath(args.binary)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "faults", "--data-dir", data_dir],
                                  env=env).decode().strip()
    ports = []
    for i in range(args.instances):
        port = free_port()
        log = open(os.path.join(work, f"server{i}.log"), "w")
        procs.append(subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}", "--data-dir", data_dir,
                                       "--allow-private-targets"], stdout=log, stderr=log, env=env))
        ports.append(port)
    for port in ports:
        deadline = time.time() + 30
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("an instance did not start")
            time.sleep(0.1)
    status, _, body = request(ports[0], "POST", "/api/v1/webhooks",
                              {"url": f"http://127.0.0.1:{sink}/hook", "events": ["message.sent"]}, key)
    assert status == 201, body

    statuses = collections.Counter()
    accepted, refused = [], []  # refused: (time, retry_after, code)
    answered = []  # (time, status) of every answer
    start = time.time()
    stop = start + args.seconds
    health_down = []
    back_at = [None]

    def publisher(n, port):
        interval = args.instances / args.rate
        i = 0
        nxt = time.time()
        while time.time() < stop:
            event_id = f"evt_{n}_{i}"
            i += 1
            try:
                status, headers, body = request(port, "POST", "/api/v1/events",
                                                {"type": "message.sent", "id": event_id, "data": {"n": i}}, key)
            except OSError as e:
                status, headers, body = f"error {type(e).__name__}", {}, b""
            with lock:
                statuses[status] += 1
                answered.append((time.time(), status))
                if status == 202:
                    accepted.append((time.time(), event_id))
                elif status == 503:
                    code = json.loads(body or b"{}").get("error", {}).get("code")
                    refused.append((time.time(), headers.get("retry-after"), code))
            nxt += interval
            time.sleep(max(0, nxt - time.time()))

    def prober():
        while time.time() < stop + 5:
            try:
                s = request(ports[0], "GET", "/healthz", timeout=5)[0]
            except OSError:
                s = None
            if s != 200:
                health_down.append(time.time())
            time.sleep(0.05)

    threads = [threading.Thread(target=publisher, args=(n, port)) for n, port in enumerate(ports)]
    threads.append(threading.Thread(target=prober))
    for t in threads:
        t.start()
    time.sleep(max(0, start + args.restart_at - time.time()))
    version = subprocess.check_output(["pg_lsclusters", "-h"]).decode().split()[0]
    restart_began = time.time()
    subprocess.run(["pg_ctlcluster", version, "main", "restart", "-m", "fast"], check=True)
    while not pg_ready(url):
        time.sleep(0.05)
    pg_back = time.time()
    for t in threads:
        t.join()

    ids = [e for _, e in accepted]
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            missing = [e for e in ids if e not in arrived]
        if not missing:
            break
        time.sleep(0.2)
    first_after = min((t for t, _ in accepted if t > pg_back), default=None)
    print(f"answers: {dict(statuses)}")
    print(f"PostgreSQL restart: {pg_back - restart_began:.2f} s (pg_ctlcluster returned, pg_isready)")
    if refused:
        print(f"503s: {len(refused)}, from {refused[0][0] - restart_began:+.2f} s to "
              f"{refused[-1][0] - restart_began:+.2f} s after the restart began; "
              f"with Retry-After: {sum(1 for r in refused if r[1])}; codes: "
              f"{dict(collections.Counter(r[2] for r in refused))}")
    if health_down:
        print(f"/healthz not 200 from {health_down[0] - restart_began:+.2f} s to "
              f"{health_down[-1] - restart_began:+.2f} s")
    if first_after:
        print(f"first publish accepted {first_after - pg_back:.2f} s after PostgreSQL was back")
    failed = [t for t, s in answered if s != 202]
    if failed:
        resumed = min((t for t, _ in accepted if t > failed[-1]), default=None)
        if resumed:
            print(f"publishing accepted again {resumed - restart_began:+.2f} s after the restart began, "
                  f"{resumed - failed[-1]:.2f} s after the last refusal")
    print(f"accepted {len(ids)}, arrived {len(ids) - len(missing)}, lost {len(missing)}")
    five_hundreds = sum(n for s, n in statuses.items() if s == 500)
    sys.exit(1 if missing or five_hundreds else 0)
finally:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    try:
        subprocess.run(["psql", args.database_url, "-q", "-c",
                        f"DROP DATABASE IF EXISTS aethenox_faults_{os.getpid()} WITH (FORCE)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except Exception:
        pass
    shutil.rmtree(work, ignore_errors=True)
