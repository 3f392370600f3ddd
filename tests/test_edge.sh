#!/usr/bin/env bash
# tests/test_edge.sh EDGE_RUN EDGE_TEST_PY - the TLS/TCP edge end to end
# (tests/edge/edge_test.py) in a network namespace of its own ("edge-PID": loopback only,
# nothing reaches the host's network), removed on any exit. GLIBC_TUNABLES leaves glibc
# room to load jemalloc at run time (docs/edge.md), so the edge's arena is checked too.
set -euo pipefail
edge_run=$1
py=$2
ns="edge-$$"

cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 \
	ip netns exec "$ns" python3 "$py" "$edge_run"
