#!/usr/bin/env python3
"""Dashboard API latency with many containers and events, against a real Redis.

Seeds a fresh key prefix with N containers (stats with a 60-sample history each, as the monitor
writes them) and M events in each place the dashboard reads them (the remediation_complete and
health_alert streams, the audit stream, the events:all list), starts `hemostat dashboard` (the
release build) on a free port, times each endpoint over repeated requests on one keep-alive
connection, prints median and p99, then stops the dashboard and deletes the keys.

Endpoints that read container stats (overview, containers, incidents) are requested 0.6 s apart,
so that every request pays for a fresh read (the dashboard shares one read for half a second).

  swift build -c release --product hemostat
  python3 bench/dashboard/bench.py [--redis-socket PATH] [--containers 200] [--events 10000]
                                   [--requests 40] [--binary .build/release/hemostat]

The Redis socket defaults to the one in $HEMOSTAT_TEST_REDIS_URL (scripts/test-env.sh start).
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def options():
    p = argparse.ArgumentParser()
    default_socket = os.environ.get("HEMOSTAT_TEST_REDIS_URL", "").replace("unix://", "") or None
    p.add_argument("--redis-socket", default=default_socket)
    p.add_argument("--containers", type=int, default=200)
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build/release/hemostat"))
    o = p.parse_args()
    if not o.redis_socket:
        sys.exit("no Redis: pass --redis-socket or source the test environment")
    return o


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
    return b"".join(out)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def envelope(event_type, ms, data):
    return json.dumps({"event_type": event_type, "timestamp": iso(ms), "agent": "bench", "host": "node-1",
                       "id": str(uuid.uuid4()), "data": data}, separators=(",", ":"))


def seed(o, prefix):
    rnd = random.Random(7)
    now = int(time.time() * 1000)
    cmds = []
    names = [f"svc-{i:03d}" for i in range(o.containers)]
    for i, name in enumerate(names):
        unhealthy = i % 20 == 0
        history = [{"timestamp": (now - (60 - k) * 5000) / 1000, "cpu_percent": round(rnd.uniform(0, 90), 1),
                    "memory_percent": round(rnd.uniform(5, 80), 1), "memory_usage": 50_000_000, "status": "running",
                    "health_status": "healthy", "restart_count": 0} for k in range(60)]
        stats = {"container_id": uuid.uuid4().hex * 2, "container_name": name, "image": "busybox:latest", "host": "node-1",
                 "status": "running", "health_status": "unhealthy" if unhealthy else "healthy", "exit_code": 0,
                 "oom_killed": False, "restart_count": i % 4, "labels": {"app": name, "team": "bench"},
                 "updated_at": iso(now), "excluded": False,
                 "metrics": {"cpu_percent": 12.5, "memory_percent": 40.0, "memory_usage": 100_000_000, "memory_limit": 268_435_456},
                 "anomalies": [{"type": "health_unhealthy", "severity": "high"}] if unhealthy else [], "history": history}
        cmds.append(resp("SET", prefix + "stats:node-1/" + name, json.dumps(stats, separators=(",", ":")), "EX", "3600"))
        cmds.append(resp("ZADD", prefix + "containers", now, "node-1/" + name))
    statuses = ["success", "success", "success", "failed", "ineffective", "rejected", "skipped"]
    span = 23 * 3600 * 1000  # all within the overview's 24 h window
    for n in range(o.events):
        ms = now - span + n * span // o.events
        name = names[n % len(names)]
        incident = f"inc-{n}"
        complete = envelope("remediation_complete", ms, {
            "container": name, "action": "restart", "incident_id": incident, "request_id": f"req-{n}", "dry_run": False,
            "analysis_method": "rules", "rule": "crash-restart",
            "result": {"status": statuses[n % len(statuses)], "reason": f"attempt {n}"}})
        cmds.append(resp("XADD", prefix + "remediation_complete", f"{ms}-{n}", "message", complete))
        alert_ms = now - 6 * 3600 * 1000 + n * 6 * 3600 * 1000 // o.events  # the incident view's six hours
        alert = envelope("health_alert", alert_ms, {"container_name": name, "status": "exited", "exit_code": 1, "incident_id": f"alert-{n}"})
        cmds.append(resp("XADD", prefix + "health_alert", f"{alert_ms}-{n}", "message", alert))
        cmds.append(resp("XADD", prefix + "audit", f"{ms}-{n}", "record",
                         json.dumps({"incident_id": incident, "request_id": f"req-{n}", "decision": "allowed"})))
        cmds.append(resp("LPUSH", prefix + "events:all", complete))
    data = b"".join(cmds)
    out = subprocess.run(["redis-cli", "-s", o.redis_socket, "--pipe"], input=data, capture_output=True)
    if out.returncode != 0 or b"errors: 0" not in out.stdout:
        sys.exit("seeding failed: " + out.stdout.decode() + out.stderr.decode())


def cleanup(o, prefix):
    cursor = "0"
    while True:
        out = subprocess.run(["redis-cli", "-s", o.redis_socket, "SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"],
                             capture_output=True, text=True).stdout.split("\n")
        cursor, keys = out[0], [k for k in out[1:] if k]
        if keys:
            subprocess.run(["redis-cli", "-s", o.redis_socket, "DEL", *keys], capture_output=True)
        if cursor == "0":
            break


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def time_endpoint(port, path, requests, spacing):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, size = [], 0
    for i in range(requests + 2):
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            sys.exit(f"{path}: HTTP {response.status} {body[:200]!r}")
        if i >= 2:  # two warm-up requests
            times.append(elapsed)
        size = len(body)
        if spacing:
            time.sleep(spacing)
    conn.close()
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
    return statistics.median(times), p99, size


def main():
    o = options()
    prefix = f"bench-dash-{uuid.uuid4().hex[:8]}:"
    t0 = time.monotonic()
    seed(o, prefix)
    print(f"seeded {o.containers} containers (60 samples each) and {o.events} events per stream/list "
          f"under {prefix} in {time.monotonic() - t0:.1f} s", flush=True)
    port = free_port()
    env = dict(os.environ, REDIS_URL="unix://" + o.redis_socket, HEMOSTAT_REDIS_KEY_PREFIX=prefix,
               HEMOSTAT_LOG_LEVEL="warning")
    server = subprocess.Popen([o.binary, "dashboard", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the dashboard did not start: " + server.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        endpoints = [
            ("/api/overview", 0.6), ("/api/containers", 0.6), ("/api/containers?limit=50", 0.6), ("/api/incidents", 0.6),
            ("/api/history", 0), (f"/api/history?container=svc-017&status=failed", 0),
            ("/api/history?since=" + str(int(time.time() * 1000) - 3600_000), 0),
            ("/api/timeline", 0), ("/api/timeline?offset=9000&limit=100", 0),
            (f"/api/audit?id=inc-{o.events // 2}", 0), ("/api/rules", 0), ("/metrics", 0),
        ]
        print(f"{'endpoint':52} {'median ms':>10} {'p99 ms':>8} {'bytes':>9}")
        for path, spacing in endpoints:
            median, p99, size = time_endpoint(port, path, o.requests, spacing)
            print(f"{path:52} {median:10.1f} {p99:8.1f} {size:9d}", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        cleanup(o, prefix)


if __name__ == "__main__":
    main()
