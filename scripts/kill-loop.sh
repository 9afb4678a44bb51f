#!/usr/bin/env bash
# Runs the end-to-end tests that kill agents mid-stream N times in a row (default 20) and
# prints one line per run, then the tally. Not part of CI: it takes about 4 minutes a run.
#
#   scripts/kill-loop.sh [RUNS] [FILTER]
#
# FILTER defaults to both suites: "End to end: a killed agent" and "a responder killed
# during an action". Each run's output is kept in $(hs_state_dir)/kill-loop/run-N.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$(hs_root)
cd "$root"
runs=${1:-20}
filter=${2:-"RestartTests|ActionDeathTests"}

scripts/install-deps.sh --test
export PATH="/opt/swift/usr/bin:$PATH"
trap 'scripts/test-env.sh stop' EXIT
scripts/test-env.sh start
source "$(hs_state_dir)/test.env"
swift build --build-tests

logs="$(hs_state_dir)/kill-loop"
mkdir -p "$logs"
passed=0
failed=0
for run in $(seq "$runs"); do
    started=$(date +%s)
    if swift test --skip-build --filter "$filter" >"$logs/run-$run.log" 2>&1; then
        passed=$((passed + 1)); verdict=passed
    else
        failed=$((failed + 1)); verdict=FAILED
    fi
    printf 'run %d: %s in %d s (%s)\n' "$run" "$verdict" $(( $(date +%s) - started )) "$logs/run-$run.log"
done
echo "kill-loop: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
