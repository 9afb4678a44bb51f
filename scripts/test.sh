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
# (and those tests).
if [[ "${HEMOSTAT_TEST_IMAGES:-1}" != 0 ]]; then
    DOCKER_HOST="$HEMOSTAT_TEST_DOCKER_HOST" scripts/image.sh --tag hemostat:test --redis-image
    export HEMOSTAT_TEST_APP_IMAGE=hemostat:test
fi

swift test --skip-build "$@"
