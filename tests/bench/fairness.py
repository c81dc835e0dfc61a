#!/usr/bin/env python3
"""Fair delivery benchmark (issue 17): does one backlog hold up a fresh event to someone else?

Usage:
    cargo build --release
    python3 tests/bench/fairness.py [--binary target/release/aethenox-webhooks] [--slow-webhooks 40] [--backlog 24000]

A receiver on 127.0.0.1 (asyncio, in this script) answers 204 after 100 ms on /slow/… and at
once on /fresh/…. The server (fresh SQLite, --allow-private-targets, defaults otherwise) gets
--slow-webhooks webhooks to /slow in the default workspace, and two quiet webhooks to /fresh:
one in the same workspace, one in another. --backlog deliveries are published to the slow ones
(events fanned out to all of them); while that backlog drains, a fresh event is published to
each quiet webhook every 100 ms. Reported: how long the backlog took, and publish → arrival of
the fresh events (p50, p99, max), for the same workspace and the other one.
"""
import argparse, asyncio, http.client, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--binary", default="target/release/aethenox-webhooks")
p.add_argument("--slow-webhooks", type=int, default=40)
p.add_argument("--backlog", type=int, default=24_000)
args = p.parse_args()

APP, SINK = 18290, 18291
work = tempfile.mkdtemp(prefix="aethenox-fair-bench-")
arrivals = {}  # webhook-id (event id) -> arrival time
slow_done = [0]


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
            await reader.readexactly(int(headers.get("content-length", "0")))
            if path.startswith("/slow"):
                await asyncio.sleep(0.1)
                slow_done[0] += 1
            else:
                arrivals[headers.get("webhook-id", "")] = time.monotonic()
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def receiver():
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", SINK, backlog=1024)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def call(key, method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", APP, timeout=60)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None


server = None
try:
    threading.Thread(target=receiver, daemon=True).start()
    binary = os.path.abspath(args.binary)
    data = os.path.join(work, "data")
    env = {**os.environ, "AETHENOX_LOG": "error"}
    env.pop("AETHENOX_DATABASE_URL", None)
    key = subprocess.check_output([binary, "api-keys", "create", "--name", "bench", "--data-dir", data],
                                  env=env).decode().strip()
    server = subprocess.Popen([binary, "--bind", f"127.0.0.1:{APP}", "--data-dir", data, "--allow-private-targets"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    common.wait_port(APP)
    conn = http.client.HTTPConnection("127.0.0.1", APP, timeout=60)
    for i in range(args.slow_webhooks):
        call(key, "POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/slow/{i}", "events": ["message.received"]}, conn)
    call(key, "POST", "/api/v1/webhooks", {"url": f"http://127.0.0.1:{SINK}/fresh/same", "events": ["call.missed"]}, conn)
    call(key, "PUT", "/api/v1/workspaces/acct_other", {"name": "Other"}, conn)
    call(key, "POST", "/api/v1/workspaces/acct_other/webhooks",
         {"url": f"http://127.0.0.1:{SINK}/fresh/other", "events": ["call.missed"]}, conn)
    events = args.backlog // args.slow_webhooks
    t0 = time.monotonic()
    for n in range(events):
        call(key, "POST", "/api/v1/events", {"type": "message.received", "data": {"n": n}}, conn)
    print(f"backlog: {events * args.slow_webhooks} deliveries to {args.slow_webhooks} webhooks answering in 100 ms, "
          f"published in {time.monotonic() - t0:.1f} s")
    sent = {"same": {}, "other": {}}
    i = 0
    while slow_done[0] < events * args.slow_webhooks * 0.9:
        for where, path in [("same", "/api/v1/events"), ("other", "/api/v1/workspaces/acct_other/events")]:
            eid = f"evt_fresh_{where}_{i}"
            call(key, "POST", path, {"type": "call.missed", "id": eid, "data": {}}, conn)
            sent[where][eid] = time.monotonic()
        i += 1
        time.sleep(0.1)
    drained = time.monotonic() - t0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(e not in arrivals for s in sent.values() for e in s):
        time.sleep(0.05)
    print(f"  90% of the backlog delivered after {drained:.1f} s")
    for where, s in sent.items():
        lat = sorted((arrivals[e] - t) * 1000 for e, t in s.items() if e in arrivals)
        lost = len(s) - len(lat)
        if not lat:
            print(f"  fresh events, {where} workspace: none arrived")
            continue
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"  fresh events, {where} workspace: {len(lat)} arrived (not in 30 s: {lost}); publish -> arrival "
              f"p50 {statistics.median(lat):.0f} ms, p99 {p99:.0f} ms, max {lat[-1]:.0f} ms")
finally:
    if server and server.poll() is None:
        server.terminate()
        server.wait(timeout=20)
    shutil.rmtree(work, ignore_errors=True)
