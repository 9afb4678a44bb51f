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
swift test --skip-build "$@"
