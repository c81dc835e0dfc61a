#!/usr/bin/env python3
"""Where a delivery's instructions go: the server under callgrind (instruction counts, which a
noisy machine cannot blur), fan-out 1 to nginx answering 204, on SQLite.

    CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
        cargo build --release --target-dir /tmp/prof-target
    python3 tests/bench/profile.py --binary /tmp/prof-target/release/aethenox-webhooks

Runs the server twice, publishing --small and then --large events (16 publishers at once, as
wrk would), each time until every delivery succeeded; the difference of the two runs' totals,
divided by the difference of their deliveries, is the cost of one delivery without start-up.
Prints that, and the functions with the largest inclusive share of the large run
(callgrind_annotate), to read as a profile.
"""

import argparse, http.client, json, os, re, shutil, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="/tmp/prof-target/release/aethenox-webhooks")
p.add_argument("--small", type=int, default=500)
p.add_argument("--large", type=int, default=2500)
p.add_argument("--top", type=int, default=45)
p.add_argument("--keep", help="copy the large run's callgrind file here (for callgrind_annotate --tree=caller, kcachegrind)")
args = p.parse_args()

SINK = 18123


def request(port, method, path, body=None, key=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    c.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = c.getresponse()
    return r.status, r.read()


def one_run(work, n):
    data_dir = os.path.join(work, f"data{n}")
    env = {**os.environ, "AETHENOX_LOG": "error"}
    env.pop("AETHENOX_DATABASE_URL", None)
    binary = os.path.abspath(args.binary)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "p", "--data-dir", data_dir],
                                  env=env).decode().strip()
    port = 18200 + n % 100
    out = os.path.join(work, f"callgrind.{n}")
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                               binary, "--bind", f"127.0.0.1:{port}", "--data-dir", data_dir,
                               "--allow-private-targets"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        common.wait_port(port, deadline=120)
        status, body = request(port, "POST", "/api/v1/webhooks",
                               {"url": f"http://127.0.0.1:{SINK}/hook", "events": ["message.received"]}, key)
        assert status == 201, body
        event = {"type": "message.received", "data": {
            "message_id": "msg_01jd8k3a6b8c0d2e4f6g8h0j2k", "channel": "whatsapp", "direction": "inbound",
            "contact": {"id": "con_01jd8k2m4q7r9s3t5v6w8x0y1z", "name": "Amara Okafor"},
            "body": "Hi! Is my order #4821 on its way?"}}
        todo = list(range(n))
        lock = threading.Lock()

        def publisher():
            while True:
                with lock:
                    if not todo:
                        return
                    todo.pop()
                status, body = request(port, "POST", "/api/v1/events", event, key)
                assert status == 202, body

        threads = [threading.Thread(target=publisher) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.time() + 1200
        while time.time() < deadline:
            _, text = request(port, "GET", "/metrics", key=key)
            m = re.search(rb'aethenox_deliveries_total\{outcome="succeeded"\} (\d+)', text)
            if m and int(m.group(1)) >= n:
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"{n}: deliveries did not finish")
    finally:
        server.terminate()
        server.wait(120)
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return out, total


work = tempfile.mkdtemp(prefix="aethenox-profile-")
procs = []
try:
    procs.append(common.start_nginx(work, SINK))
    common.wait_port(SINK)
    _, small = one_run(work, args.small)
    out, large = one_run(work, args.large)
    per = (large - small) / (args.large - args.small)
    if args.keep:
        shutil.copy(out, args.keep)
    print(f"instructions: {args.small} deliveries {small:,}, {args.large} deliveries {large:,}")
    print(f"per delivery (publish, claim, sign, send, record), start-up taken out: {per:,.0f}")
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", f"--threshold=99", out],
                               capture_output=True, text=True).stdout
    lines = [l for l in annotated.splitlines() if re.match(r"^\s*[\d,]+ \(", l)]
    print(f"largest inclusive shares of the {args.large}-delivery run:")
    for l in lines[: args.top]:
        print(l[:200])
finally:
    for proc in procs:
        proc.terminate()
    shutil.rmtree(work, ignore_errors=True)
