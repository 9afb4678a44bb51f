#!/usr/bin/env bash
# Starts and stops the private Redis and Docker engine the integration tests talk to.
#
#   scripts/test-env.sh start   start Redis and two engines (idempotent), build the busybox test image,
#                               and write the environment file
#   scripts/test-env.sh stop    stop them and remove their state
#   scripts/test-env.sh env     print the environment file (source it to use the services)
#
# Each private dockerd has its own socket, data root, exec root and pidfile, and runs with
# --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs, so tests never touch
# another engine's containers. Redis listens on a unix socket and a free loopback port, with no
# persistence.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

state=$(hs_state_dir)
envfile="$state/test.env"
image="hemostat-test/busybox:latest"

start_redis() {
    local dir="$state/redis"
    if [[ -f "$dir/redis.pid" ]] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        return
    fi
    mkdir -p "$dir"
    local port; port=$(hs_free_port)
    redis-server --bind 127.0.0.1 --port "$port" --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$dir" --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --daemonize yes
    for _ in $(seq 50); do
        redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -s "$dir/redis.sock" ping >/dev/null || hs_die "redis-server did not start; see $dir/redis.log"
    echo "$port" > "$dir/port"
}

# Two engines: "docker" for every test, and "docker-b", a second Docker host for the tests of
# several hosts.
engines=(docker docker-b)

start_docker() {
    for engine in "${engines[@]}"; do hs_start_dockerd "$state/$engine"; done
}

build_image() {
    for engine in "${engines[@]}"; do
        (export DOCKER_HOST="unix://$state/$engine/docker.sock" DOCKER_API_VERSION=1.41; hs_busybox_image "$image")
    done
}

write_env() {
    cat > "$envfile" <<ENV
export HEMOSTAT_TEST_REDIS_URL=unix://$state/redis/redis.sock
export HEMOSTAT_TEST_REDIS_PORT=$(cat "$state/redis/port")
export HEMOSTAT_TEST_DOCKER_HOST=unix://$state/docker/docker.sock
export HEMOSTAT_TEST_DOCKER_HOST_B=unix://$state/docker-b/docker.sock
export HEMOSTAT_TEST_IMAGE=$image
export HEMOSTAT_TEST_STATE=$state
ENV
}

stop_all() {
    for engine in "${engines[@]}"; do hs_stop_dockerd "$state/$engine"; done
    hs_stop_pidfile "$state/redis/redis.pid"
    # vfs layers and container state are large; keep nothing between runs.
    rm -rf "$state"
}

case "${1:-}" in
    start)
        mkdir -p "$state"
        start_redis
        start_docker
        build_image
        write_env
        hs_log "test services up; environment in $envfile"
        ;;
    stop) stop_all ;;
    env) cat "$envfile" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
