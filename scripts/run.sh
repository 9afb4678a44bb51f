#!/usr/bin/env bash
# The run command: installs what HemoStat needs, builds it (release), and runs every agent and
# the dashboard in one process. Arguments go to `hemostat run` (e.g. scripts/run.sh --dry-run).
#
# Redis comes from REDIS_URL (or REDIS_HOST/REDIS_PORT), else localhost:6379; when nothing
# answers there HemoStat starts a private redis-server of its own and stops it on exit.
# Docker comes from DOCKER_HOST, else unix:///var/run/docker.sock. When DOCKER_HOST is not set
# and no engine answers on that socket, this script starts an engine of HemoStat's own
# (/var/lib/hemostat/docker, socket /var/lib/hemostat/docker/docker.sock) so that HemoStat has
# something to watch, says so, and stops it when HemoStat stops.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"

scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"

hs_log "building (release)…"
swift build -c release --product hemostat
binary="$root/.build/release/hemostat"

private_engine=""
if [[ -z "${DOCKER_HOST:-}" ]] && ! curl -sf --max-time 3 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; then
    command -v dockerd >/dev/null || scripts/install-deps.sh --docker
    private_engine=/var/lib/hemostat/docker
    hs_log "no Docker engine answers on /var/run/docker.sock; starting one for HemoStat under $private_engine"
    hs_start_dockerd "$private_engine"
    export DOCKER_HOST="unix://$private_engine/docker.sock"
    hs_log "run containers for HemoStat to watch with: DOCKER_HOST=$DOCKER_HOST DOCKER_API_VERSION=1.41 docker run …"
fi

if [[ -z "$private_engine" ]]; then
    exec "$binary" run "$@"
fi

# With an engine of our own: run HemoStat as a child, pass Ctrl-C / SIGTERM on, then stop the
# engine (its data root stays for next time). The child runs in a session of its own, so a
# Ctrl-C or a signal to this script's process group reaches it once, through the trap: a
# second signal would make it exit at once instead of finishing its work.
setsid "$binary" run "$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null || true' INT TERM
status=0
wait "$child" || status=$?
while kill -0 "$child" 2>/dev/null; do wait "$child" || status=$?; done
hs_log "stopping the Docker engine started for HemoStat"
hs_stop_pidfile "$private_engine/docker.pid"
exit "$status"
