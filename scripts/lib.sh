# Shared helpers for HemoStat's scripts. Source it; it defines functions and sets nothing else.

hs_log() { printf '\033[1m[hemostat]\033[0m %s\n' "$*" >&2; }
hs_die() { printf '\033[1;31m[hemostat] error:\033[0m %s\n' "$*" >&2; exit 1; }

# The repository root, wherever the script was called from.
hs_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# A short per-checkout directory under /tmp for sockets (unix socket paths are limited to 107
# bytes, and a deep checkout path would exceed it).
hs_state_dir() {
    local root; root=$(hs_root)
    printf '/tmp/hemostat-%s' "$(printf '%s' "$root" | md5sum | cut -c1-10)"
}

# A TCP port nobody listens on right now.
hs_free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Starts a private dockerd with its state under DIR (socket DIR/docker.sock, data root, exec root,
# pidfile, log), isolated from any other engine: no bridge, no iptables. Storage is overlay2 where
# the kernel mounts it there (image layers are differences, a few GB for HemoStat's image build),
# otherwise vfs (every layer a full copy, tens of GB for that build); HEMOSTAT_DOCKER_STORAGE
# chooses one. Returns at once when one is already running there; dies when it does not answer
# within 30 s.
hs_start_dockerd() {
    local dir=$1 driver
    if [[ -f "$dir/docker.pid" ]] && kill -0 "$(cat "$dir/docker.pid")" 2>/dev/null; then
        return
    fi
    for driver in ${HEMOSTAT_DOCKER_STORAGE:-overlay2 vfs}; do
        hs_launch_dockerd "$dir" "$driver" && return
        hs_log "dockerd did not start with $driver storage; see $dir/dockerd.$driver.log"
        hs_unmount_under "$dir"
        rm -rf "$dir/data" "$dir/exec"
    done
    hs_die "dockerd did not start under $dir"
}

# hs_launch_dockerd DIR DRIVER: true once it answers, false when it exits or is silent for 30 s.
hs_launch_dockerd() {
    local dir=$1 driver=$2 pid
    mkdir -p "$dir/data" "$dir/exec"
    rm -f "$dir/docker.sock"
    setsid dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$driver" \
        -H "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" >"$dir/dockerd.$driver.log" 2>&1 < /dev/null &
    pid=$!
    ln -sf "dockerd.$driver.log" "$dir/dockerd.log"
    for _ in $(seq 150); do
        curl -sf --unix-socket "$dir/docker.sock" http://localhost/_ping >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    return 1
}

# The storage driver of the engine at DOCKER_HOST.
hs_docker_storage() {
    DOCKER_API_VERSION=1.41 docker info --format '{{.Driver}}' 2>/dev/null
}

# Stops the private dockerd under DIR (started by hs_start_dockerd) after removing its
# containers, unmounts what it left and removes DIR.
hs_stop_dockerd() {
    local dir=$1
    hs_remove_containers "$dir/docker.sock"
    hs_stop_pidfile "$dir/docker.pid"
    if [[ -d "$dir/exec" ]]; then hs_unmount_under "$dir"; fi
    rm -rf "$dir"
}

# hs_remove_containers SOCKET: force-removes every container of the engine (Docker or Podman)
# answering on SOCKET, if it is there.
hs_remove_containers() {
    local socket=$1
    [[ -S "$socket" ]] || return 0
    DOCKER_HOST="unix://$socket" DOCKER_API_VERSION=1.41 docker ps -aq 2>/dev/null \
        | xargs -r env DOCKER_HOST="unix://$socket" DOCKER_API_VERSION=1.41 docker rm -f >/dev/null 2>&1 || true
}

# hs_unmount_under DIR: lazily unmounts whatever an engine left mounted below DIR, deepest first.
hs_unmount_under() {
    grep -o "$1/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# Stops the process whose id is in PIDFILE: SIGTERM, then SIGKILL after 10 s.
hs_stop_pidfile() {
    local pidfile=$1
    [[ -f "$pidfile" ]] || return 0
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

# Builds IMAGE (busybox with every applet under /bin, no network needed) with `docker import`
# on the engine in DOCKER_HOST, unless it exists.
hs_busybox_image() {
    local image=$1
    if docker image inspect "$image" >/dev/null 2>&1; then return; fi
    local busybox; busybox=$(command -v busybox || echo /bin/busybox)
    [[ -x "$busybox" ]] || hs_die "busybox is not installed (apt-get install busybox-static)"
    local rootfs; rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$busybox" --list); do
        [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
    done
    tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$image" >/dev/null
    rm -rf "$rootfs"
}
