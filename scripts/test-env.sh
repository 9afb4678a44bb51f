#!/usr/bin/env bash
# Starts and stops the private Redis and Docker engine the integration tests talk to.
#
#   scripts/test-env.sh start   start Redis, two engines and Podman's API service (idempotent), build
#                               the busybox test image, and write the environment file
#   scripts/test-env.sh stop    stop them and remove their state
#   scripts/test-env.sh env     print the environment file (source it to use the services)
#
# Each private dockerd has its own socket, data root, exec root and pidfile, and runs with
# --iptables=false --ip6tables=false --bridge=none and overlay2 storage (vfs where overlay2 does
# not mount), so tests never touch another engine's containers. Redis listens on a unix socket and a free loopback port, with no
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

# Podman's Docker-compatible API service, with a root, run root, storage and configuration of
# its own (runc, cgroupfs, vfs, no default ulimits), on a socket of its own.
start_podman() {
    local dir="$state/podman"
    if [[ -f "$dir/podman.pid" ]] && kill -0 "$(cat "$dir/podman.pid")" 2>/dev/null; then
        return
    fi
    command -v podman >/dev/null || { hs_log "podman is not installed: no Podman tests"; return; }
    mkdir -p "$dir/root" "$dir/runroot"
    printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\nevents_logger = "file"\n' > "$dir/containers.conf"
    printf '[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s"\n' "$dir/runroot" "$dir/root" > "$dir/storage.conf"
    CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf" setsid podman \
        --root "$dir/root" --runroot "$dir/runroot" --storage-driver vfs --runtime runc --cgroup-manager cgroupfs \
        system service --time 0 "unix://$dir/podman.sock" >"$dir/podman.log" 2>&1 < /dev/null &
    echo $! > "$dir/podman.pid"
    for _ in $(seq 100); do
        curl -sf --unix-socket "$dir/podman.sock" http://localhost/_ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf --unix-socket "$dir/podman.sock" http://localhost/_ping >/dev/null || hs_die "podman system service did not start; see $dir/podman.log"
    (export DOCKER_HOST="unix://$dir/podman.sock" DOCKER_API_VERSION=1.41; hs_busybox_image "$image")
}

stop_podman() {
    local dir="$state/podman"
    [[ -S "$dir/podman.sock" ]] || return 0
    hs_remove_containers "$dir/podman.sock"
    hs_stop_pidfile "$dir/podman.pid"
    hs_unmount_under "$dir"
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
    if [[ -S "$state/podman/podman.sock" ]]; then
        echo "export HEMOSTAT_TEST_PODMAN_HOST=unix://$state/podman/podman.sock" >> "$envfile"
    fi
}

stop_all() {
    stop_podman
    for engine in "${engines[@]}"; do hs_stop_dockerd "$state/$engine"; done
    hs_stop_pidfile "$state/redis/redis.pid"
    # Image layers and container state are large; keep nothing between runs.
    rm -rf "$state"
}

case "${1:-}" in
    start)
        mkdir -p "$state"
        start_redis
        start_docker
        build_image
        start_podman
        write_env
        hs_log "test services up; environment in $envfile"
        ;;
    stop) stop_all ;;
    env) cat "$envfile" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
