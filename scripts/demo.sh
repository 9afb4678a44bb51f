#!/usr/bin/env bash
# The guided demo: a few sick containers, and HemoStat detecting, deciding and healing them,
# first in dry-run (nothing is changed) and then live, with every message printed as it happens.
#
#   scripts/demo.sh [--dry-run-seconds N] [--live-seconds N]
#
# Each phase runs until Enter is pressed (or for N seconds when given; without a terminal the
# defaults are 60 and 120 s). Ctrl-C at any time stops HemoStat and removes everything the
# demo started: its containers, its Redis, and the private Docker engine if it started one.
#
# Docker: DOCKER_HOST, else /var/run/docker.sock; when no engine answers there, a private one
# is started under /tmp (own socket, data root, exec root and pidfile; --bridge=none
# --iptables=false, overlay2 storage or vfs) and removed at the end. The containers run busybox
# with --network none, are named demo-*, and are labelled hemostat.demo=1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"

dry_seconds="" live_seconds=""
while (($#)); do
    case "$1" in
        --dry-run-seconds) dry_seconds=$2; shift 2 ;;
        --live-seconds) live_seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) hs_die "unknown argument: $1 (see --help)" ;;
    esac
done
if [[ ! -t 0 ]]; then dry_seconds=${dry_seconds:-60}; live_seconds=${live_seconds:-120}; fi

state=/tmp/hemostat-demo-$$
image=hemostat-demo/busybox:latest
pids=()
private_engine=""

cleanup() {
    trap - EXIT INT TERM
    echo
    hs_log "cleaning up…"
    # SIGTERM: a background job of a script ignores SIGINT.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    remove_containers
    hs_stop_pidfile "$state/redis/redis.pid"
    if [[ -n "$private_engine" ]]; then hs_stop_dockerd "$state/docker"; fi
    rm -rf "$state"
    hs_log "done: containers, Redis${private_engine:+ and the private Docker engine} removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

remove_containers() {
    docker ps -aq --filter label=hemostat.demo=1 2>/dev/null | xargs -r docker rm -f -v >/dev/null 2>&1 || true
}

# What is needed: the packages (Docker and busybox come with --test) and a release binary.
scripts/install-deps.sh --test
export PATH="/opt/swift/usr/bin:$PATH"
hs_log "building (release)…"
swift build -c release --product hemostat 2>&1 | tail -1
hemostat="$root/.build/release/hemostat"

mkdir -p "$state/redis" "$state/hemostat"
export DOCKER_API_VERSION=1.41

# Docker: the configured or local engine, else a private one.
engine=${DOCKER_HOST:-unix:///var/run/docker.sock}
if [[ "$engine" == unix://* ]] && curl -sf --unix-socket "${engine#unix://}" http://localhost/_ping >/dev/null 2>&1; then
    hs_log "using the Docker engine at $engine"
elif [[ "$engine" != unix://* ]] && docker -H "$engine" version >/dev/null 2>&1; then
    hs_log "using the Docker engine at $engine"
else
    hs_log "no Docker engine answers at $engine; starting a private one in $state/docker"
    private_engine=1
    hs_start_dockerd "$state/docker"
    engine="unix://$state/docker/docker.sock"
fi
export DOCKER_HOST=$engine
hs_busybox_image "$image"

# Redis: a private one on a unix socket, so the demo's messages are its own.
redis-server --port 0 --unixsocket "$state/redis/redis.sock" --unixsocketperm 700 --save '' --appendonly no \
    --dir "$state/redis" --pidfile "$state/redis/redis.pid" --logfile "$state/redis/redis.log" --daemonize yes
for _ in $(seq 50); do redis-cli -s "$state/redis/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.1; done

dashboard_port=$(hs_free_port)
export REDIS_URL="unix://$state/redis/redis.sock"
export HEMOSTAT_STATE_DIRECTORY="$state/hemostat"
export HEMOSTAT_RULES_DIRECTORY="$root/rules"
export HEMOSTAT_MONITOR_INCLUDE="demo-*"
export HEMOSTAT_DASHBOARD_PORT=$dashboard_port
export HEMOSTAT_LOG_LEVEL=${HEMOSTAT_LOG_LEVEL:-warning}
# Short intervals so the demo moves: poll every 2 s, 2 s grace on restart, verify for 10 s,
# 10 s cooldown, an open incident announced again after 15 s, the breaker opens after 2
# ineffective restarts, CPU above 40% for 3 samples counts.
export AGENT_POLL_INTERVAL=2s RESPONDER_COOLDOWN_SECONDS=10s RESPONDER_MAX_RETRIES_PER_HOUR=10
export HEMOSTAT_RESPONDER_STOP_TIMEOUT=2s HEMOSTAT_MONITOR_REMINDER_INTERVAL=15s
export HEMOSTAT_RESPONDER_VERIFICATION_WINDOW=10s HEMOSTAT_RESPONDER_BREAKER_FAILURE_THRESHOLD=2
export HEMOSTAT_ALERT_GROUPING_WINDOW=10s THRESHOLD_CPU_PERCENT=40
export HEMOSTAT_DASHBOARD_URL="http://127.0.0.1:$dashboard_port"

start_containers() {
    remove_containers
    local run=(docker run -d --network none --label hemostat.demo=1)
    "${run[@]}" --name demo-crash "$image" sh -c \
        'if [ -e /tmp/crashed ]; then exec sleep 3600; fi; touch /tmp/crashed; sleep 5; exit 3' >/dev/null
    "${run[@]}" --name demo-crashloop "$image" sh -c 'sleep 3; exit 1' >/dev/null
    "${run[@]}" --name demo-oom -m 16m --memory-swap 16m "$image" sh -c \
        'if [ -e /tmp/oom ]; then exec sleep 3600; fi; touch /tmp/oom; sleep 5; x=aaaaaaaaaaaaaaaa; while true; do x="$x$x"; done' >/dev/null
    "${run[@]}" --name demo-unhealthy --health-cmd 'test ! -e /tmp/sick' --health-interval 2s --health-retries 1 "$image" sh -c \
        'if [ -e /tmp/started ]; then rm -f /tmp/sick; else touch /tmp/started /tmp/sick; fi; exec sleep 3600' >/dev/null
    "${run[@]}" --name demo-cpuhog "$image" sh -c 'while :; do :; done' >/dev/null
    "${run[@]}" --name demo-healthy --health-cmd true --health-interval 2s "$image" sleep 3600 >/dev/null
    cat <<TEXT

  demo-crash       exits with code 3 after 5 s (a restart fixes it)
  demo-crashloop   exits with code 1 every 3 s (a restart does not help)
  demo-oom         OOM-killed under a 16 MiB limit after 5 s (once)
  demo-unhealthy   its health check fails until it is restarted
  demo-cpuhog      one CPU busy
  demo-healthy     fine; HemoStat should leave it alone

TEXT
}

follow_events() {
    python3 -u - "$state/redis/redis.sock" <<'PY' &
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$10\r\nhemostat:*\r\n")
f = sock.makefile("rb")
def read():
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"*": return [read() for _ in range(int(rest))]
    if kind == b"$":
        data = f.read(int(rest) + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b":": return int(rest)
    return rest.decode()
BOLD, DIM, RESET = "\033[1m", "\033[2m", "\033[0m"
COLORS = {"health_alert": "\033[33m", "remediation_needed": "\033[36m", "remediation_complete": "\033[32m",
          "escalation": "\033[31m", "false_alarm": "\033[35m", "container_recovered": "\033[32m", "dead_letter": "\033[31m"}
def line(m):
    t, d = m.get("event_type", "?"), m.get("data", {})
    c = d.get("container") or d.get("container_name") or "-"
    if t == "health_alert":
        kinds = ", ".join(a.get("type", "?") for a in d.get("anomalies", []))
        what = f"{d.get('status')} (exit {d.get('exit_code')}, health {d.get('health_status')}): {kinds}"
        if d.get("stopped_by_operator"): what += " [stopped by an operator]"
    elif t == "remediation_needed":
        what = f"decided: {d.get('action')} by rule {d.get('rule')} ({d.get('analysis_method')}, confidence {d.get('confidence')}): {d.get('reason')}"
    elif t == "remediation_complete":
        r = d.get("result", {})
        what = f"{'DRY RUN ' if d.get('dry_run') else ''}{d.get('action')} -> {r.get('status')}: {r.get('reason')}"
    elif t == "false_alarm":
        what = f"no action, rule {d.get('rule')}: {d.get('reason')}"
    elif t == "escalation":
        what = f"NEEDS A HUMAN ({d.get('severity')}): {d.get('reason')}"
    elif t == "container_recovered":
        what = f"recovered after {d.get('duration_seconds', 0):.0f} s ({', '.join(d.get('resolved_anomalies', []))})"
    else:
        what = d.get("reason", "")
    ts = m.get("timestamp", "")[11:19]
    return f"{DIM}{ts}{RESET} {COLORS.get(t, '')}{t:<21}{RESET} {BOLD}{c:<15}{RESET} {what}"
while True:
    try:
        reply = read()
    except Exception:
        break
    if not isinstance(reply, list) or not reply or reply[0] != "pmessage": continue
    try:
        print(line(json.loads(reply[3])), flush=True)
    except Exception:
        print(reply[3][:300], flush=True)
PY
    pids+=($!)
}

# Waits for Enter, or for N seconds when N is given.
wait_phase() {
    if [[ -n "$1" ]]; then sleep "$1"; else read -r _ || true; fi
}

run_phase() {
    local name=$1 title=$2 seconds=$3; shift 3
    hs_log "$title"
    start_containers
    "$hemostat" run "$@" 2>"$state/hemostat-$name.log" &
    local pid=$!
    pids+=("$pid")
    hs_log "dashboard: http://127.0.0.1:$dashboard_port  (hemostat log: $state/hemostat-$name.log)"
    if [[ -z "$seconds" ]]; then hs_log "press Enter to end this phase, Ctrl-C to stop the demo"; fi
    wait_phase "$seconds"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

follow_events
run_phase dry-run "phase 1: DRY RUN — HemoStat decides and reports, but changes nothing" "$dry_seconds" --dry-run
echo
"$hemostat" status --dry-run || true
echo
run_phase live "phase 2: LIVE — HemoStat heals what it can and calls a human for the rest" "$live_seconds"
echo
"$hemostat" status || true
