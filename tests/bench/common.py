"""Shared by the benchmarks: nginx as a fast receiver, and signing in like a browser."""
import http.client, os, subprocess, urllib.parse


def nginx_conf(work, port, healthz=False):
    """nginx answering 204 on 127.0.0.1:`port`, logging each arrival's time and webhook-id."""
    conf = os.path.join(work, "nginx.conf")
    extra = "        location = /healthz { return 200; }\n" if healthz else ""
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    log_format arrival '$msec $http_webhook_id';
    access_log {work}/arrivals.log arrival buffer=1m flush=1s;
    client_body_temp_path {work};
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        keepalive_requests 10000000;
        location / {{ return 204; }}
{extra}    }}
}}
""")
    return conf


def start_nginx(work, port, healthz=False):
    conf = nginx_conf(work, port, healthz)
    return subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)


def sign_in(conn, email, password):
    """Loads the sign-in form on `conn` (an HTTPConnection), signs in, and returns the Cookie header."""
    conn.request("GET", "/login")
    r = conn.getresponse()
    r.read()
    csrf = [c.split(";")[0].split("=", 1)[1] for c in r.headers.get_all("Set-Cookie") if c.startswith("aethenox_csrf=")][0]
    body = urllib.parse.urlencode({"csrf_token": csrf, "email": email, "password": password})
    conn.request("POST", "/login", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"aethenox_csrf={csrf}"})
    r = conn.getresponse()
    r.read()
    if not r.headers.get_all("Set-Cookie"):
        raise SystemExit(f"signing in as {email} failed: {r.status}")
    cookies = {c.split(";")[0].split("=", 1)[0]: c.split(";")[0].split("=", 1)[1] for c in r.headers.get_all("Set-Cookie")}
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def wait_port(port, deadline=30):
    """Waits until something on 127.0.0.1:`port` answers GET /healthz."""
    import time
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing answered on port {port}")
