#!/usr/bin/env bash
# Engine-side baseline for the monitor's sampling: how long one-shot stats take for N sleeping
# busybox containers, one after another and all at once (curl over the engine's socket).
# Usage: bench/monitor/engine-stats.sh N   (needs DOCKER_HOST=unix:///path and HEMOSTAT_TEST_IMAGE)
set -euo pipefail
n=${1:-10}
sock=${DOCKER_HOST#unix://}
export DOCKER_API_VERSION=1.41
prefix="hsbench-$$"
t0=$(date +%s.%N)
for i in $(seq 1 "$n"); do docker run -d --network none --name "$prefix-$i" "$HEMOSTAT_TEST_IMAGE" sleep 3600 >/dev/null; done
t1=$(date +%s.%N)
trap 'docker rm -f $(docker ps -aq --filter name=$prefix-) >/dev/null 2>&1 || true' EXIT
ids=$(docker ps -q --filter "name=$prefix-")
one() { curl -s -o /dev/null --unix-socket "$sock" "http://d/v1.41/containers/$1/stats?stream=false&one-shot=true"; }
export -f one; export sock
s0=$(date +%s.%N); for id in $ids; do one "$id"; done; s1=$(date +%s.%N)
p0=$(date +%s.%N); echo "$ids" | xargs -P "$n" -I{} bash -c 'one {}'; p1=$(date +%s.%N)
printf 'containers=%d create_s=%.1f sequential_s=%.2f concurrent_s=%.2f\n' "$n" "$(echo "$t1-$t0" | bc)" "$(echo "$s1-$s0" | bc)" "$(echo "$p1-$p0" | bc)"
