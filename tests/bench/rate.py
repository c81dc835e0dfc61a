#!/usr/bin/env python3
"""How closely a rate limit holds over a long backlog (issue 19: within ±10% of N over a minute).

    cargo build --release
    python3 tests/bench/rate.py --per-second 200 --seconds 60

Starts the release binary on a fresh SQLite data directory and nginx as the receiver, makes one
webhook with `rate_limit: {per_second: N}`, publishes N × (seconds + 10) events at once (a
backlog longer than the measurement), and counts arrivals in each whole second of the `seconds`
that follow the first one: their mean (should be N), lowest and highest second, and the most in
any sliding second (at most 2N by the rule: each calendar second allows N).
"""
import argparse, http.client, json, os, shutil, subprocess, tempfile, time
import common

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--per-second", type=int, default=200)
p.add_argument("--seconds", type=int, default=60)
args = p.parse_args()

APP, SINK = 18189, 18190
work = tempfile.mkdtemp(prefix="aethenox-rate-")
procs = []
try:
    procs.append(common.start_nginx(work, SINK, healthz=True))
    common.wait_port(SINK)
    data_dir = os.path.join(work, "data")
    env = {**os.environ, "AETHENOX_LOG": "error"}
    env.pop("AETHENOX_DATABASE_URL", None)
    binary = os.path.abspath(args.binary)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "rate", "--data-dir", data_dir],
                                  env=env).decode().strip()
    procs.append(subprocess.Popen([binary, "--bind", f"127.0.0.1:{APP}", "--data-dir", data_dir,
                                   "--allow-private-targets"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    common.wait_port(APP)
    conn = http.client.HTTPConnection("127.0.0.1", APP, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(path, body):
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise SystemExit(f"{path}: {r.status} {data[:200]!r}")

    post("/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/rate", "events": ["message.sent"],
                              "rate_limit": {"per_second": args.per_second}})
    total = args.per_second * (args.seconds + 10)
    for i in range(total):
        post("/api/v1/events", {"type": "message.sent", "id": f"r-{i}", "data": {"n": i}})
    time.sleep(args.seconds + 3)  # a benchmark's measuring window, not a test's wait
    arrivals = []
    with open(os.path.join(work, "arrivals.log")) as f:
        for line in f:
            at, _, event = line.strip().partition(" ")
            if event.startswith("r-"):
                arrivals.append(float(at))
    arrivals.sort()
    start = int(arrivals[0]) + 1
    counts = [sum(1 for a in arrivals if s <= a < s + 1) for s in range(start, start + args.seconds)]
    mean = sum(counts) / len(counts)
    j, most = 0, 0
    for i, a in enumerate(arrivals):
        while arrivals[j] < a - 1:
            j += 1
        most = max(most, i - j + 1)
    print(f"rate limit {args.per_second}/s over {args.seconds} s of backlog: mean {mean:.1f}/s "
          f"({100 * (mean - args.per_second) / args.per_second:+.1f}%), lowest second {min(counts)}, "
          f"highest {max(counts)}, most in any sliding second {most}")
finally:
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)
    shutil.rmtree(work, ignore_errors=True)
