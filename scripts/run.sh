#!/usr/bin/env bash
# The run command: installs what HemoStat needs, builds it (release), and runs every agent and
# the dashboard in one process against the local Docker engine. Arguments go to `hemostat run`
# (e.g. scripts/run.sh --dry-run).
#
# Redis comes from REDIS_URL (or REDIS_HOST/REDIS_PORT), else localhost:6379; when nothing
# answers there HemoStat starts a private redis-server of its own and stops it on exit.
# Docker comes from DOCKER_HOST, else unix:///var/run/docker.sock.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"

scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"

hs_log "building (release)…"
swift build -c release --product hemostat
exec "$root/.build/release/hemostat" run "$@"
