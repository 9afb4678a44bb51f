#!/usr/bin/env bash
# Builds HemoStat's image from deploy/Dockerfile on the engine in DOCKER_HOST, on a machine
# with no image registry: the two base images the Dockerfile names are made here first.
#
#   scripts/image.sh [--tag hemostat:latest] [--with-redis] [--redis-image]
#
# - debian:bookworm-slim: a minimal bookworm rootfs from Debian's debootstrap, from the mirror
#   apt uses, imported with `docker import`;
# - swift:6.3-bookworm: a bookworm rootfs with the Swift toolchain's system packages, the
#   toolchain of this machine (/opt/swift) and its Swift package mirror (/opt/swift-packages,
#   which git reads every github.com address from, as it does on this machine).
#
# With --redis-image it also makes redis:7.0-bookworm, the Redis that deploy/compose.yaml names
# (Debian's redis-server on the same slim base), unless the engine has it.
#
# The rootfs trees are cached in $HEMOSTAT_IMAGE_CACHE (default /var/cache/hemostat-image), so a
# second build skips debootstrap; an image already on the engine is not made again. Then
# `docker build --network host -f deploy/Dockerfile .` builds the Dockerfile unchanged
# (--network host: the build's apt-get reaches the mirror through the host).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"

tag=hemostat:latest
with_redis=false
redis_image=false
while (($#)); do
    case "$1" in
        --tag) tag=$2; shift 2 ;;
        --with-redis) with_redis=true; shift ;;
        --redis-image) redis_image=true; shift ;;
        *) hs_die "unknown option: $1 (expected --tag NAME, --with-redis or --redis-image)" ;;
    esac
done
[[ -n "${DOCKER_HOST:-}" ]] || hs_die "DOCKER_HOST is not set: the engine to build on"
export DOCKER_API_VERSION=1.41 DOCKER_BUILDKIT=0
command -v debootstrap >/dev/null || hs_die "debootstrap is not installed (apt-get install debootstrap)"

cache=${HEMOSTAT_IMAGE_CACHE:-/var/cache/hemostat-image}
mkdir -p "$cache"
swift_root=${HEMOSTAT_SWIFT_ROOT:-/opt/swift}
packages=${HEMOSTAT_SWIFT_PACKAGES:-/opt/swift-packages}

# The first Debian mirror apt is configured with.
mirror() {
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
    [[ -n "$uri" ]] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

# rootfs NAME [PACKAGE,...]: a bookworm tree in the cache (made once).
rootfs() {
    local name=$1 include=${2:-}
    local dir="$cache/$name"
    if [[ ! -f "$dir/.complete" ]]; then
        rm -rf "$dir"
        hs_log "debootstrap $name from $(mirror)"
        debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$(mirror)" >"$cache/$name.log" 2>&1 \
            || hs_die "debootstrap failed; see $cache/$name.log"
        rm -rf "$dir/var/lib/apt/lists/"* "$dir/var/cache/apt/archives/"*.deb
        touch "$dir/.complete"
    fi
    echo "$dir"
}

# import DIR IMAGE [--change ...]: the tree as an image.
import() {
    local dir=$1 image=$2; shift 2
    hs_log "docker import $image"
    tar --exclude=./.complete --exclude=./.toolchain -C "$dir" -c . | docker import "$@" - "$image" >/dev/null
}

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    import "$(rootfs bookworm-minbase)" debian:bookworm-slim --change 'CMD ["bash"]'
fi

if ! docker image inspect swift:6.3-bookworm >/dev/null 2>&1; then
    # What the official swift images install besides the toolchain.
    deps=binutils,ca-certificates,git,gnupg2,libc6-dev,libcurl4-openssl-dev,libedit2,libgcc-12-dev,libncurses6,libpython3-dev,libsqlite3-0,libstdc++-12-dev,libxml2-dev,libz3-dev,pkg-config,tzdata,unzip,zlib1g-dev
    dir=$(rootfs bookworm-swift "$deps")
    if [[ ! -f "$dir/.toolchain" ]]; then
        hs_log "copying the toolchain ($swift_root) and the package mirror ($packages) into the Swift base"
        mkdir -p "$dir/opt"
        cp -a "$swift_root" "$dir/opt/swift"
        if [[ -d "$packages" ]]; then
            cp -a "$packages" "$dir/opt/swift-packages"
            printf '[url "/opt/swift-packages/"]\n\tinsteadOf = https://github.com/\n' > "$dir/etc/gitconfig"
        fi
        touch "$dir/.toolchain"
    fi
    import "$dir" swift:6.3-bookworm --change 'ENV PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]'
fi

if [[ "$redis_image" == true ]] && ! docker image inspect redis:7.0-bookworm >/dev/null 2>&1; then
    hs_log "docker build redis:7.0-bookworm (Debian's redis-server)"
    docker build --network host -t redis:7.0-bookworm - >/dev/null <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
DOCKERFILE
fi

hs_log "docker build $tag"
docker build --network host -f deploy/Dockerfile --build-arg WITH_REDIS="$with_redis" -t "$tag" .
hs_log "built $tag"
