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

Both need DOCKER_HOST and REDIS_URL (the test services: `scripts/test-env.sh start`, then
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


def docker(*args, check=True):
    env = dict(os.environ, DOCKER_API_VERSION="1.41")
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


def state(name):
    return json.loads(docker("inspect", "-f", "{{json .State}}", name))


def start_hemostat(prefix, environment, log_path):
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
    return subprocess.Popen([binary, "run", "--no-dashboard"], cwd=ROOT, env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cleanup(prefix):
    ids = docker("ps", "-aq", "--filter", f"name=^{prefix}-", check=False).split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
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
                deadline = time.time() + 120
                fault_at = None
                while time.time() < deadline:
                    s = state(name)
                    if fault_at is None and s["Status"] == "exited":
                        fault_at = parse_time(s["FinishedAt"])
                        first_start = s["StartedAt"]
                        if kind == "oom" and not s.get("OOMKilled"):
                            print(f"{kind} trial {trial + 1}: exited without OOMKilled (exit {s['ExitCode']})", flush=True)
                    if fault_at is not None and s["Running"] and s["StartedAt"] != first_start:
                        seconds = parse_time(s["StartedAt"]) - fault_at
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
    parser.add_argument("--binary", default=BINARY, help="the hemostat binary (default: the release build)")
    args = parser.parse_args()
    BINARY = args.binary
    for name in ("DOCKER_HOST", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} is not set (see --help)")
    fault(args) if args.command == "fault" else watch(args)


if __name__ == "__main__":
    main()
