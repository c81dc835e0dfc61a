#!/usr/bin/env python3
"""What PostgreSQL runs per event, by kind, from its own log, beside aethenox_db_statements_total.

    python3 tests/bench/statements.py --binary target/release/aethenox-webhooks --events 100

Makes a database on the local server (127.0.0.1:5432, as root), turns on `log_statement = 'all'`
for that database only, starts one instance on it, publishes --events events one at a time
(--gap seconds apart) to one webhook whose receiver (nginx) answers 204, and counts what the
server logged meanwhile (/var/log/postgresql/postgresql-15-main.log; needs root to read) by its
first word. Drops the database afterwards.
"""
import argparse, http.client, json, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--events", type=int, default=100)
p.add_argument("--gap", type=float, default=0.01)
p.add_argument("--server", default="postgres://root@127.0.0.1:5432")
p.add_argument("--log", default="/var/log/postgresql/postgresql-15-main.log")
args = p.parse_args()
DB, APP, SINK = f"aethenox_statements_{os.getpid()}", 18390, 18391


def psql(sql, db="postgres"):
    return subprocess.check_output(["psql", "-X", "-At", "-d", f"{args.server}/{db}", "-c", sql], text=True)


work = tempfile.mkdtemp(prefix="aethenox-statements-")
procs = []
psql(f"CREATE DATABASE {DB}")
try:
    procs.append(common.start_nginx(work, SINK))
    env = {**os.environ, "AETHENOX_LOG": "error", "AETHENOX_DATABASE_URL": f"{args.server}/{DB}"}
    binary = os.path.abspath(args.binary)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "k", "--data-dir", f"{work}/d"],
                                  env=env).decode().strip()
    psql(f"ALTER DATABASE {DB} SET log_statement = 'all'")
    procs.append(subprocess.Popen([binary, "--bind", f"127.0.0.1:{APP}", "--data-dir", f"{work}/d",
                                   "--allow-private-targets"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    common.wait_port(APP)

    def api(method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", APP, timeout=30)
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        return c.getresponse().read().decode()

    def counted():
        return float(next(l.split()[-1] for l in api("GET", "/metrics").splitlines()
                          if l.startswith("aethenox_db_statements_total ")))

    api("POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/s", "events": ["call.missed"]})
    time.sleep(1.5)
    before, offset = counted(), os.path.getsize(args.log)
    for i in range(args.events):
        api("POST", "/api/v1/events", {"type": "call.missed", "data": {"i": i}})
        time.sleep(args.gap)
    time.sleep(1.5)  # every outcome recorded
    after = counted()
    with open(args.log, errors="replace") as f:
        f.seek(offset)
        # Simple queries log "statement: …", prepared ones "execute <name>: …".
        logged = [m.group(1) for m in map(re.compile(r"LOG:  (?:statement|execute [^:]+): (.*)").search, f) if m]
    kinds = {}
    for text in logged:
        word = (text.split() or ["?"])[0].lstrip("(").upper()
        kinds[word] = kinds.get(word, 0) + 1
    print(f"{args.events} events, one delivery each")
    print(f"  logged by PostgreSQL: {len(logged)} ({len(logged) / args.events:.2f} per delivery): "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])))
    print(f"  aethenox_db_statements_total: {after - before:.0f} (the /metrics reads' queue-depth queries included)")
finally:
    for proc in procs:
        proc.terminate()
        proc.wait()
    shutil.rmtree(work, ignore_errors=True)
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
