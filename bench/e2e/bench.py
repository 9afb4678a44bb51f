#!/usr/bin/env python3
"""End-to-end benchmarks of `hemostat run` against a real Redis and Docker engine.

  bench/e2e/bench.py fault [--trials 10] [--kinds crash,oom]
      Time from fault to container running again: for each trial one container that fails
      once (exits with code 3, or is OOM-killed under a 16 MiB limit) and stays up once
      started again. Fault time is the engine's State.FinishedAt of the failure; running again
      is the StartedAt of the start that follows; both are the engine's own clock. Trials run
      one at a time through one `hemostat run` (1 s poll, 1 s cooldown, 2 s verification).

  bench/e2e/bench.py watch [--containers 50] [--minutes 10] [--poll 30s]
      CPU time (utime+stime from /proc/<pid>/stat) and peak memory (VmHWM from
      /proc/<pid>/status) of `hemostat run` watching N sleeping containers.

  bench/e2e/bench.py hosts [--containers 50] [--minutes 3] [--poll 30s] [--trials 5]
      Two Docker hosts: one `hemostat run` per engine (DOCKER_HOST and DOCKER_HOST_B, each its
      own host id and dashboard port), one Redis. Each engine runs N sleeping containers with
      the same names as the other's. Reports each host's monitor cycle time (mean and max of
      `hemostat_monitor_cycle_seconds` from that process's /metrics) and fault to running
      again per host, trials alternating between the hosts; the sleeping containers must stay
      untouched (their State.StartedAt is compared before and after).

  bench/e2e/bench.py loop [--trials 3] [--minutes 6]
      A crash loop without a restart policy, with the shipped defaults (30 s poll, backoffs,
      breaker): each trial one container that exits with code 1 two seconds after every start
      (`--restart no`). Reports, from the engine's State.FinishedAt of the first crash, the time
      to the first escalation about it, how many restarts HemoStat made (remediation results
      of actions carried out) and when the result of the last of them was published; the
      container is watched for --minutes in all.

All need DOCKER_HOST and REDIS_URL (the test services: `scripts/test-env.sh start`, then
`source /tmp/hemostat-<hash>/test.env` and
`export DOCKER_HOST=$HEMOSTAT_TEST_DOCKER_HOST REDIS_URL=$HEMOSTAT_TEST_REDIS_URL`) and the
release binary (`swift build -c release --product hemostat`). Containers are named
`hsbench-*`, run busybox (`--image`, default $HEMOSTAT_TEST_IMAGE) with --network none, and are
removed at the end; keys live under their own prefix and are deleted.
"""
import argparse, datetime, json, os, platform, signal, statistics, subprocess, sys, tempfile, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK_TCK = os.sysconf("SC_CLK_TCK")
BINARY = os.path.join(ROOT, ".build/release/hemostat")


def docker(*args, check=True, host=None):
    env = dict(os.environ, DOCKER_API_VERSION="1.41")
    if host:
        env["DOCKER_HOST"] = host
    out = subprocess.run(["docker", *args], env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}: {out.stderr.strip()}")
    return out.stdout.strip()


def parse_time(text):
    # 2025-11-03T10:30:45.123456789Z: keep microseconds.
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".")
        text = f"{head}.{frac[:6].ljust(6, '0')}"
    else:
        text += ".000000"
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()


def state(name, host=None):
    return json.loads(docker("inspect", "-f", "{{json .State}}", name, host=host))


def start_hemostat(prefix, environment, log_path, arguments=("run", "--no-dashboard")):
    binary = BINARY
    if not os.access(binary, os.X_OK):
        sys.exit("build the release binary first: swift build -c release --product hemostat")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "DOCKER_HOST", "REDIS_URL")}
    env.update({
        "HEMOSTAT_REDIS_KEY_PREFIX": prefix + ":",
        "HEMOSTAT_HOST_ID": prefix,
        "HEMOSTAT_STATE_DIRECTORY": tempfile.mkdtemp(prefix="hsbench-"),
        "HEMOSTAT_RULES_DIRECTORY": os.path.join(ROOT, "rules"),
        "HEMOSTAT_MONITOR_INCLUDE": prefix + "-*",
        "HEMOSTAT_LOG_LEVEL": "warning",
    })
    env.update(environment)
    log = open(log_path, "w")
    return subprocess.Popen([binary, *arguments], cwd=ROOT, env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cleanup(prefix, hosts=(None,)):
    for host in hosts:
        ids = docker("ps", "-aq", "--filter", f"name=^{prefix}-", check=False, host=host).split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False, host=host)
    url = os.environ["REDIS_URL"]
    cli = ["redis-cli", "-s", url[len("unix://"):]] if url.startswith("unix://") else ["redis-cli", "-u", url]
    keys = subprocess.run(cli + ["--scan", "--pattern", prefix + ":*"], capture_output=True, text=True).stdout.split()
    for i in range(0, len(keys), 500):
        subprocess.run(cli + ["DEL", *keys[i:i + 500]], capture_output=True)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    engine = docker("version", "-f", "{{.Server.Version}}", check=False)
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} MiB RAM, Linux {platform.release()}, Docker {engine}"


def fault(args):
    prefix = "hsbench-" + uuid.uuid4().hex[:6]
    log = f"/tmp/{prefix}-hemostat.log"
    process = start_hemostat(prefix, {
        "AGENT_POLL_INTERVAL": "1s", "RESPONDER_COOLDOWN_SECONDS": "1s", "RESPONDER_MAX_RETRIES_PER_HOUR": "1000",
        "HEMOSTAT_RESPONDER_GLOBAL_MAX_ACTIONS_PER_HOUR": "10000", "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "2s",
        "HEMOSTAT_RESPONDER_STOP_TIMEOUT": "1s",
    }, log)
    scripts = {
        "crash": ([], "if [ -e /tmp/failed ]; then exec sleep 3600; fi; touch /tmp/failed; sleep 2; exit 3"),
        "oom": (["-m", "16m", "--memory-swap", "16m"],
                "if [ -e /tmp/failed ]; then exec sleep 3600; fi; touch /tmp/failed; sleep 2; x=aaaaaaaaaaaaaaaa; while true; do x=\"$x$x\"; done"),
    }
    results = {}
    try:
        time.sleep(3)  # the agents subscribe
        for kind in args.kinds.split(","):
            flags, script = scripts[kind]
            times = []
            for trial in range(args.trials):
                name = f"{prefix}-{kind}-{trial}"
                docker("run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1", *flags,
                       args.image, "sh", "-c", script)
                first_start = state(name)["StartedAt"]
                deadline = time.time() + 120
                while time.time() < deadline:
                    # Running on a later start than the first one: FinishedAt is the failure's.
                    s = state(name)
                    if s["Running"] and s["StartedAt"] != first_start and not s["FinishedAt"].startswith("0001"):
                        seconds = parse_time(s["StartedAt"]) - parse_time(s["FinishedAt"])
                        times.append(seconds)
                        print(f"{kind} trial {trial + 1}: {seconds:.3f} s", flush=True)
                        break
                    time.sleep(0.05)
                else:
                    print(f"{kind} trial {trial + 1}: not running again within 120 s (see {log})", flush=True)
                docker("rm", "-f", "-v", name, check=False)
            results[kind] = times
    finally:
        stop(process)
        cleanup(prefix)
    print()
    print(f"machine: {machine()}")
    print(f"command: bench/e2e/bench.py fault --trials {args.trials} --kinds {args.kinds}")
    print("| fault | trials | median (s) | worst (s) | best (s) |")
    print("|---|---:|---:|---:|---:|")
    for kind, times in results.items():
        if times:
            print(f"| {kind} | {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} | {min(times):.2f} |")


def proc_usage(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    status = {l.split(":")[0]: l.split(":")[1].strip() for l in open(f"/proc/{pid}/status")}
    return cpu, int(status["VmHWM"].split()[0]) // 1024, int(status["VmRSS"].split()[0]) // 1024, int(status["Threads"])


def watch(args):
    prefix = "hsbench-" + uuid.uuid4().hex[:6]
    log = f"/tmp/{prefix}-hemostat.log"
    try:
        print(f"starting {args.containers} containers…", flush=True)
        for i in range(args.containers):
            docker("run", "-d", "--name", f"{prefix}-{i:03d}", "--network", "none", "--label", "hemostat.test=1",
                   args.image, "sleep", "86400")
        process = start_hemostat(prefix, {"AGENT_POLL_INTERVAL": args.poll}, log)
        started = time.time()
        end = started + args.minutes * 60
        samples = []
        while time.time() < end and process.poll() is None:
            time.sleep(min(60, max(0, end - time.time())))
            cpu, hwm, rss, threads = proc_usage(process.pid)
            elapsed = time.time() - started
            samples.append((elapsed, cpu, hwm, rss))
            print(f"{elapsed:6.0f} s: cpu {cpu:7.2f} s, VmHWM {hwm} MiB, VmRSS {rss} MiB, threads {threads}", flush=True)
        if process.poll() is not None:
            sys.exit(f"hemostat exited early; see {log}")
        cpu, hwm, rss, threads = proc_usage(process.pid)
        elapsed = time.time() - started
        stop(process)
        print()
        print(f"machine: {machine()}")
        print(f"command: bench/e2e/bench.py watch --containers {args.containers} --minutes {args.minutes} --poll {args.poll}")
        print(f"| containers | poll | wall (s) | CPU time (s) | CPU % of one core | peak RSS VmHWM (MiB) | final RSS (MiB) |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        print(f"| {args.containers} | {args.poll} | {elapsed:.0f} | {cpu:.1f} | {100 * cpu / elapsed:.2f} | {hwm} | {rss} |")
    finally:
        cleanup(prefix)


def metric(port, name):
    """The _sum and _count of a summary or histogram on a process's /metrics."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith(name + "_sum") or line.startswith(name + "_count"):
            key, value = line.rsplit(" ", 1)
            values[key.split("{")[0][len(name) + 1:]] = values.get(key.split("{")[0][len(name) + 1:], 0) + float(value)
    return values.get("sum", 0.0), int(values.get("count", 0))


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hosts(args):
    engine_b = os.environ.get("DOCKER_HOST_B") or sys.exit("DOCKER_HOST_B: the second engine (HEMOSTAT_TEST_DOCKER_HOST_B)")
    engines = {"a": os.environ["DOCKER_HOST"], "b": engine_b}
    prefix = "hsbench-" + uuid.uuid4().hex[:6]
    ports = {h: free_port() for h in engines}
    processes = {}
    try:
        print(f"starting {args.containers} containers on each of 2 engines…", flush=True)
        for h, engine in engines.items():
            for i in range(args.containers):
                docker("run", "-d", "--name", f"{prefix}-{i:03d}", "--network", "none", "--label", "hemostat.test=1",
                       args.image, "sleep", "86400", host=engine)
        def started_at(engine):
            names = [f"{prefix}-{i:03d}" for i in range(args.containers)]
            return docker("inspect", "-f", "{{.Name}} {{.State.StartedAt}}", *names, host=engine).splitlines()
        before = {h: started_at(engine) for h, engine in engines.items()}
        since = time.time()
        for h, engine in engines.items():
            processes[h] = start_hemostat(prefix, {
                "DOCKER_HOST": engine, "HEMOSTAT_HOST_ID": f"{prefix}-{h}", "HEMOSTAT_DASHBOARD_PORT": str(ports[h]),
                "AGENT_POLL_INTERVAL": args.poll, "RESPONDER_COOLDOWN_SECONDS": "1s", "RESPONDER_MAX_RETRIES_PER_HOUR": "1000",
                "HEMOSTAT_RESPONDER_GLOBAL_MAX_ACTIONS_PER_HOUR": "10000", "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "2s",
                "HEMOSTAT_RESPONDER_STOP_TIMEOUT": "1s",
            }, f"/tmp/{prefix}-{h}.log", arguments=("run",))
        time.sleep(5)
        script = "if [ -e /tmp/failed ]; then exec sleep 3600; fi; touch /tmp/failed; sleep 2; exit 3"
        times = {h: [] for h in engines}
        for trial in range(args.trials * 2):
            h = "ab"[trial % 2]
            engine = engines[h]
            name = f"{prefix}-crash-{trial}"
            docker("run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1", args.image, "sh", "-c", script, host=engine)
            first_start = state(name, engine)["StartedAt"]
            deadline = time.time() + 120
            while time.time() < deadline:
                s = state(name, engine)
                if s["Running"] and s["StartedAt"] != first_start and not s["FinishedAt"].startswith("0001"):
                    seconds = parse_time(s["StartedAt"]) - parse_time(s["FinishedAt"])
                    times[h].append(seconds)
                    print(f"host {h} trial {trial // 2 + 1}: {seconds:.3f} s", flush=True)
                    break
                time.sleep(0.05)
            else:
                print(f"host {h} trial {trial // 2 + 1}: not running again within 120 s", flush=True)
            docker("rm", "-f", "-v", name, check=False, host=engine)
        remaining = since + args.minutes * 60 - time.time()
        if remaining > 0:
            time.sleep(remaining)
        cycles = {h: metric(ports[h], "hemostat_monitor_cycle_seconds") for h in engines}
        # A sleeping container that was acted on was started again (its StartedAt moved).
        touched = {h: sum(1 for a, b in zip(before[h], started_at(engine)) if a != b) for h, engine in engines.items()}
        for p in processes.values():
            stop(p)
        processes = {}
        print()
        print(f"machine: {machine()}")
        print(f"command: bench/e2e/bench.py hosts --containers {args.containers} --minutes {args.minutes} --poll {args.poll} --trials {args.trials}")
        print("| host | containers | monitor cycles | mean cycle (s) | fault to running: trials | median (s) | worst (s) | sleeping containers acted on |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for h in engines:
            total, count = cycles[h]
            mean = total / count if count else float("nan")
            t = times[h]
            median = f"{statistics.median(t):.2f}" if t else "-"
            worst = f"{max(t):.2f}" if t else "-"
            print(f"| {h} | {args.containers} | {count} | {mean:.3f} | {len(t)} | {median} | {worst} | {touched[h]} |")
    finally:
        for p in processes.values():
            stop(p)
        cleanup(prefix, hosts=list(engines.values()))


def redis_cli():
    url = os.environ["REDIS_URL"]
    return ["redis-cli", "-s", url[len("unix://"):]] if url.startswith("unix://") else ["redis-cli", "-u", url]


def stream_messages(stream):
    """(time in s from the entry id, message JSON) of every entry of a stream."""
    out = subprocess.run(redis_cli() + ["--raw", "XRANGE", stream, "-", "+"], capture_output=True, text=True).stdout
    # --raw prints the id, the field name and the message each on a line of its own.
    messages, current = [], None
    for line in out.splitlines():
        head, _, tail = line.partition("-")
        if head.isdigit() and tail.isdigit():
            current = int(head) / 1000
        elif line.startswith("{") and current is not None:
            messages.append((current, json.loads(line)))
    return messages


def loop(args):
    prefix = "hsbench-" + uuid.uuid4().hex[:6]
    log = f"/tmp/{prefix}-hemostat.log"
    process = start_hemostat(prefix, {}, log)
    rows = []
    try:
        time.sleep(3)  # the agents subscribe
        for trial in range(args.trials):
            name = f"{prefix}-loop-{trial}"
            docker("run", "-d", "--name", name, "--network", "none", "--restart", "no", "--label", "hemostat.test=1",
                   args.image, "sh", "-c", "sleep 2; exit 1")
            first_crash = None
            deadline = time.time() + args.minutes * 60
            while time.time() < deadline:
                s = state(name)
                if first_crash is None and not s["Running"] and not s["FinishedAt"].startswith("0001"):
                    first_crash = parse_time(s["FinishedAt"])
                time.sleep(1)
            def about(message):
                data = message.get("data", {})
                return data.get("container_name", data.get("container")) == name
            escalations = [(t, m) for t, m in stream_messages(prefix + ":escalation") if about(m)]
            done = [(t, m) for t, m in stream_messages(prefix + ":remediation_complete")
                    if about(m) and m["data"]["result"]["status"] in ("success", "ineffective", "failed")]
            first_escalation = escalations[0][0] - first_crash if escalations and first_crash else None
            last_action = done[-1][0] - first_crash if done and first_crash else None
            rows.append((len(done), len(escalations), first_escalation, last_action))
            print(f"trial {trial + 1}: {len(done)} restarts, {len(escalations)} escalations, "
                  f"first escalation {first_escalation if first_escalation is None else round(first_escalation, 1)} s, "
                  f"last restart's result {last_action if last_action is None else round(last_action, 1)} s after the first crash"
                  + ("".join(f"\n    escalation: {m['data'].get('reason', '')}" for _, m in escalations)), flush=True)
            docker("rm", "-f", "-v", name, check=False)
    finally:
        stop(process)
        cleanup(prefix)
    print()
    print(f"machine: {machine()}")
    print(f"command: bench/e2e/bench.py loop --trials {args.trials} --minutes {args.minutes}")
    print("| trial | restarts | escalations | first crash to escalation (s) | first crash to the last restart's result (s) |")
    print("|---:|---:|---:|---:|---:|")
    for i, (restarts, escalations, escalation, last) in enumerate(rows):
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        print(f"| {i + 1} | {restarts} | {escalations} | {fmt(escalation)} | {fmt(last)} |")


def main():
    global BINARY
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=os.environ.get("HEMOSTAT_TEST_IMAGE", "hemostat-test/busybox:latest"))
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fault")
    f.add_argument("--trials", type=int, default=10)
    f.add_argument("--kinds", default="crash,oom")
    w = sub.add_parser("watch")
    w.add_argument("--containers", type=int, default=50)
    w.add_argument("--minutes", type=float, default=10)
    w.add_argument("--poll", default="30s")
    m = sub.add_parser("hosts")
    m.add_argument("--containers", type=int, default=50)
    m.add_argument("--minutes", type=float, default=3)
    m.add_argument("--poll", default="30s")
    m.add_argument("--trials", type=int, default=5)
    l = sub.add_parser("loop")
    l.add_argument("--trials", type=int, default=3)
    l.add_argument("--minutes", type=float, default=6)
    parser.add_argument("--binary", default=BINARY, help="the hemostat binary (default: the release build)")
    args = parser.parse_args()
    BINARY = args.binary
    for name in ("DOCKER_HOST", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} is not set (see --help)")
    {"fault": fault, "watch": watch, "hosts": hosts, "loop": loop}[args.command](args)


if __name__ == "__main__":
    main()
