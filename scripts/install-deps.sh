#!/usr/bin/env bash
# Installs, idempotently, the Debian packages HemoStat needs to build, run and test.
# Usage: scripts/install-deps.sh [--test | --docker]
#   --test    adds what the test suite needs (Docker, busybox, Chromium, Playwright, …)
#   --docker  adds the Docker engine (for scripts/run.sh when no engine is running)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

packages=(libhiredis-dev liblua5.4-dev libcurl4-openssl-dev redis-server ca-certificates pkg-config)
case "${1:-}" in
    --test) packages+=(docker.io busybox-static openssl python3 python3-pip chromium lua5.4 systemd prometheus debootstrap docker-compose podman) ;;
    --docker) packages+=(docker.io) ;;
    "") ;;
    *) hs_die "unknown option: $1 (expected --test or --docker)" ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || hs_die "missing packages (${missing[*]}); run as root or install them with apt-get"
    hs_log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's browser test: Playwright from PyPI drives Debian's Chromium (its own browser
# download is never used).
if [[ "${1:-}" == "--test" ]] && ! python3 -c "import playwright.sync_api" 2>/dev/null; then
    hs_log "installing playwright (pip)"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check playwright >/dev/null
fi

# The Kubernetes manifests are validated offline against the API's schemas.
if [[ "${1:-}" == "--test" ]] && ! python3 -c "import kubernetes_validate" 2>/dev/null; then
    hs_log "installing kubernetes-validate (pip)"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate >/dev/null
fi

command -v swift >/dev/null || [[ -x /opt/swift/usr/bin/swift ]] || hs_die "no Swift toolchain found (expected swift on PATH or /opt/swift)"
