#!/usr/bin/env bash
# tests/test_edge_storm.sh EDGE_RUN STORM_TEST_PY [ARGS...] - the edge's storm control and
# shared session tickets (tests/edge/storm_test.py; ARGS: --sizing N for the sizing figures
# of docs/edge.md) in a network namespace of its own ("edge-s-PID": loopback only, nothing
# reaches the host's network), removed on any exit. GLIBC_TUNABLES as in test_edge.sh.
set -euo pipefail
edge_run=$1
py=$2
shift 2
ns="edge-s-$$"

cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 \
	ip netns exec "$ns" python3 "$py" "$edge_run" "$@"
