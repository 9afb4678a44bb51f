#!/usr/bin/env bash
# The test command: installs what the tests need, starts a private Redis and Docker engine,
# runs the whole suite (unit and integration) against them, and stops them again.
# Extra arguments go to `swift test` (e.g. scripts/test.sh --filter Redis).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"

scripts/install-deps.sh --test
export PATH="/opt/swift/usr/bin:$PATH"

trap 'scripts/test-env.sh stop' EXIT
scripts/test-env.sh start
source "$(hs_state_dir)/test.env"

swift build --build-tests

# HemoStat's image, from deploy/Dockerfile, on the private engine (scripts/image.sh makes the
# base images it names first), for the image and compose tests. HEMOSTAT_TEST_IMAGES=0 skips it
# (and those tests). On vfs storage the build copies the Swift toolchain's layer at every step
# (about 35 GB in all), so it is skipped, and said, when the disk has less than that free.
if [[ "${HEMOSTAT_TEST_IMAGES:-1}" != 0 ]]; then
    storage=$(DOCKER_HOST="$HEMOSTAT_TEST_DOCKER_HOST" hs_docker_storage)
    free_gb=$(df --output=avail -BG "$(hs_state_dir)" | tail -1 | tr -dc 0-9)
    if [[ "$storage" == vfs && "$free_gb" -lt 40 ]]; then
        hs_log "image and compose tests skipped: the test engine stores layers with vfs and ${free_gb} GB are free, the image build needs about 35 GB there"
    else
        DOCKER_HOST="$HEMOSTAT_TEST_DOCKER_HOST" scripts/image.sh --tag hemostat:test --redis-image
        export HEMOSTAT_TEST_APP_IMAGE=hemostat:test
    fi
fi

swift test --skip-build "$@"
