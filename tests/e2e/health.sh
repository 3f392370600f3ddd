#!/usr/bin/env bash
# tests/e2e/health.sh - SIP OPTIONS health checks end to end: a backend dies and returns
# during a run of real calls through siphon (l2dsr, IPv4).
#
#   health.sh [SIPHON_BIN [SIPHONCTL_BIN]]
#
# Same network as run.sh (README.md has the picture): a bridge, a client with a sipp
# UAC, three backends b1..b3 each with a sipp UAS bound to the VIP on lo, and siphon on
# net_af_packet. The namespace building, the cleanup trap and the helpers are copied
# from run.sh in reduced form (IPv4 and l2dsr only, no injection) rather than sourced,
# so run.sh stays one self-contained script. Two additions:
#   - each backend also runs options_responder.py on its own address (10.99.0.1x:5060),
#     standing in for a proxy's answer to OPTIONS; the UAS is bound to the VIP and never
#     sees the probes. Killing a backend kills both.
#   - the probes go through siphon's own port, over the exception path
#     (docs/dataplane.md): the port has `exception = "sph0";`, so the daemon gives the
#     kernel of its namespace the port address 10.99.0.2/24 on the TUN interface sph0,
#     and its health checker binds its kernel UDP socket to that address. A probe goes
#     socket -> sph0 -> net_tun -> main lcore -> the DPDK port (net_af_packet on eth0)
#     -> the backend; the reply (the backends reach 10.99.0.2 on-link, siphon answers
#     ARP for it) -> a worker -> the exception ring -> sph0 -> the socket. The veth
#     AF_PACKET is attached to has no kernel address, and the kernel is kept off it
#     (arp_ignore 8, strict rp_filter): there is no other way out of the namespace.
#     Checked: siphon does not say it falls back to the kernel's choice of the source
#     address, and its exception_tx / exception_rx counters cover every answered probe
#     with no exception path loss.
#
# Timeline (health defaults: interval 1 s, timeout 1 s, fall 3, rise 2): all three
# healthy; the UAC places CALLS calls at RATE/s; after KILL_AT s b2's UAS and responder
# are killed; siphon must report b2 down within interval x fall + timeout + SLACK s (the
# last answered probe may be sent just before the death, and the fall-th failure is
# known one timeout after its send: 3 x 1 s + 1 s with the defaults); siphon's
# INVITE counter of b2 must stand still for 4 s while b1's and b3's grow; b2 restarts
# and must be up within interval x rise + SLACK + 1 s (its responder's start-up) and
# receive new calls. Afterwards the
# UAS traces are judged by health_traces.py against each Call-ID's home backend (asked
# from siphon with all three up): calls of b1's and b3's keys all whole at their home
# (0 failures there), the UAC's failures no more than the broken calls of b2's keys
# (those in flight on b2 when it died, or moved back when it returned; reported).
#
# Environment: CALLS (900), RATE (30), KILL_AT (5), SLACK (1 s), E2E_DEADLINE (150 s),
# E2E_LOGS (a new or empty directory to keep the logs; default kept only on failure).
# Needs root, /dev/net/tun, ip, sipp, python3, timeout, ss. Output ends with
# "e2e health: PASS" or "... FAIL (reasons)"; exit 0 on pass.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
siphon=${1:-$root/build/dataplane/siphon}
siphonctl=${2:-$(dirname "$siphon")/../ctl/siphonctl}
calls=${CALLS:-900}
rate=${RATE:-30}
kill_at=${KILL_AT:-5}
slack=${SLACK:-1}
deadline=${E2E_DEADLINE:-150}
proc_timeout=$((deadline - 10))
interval_s=1 timeout_s=1 fall=3 rise=2 # the health block written below

[ "$(id -u)" -eq 0 ] || { echo "health.sh: needs root (namespaces)" >&2; exit 2; }
for tool in ip sipp python3 timeout ss; do
	command -v "$tool" >/dev/null || { echo "health.sh: $tool not found" >&2; exit 2; }
done
[ -c /dev/net/tun ] || { echo "health.sh: no /dev/net/tun (the exception path needs it)" >&2; exit 2; }
[ -x "$siphon" ] && [ -x "$siphonctl" ] ||
	{ echo "health.sh: $siphon or $siphonctl not found (build first)" >&2; exit 2; }

declare -A ip4=([cli]=10.99.0.1 [lb]=10.99.0.2 [b1]=10.99.0.11 [b2]=10.99.0.12 [b3]=10.99.0.13)
declare -A mac=([cli]=02:99:00:00:00:01 [lb]=02:99:00:00:00:02 [b1]=02:99:00:00:00:11
	[b2]=02:99:00:00:00:12 [b3]=02:99:00:00:00:13)
vip=10.99.0.100
backends=(b1 b2 b3)
PREFIX="sph$$"
ns() { echo "$PREFIX-$1"; }
name="e2e health"

logs=${E2E_LOGS:-$(mktemp -d /tmp/siphon-e2e-health.XXXXXX)}
mkdir -p "$logs"
[ -z "$(ls -A "$logs")" ] || { echo "health.sh: E2E_LOGS=$logs is not empty" >&2; exit 2; }
keep_logs=${E2E_LOGS:+1}
sock=$logs/siphon.sock

# ---- cleanup (as run.sh): always runs ----
pids=()
namespaces=()
watchdog=
result=1
verdict=0
failures=()
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	local i
	for i in $(seq 20); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for n in "${namespaces[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "/var/run/dpdk/$PREFIX"
	[ "$verdict" -eq 1 ] || echo "$name: FAIL (${failures[*]:-stopped before the checks})"
	if [ "$result" -eq 0 ] && [ -z "$keep_logs" ]; then
		rm -rf "$logs"
	else
		echo "logs: $logs"
	fi
	[ "$rc" -eq 0 ] && [ "$result" -ne 0 ] && rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "$name: interrupted" >&2; exit 130' INT
trap 'echo "$name: terminated" >&2; exit 143' TERM
main_pid=$$
(
	for _ in $(seq "$deadline"); do
		sleep 1
		kill -0 "$main_pid" 2>/dev/null || exit 0
	done
	echo "$name: deadline of $deadline s reached" >&2
	kill -TERM "$main_pid"
) &
watchdog=$!

spawn() { # node logfile signal cmd...
	local node=$1 log=$2 sig=$3
	shift 3
	ip netns exec "$(ns "$node")" timeout -s "$sig" -k 5 "$proc_timeout" "$@" >"$log" 2>&1 &
	pids+=($!)
}
wait_for() { # pid seconds
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then return 124; fi
	local rc=0
	wait "$1" || rc=$?
	return "$rc"
}
fail() {
	failures+=("$1")
	echo "FAIL: $1"
}
ctl() { ip netns exec "$(ns lb)" timeout 10 "$siphonctl" --socket "$sock" "$@"; }

# ---- topology (run.sh's, IPv4 only) ----
echo "== $name: namespaces $PREFIX-{sw,cli,lb,b1,b2,b3}, logs in $logs"
for node in sw cli lb "${backends[@]}"; do
	ip netns add "$(ns "$node")"
	namespaces+=("$(ns "$node")")
	ip -n "$(ns "$node")" link set lo up
done
sw=$(ns sw)
ip -n "$sw" link add br0 type bridge mcast_snooping 0
for k in arptables iptables ip6tables; do
	f=/proc/sys/net/bridge/bridge-nf-call-$k
	ip netns exec "$sw" sh -c "[ ! -e $f ] || echo 0 > $f"
done
ip -n "$sw" link set br0 up
for node in cli lb "${backends[@]}"; do
	n=$(ns "$node")
	ip -n "$sw" link add "p-$node" type veth peer name eth0 netns "$n"
	ip -n "$sw" link set "p-$node" master br0 up
	ip -n "$n" link set eth0 address "${mac[$node]}"
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
cli=$(ns cli)
ip -n "$cli" link set eth0 up
ip -n "$cli" addr add "${ip4[cli]}/24" dev eth0
ip netns exec "$cli" python3 "$here/txcsum_off.py" eth0
# siphon's namespace: eth0 only up, for AF_PACKET, with no kernel address; the kernel
# answers no ARP on it (arp_ignore 8) and takes no datagram from it (strict rp_filter:
# the way back to the segment is sph0), so the probes' replies reach the kernel only
# through siphon's exception path. sph0 and its address come with the daemon.
lb=$(ns lb)
ip netns exec "$lb" sysctl -qw net.ipv4.conf.eth0.arp_ignore=8 net.ipv4.conf.eth0.rp_filter=1
ip -n "$lb" link set eth0 up
for b in "${backends[@]}"; do
	n=$(ns "$b")
	ip netns exec "$n" sysctl -qw \
		net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
	ip -n "$n" link set eth0 up
	ip -n "$n" addr add "${ip4[$b]}/24" dev eth0
	ip -n "$n" addr add "$vip/32" dev lo
	# The responder's answers to the probes end in the kernel behind sph0, which checks
	# the UDP checksum that veth offload would leave unfilled (txcsum_off.py says why).
	ip netns exec "$n" python3 "$here/txcsum_off.py" eth0
done

# ---- backends: UAS on the VIP, OPTIONS responder on the backend's address ----
sipp_common=(-t u1 -nostdin -buff_size 4194304 -trace_err -trace_screen -trace_msg)
declare -A uas_pid=() resp_pid=()
start_backend() { # start_backend NODE TRACE-NAME
	local b=$1 t=$2
	spawn "$b" "$logs/$t.out" INT \
		sipp -sf "$here/uas.xml" -i "$vip" -p 5060 "${sipp_common[@]}" \
		-message_file "$logs/$t.msg" -error_file "$logs/$t.err" -screen_file "$logs/$t.screen"
	uas_pid[$b]=${pids[-1]}
	spawn "$b" "$logs/$t.responder.log" TERM \
		python3 "$here/options_responder.py" --addr "${ip4[$b]}" --port 5060 \
		--seconds "$proc_timeout"
	resp_pid[$b]=${pids[-1]}
}
for b in "${backends[@]}"; do start_backend "$b" "$b"; done

# ---- siphon ----
{
	echo "# generated by tests/e2e/health.sh"
	echo 'hash_key = "siphon-e2e-test-key-not-secret";'
	echo 'stats_interval = 1;'
	echo "ports = ( { name = \"lan\"; device = \"net_af_packet0\"; exception = \"sph0\";" \
		"addresses = [ \"${ip4[lb]}/24\" ]; } );"
	echo 'groups = ( { name = "e2e"; backends = ('
	echo "    { name = \"b1\"; address = \"${ip4[b1]}\"; },"
	echo "    { name = \"b2\"; address = \"${ip4[b2]}\"; },"
	echo "    { name = \"b3\"; address = \"${ip4[b3]}\"; }"
	echo '); } );'
	echo "vips = ( { address = \"$vip\"; ports = [ 5060 ]; group = \"e2e\"; mode = \"l2dsr\"; } );"
	echo "control = { socket = \"$sock\"; };"
	echo "health = { enabled = true; interval_ms = $((interval_s * 1000)); timeout_ms = $((timeout_s * 1000));" \
		"fall = $fall; rise = $rise; accept = [ \"200-699\" ]; overload_code = 503; };"
} >"$logs/siphon.conf"
eal=${SIPHON_EAL:---no-huge -m 512 --no-pci --no-shconf --file-prefix=$PREFIX --no-telemetry -l 0,1 --vdev net_af_packet0,iface=eth0,qpairs=1}
# shellcheck disable=SC2086
spawn lb "$logs/siphon.log" INT "$siphon" $eal -- --config "$logs/siphon.conf"
siphon_pid=${pids[-1]}

# health BACKEND: its health as siphon reports it ("" when siphon does not answer)
health() {
	ctl --json show backends 2>/dev/null | python3 -c 'import json,sys
j = json.load(sys.stdin)
print([b["health"] for b in j["backends"] if b["name"] == sys.argv[1]][0])' "$1" 2>/dev/null || true
}
invites() { # invites BACKEND: INVITEs siphon forwarded to it
	ctl --json show backends 2>/dev/null | python3 -c 'import json,sys
j = json.load(sys.stdin)
print([b["counters"]["requests_by_method"]["INVITE"] for b in j["backends"] if b["name"] == sys.argv[1]][0])' "$1"
}
# wait_health BACKEND STATE SECONDS: poll every 0.1 s; prints the seconds it took
wait_health() {
	local t0 now
	t0=$(date +%s.%N)
	for _ in $(seq $(($3 * 10))); do
		if [ "$(health "$1")" = "$2" ]; then
			now=$(date +%s.%N)
			python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$now"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# VIP resolution (run.sh's loop) and the three backends up.
vip_mac=
for i in $(seq 40); do
	kill -0 "$siphon_pid" 2>/dev/null || break
	ip netns exec "$cli" python3 -c 'import socket,sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", (sys.argv[1], 9))' "$vip" 2>/dev/null || true
	vip_mac=$(ip -n "$cli" neigh show "$vip" dev eth0 | awk '/lladdr/ {print $3}')
	[ -n "$vip_mac" ] && break
	sleep 0.25
done
if [ -z "$vip_mac" ]; then
	fail "the client could not resolve the VIP (siphon not up?)"
	tail -20 "$logs/siphon.log"
	exit 1
fi
for b in "${backends[@]}"; do
	wait_health "$b" up 15 >/dev/null || { fail "$b not up after 15 s (health: $(health "$b"))"; exit 1; }
	for _ in $(seq 40); do
		ip netns exec "$(ns "$b")" ss -Hlun "sport = :5060" | grep -q "$vip" && break
		sleep 0.1
	done
done
echo "all three backends up by their probes"
grep -q "siphon: health checks on" "$logs/siphon.log" || fail "siphon did not start health checks"
grep -q "exception interface sph0 (ifindex [0-9]*) up with 1 of 1 addresses" "$logs/siphon.log" ||
	fail "siphon did not give sph0 its port address"
! grep -q "the kernel chooses the probes' source address" "$logs/siphon.log" ||
	fail "siphon fell back to the kernel's source address (probes not bound to ${ip4[lb]})"
ip -n "$lb" -4 -br addr show | tee "$logs/lb-addresses.txt"

# ---- the calls ----
echo "placing $calls calls at $rate/s"
spawn cli "$logs/uac.out" INT \
	sipp -sf "$here/uac.xml" -i "${ip4[cli]}" -p 5060 "${sipp_common[@]}" \
	-m "$calls" -r "$rate" -l $((rate * 3)) -timeout 100s \
	-cid_str 'e2e-%u@siphon' \
	-message_file "$logs/uac.msg" -error_file "$logs/uac.err" -screen_file "$logs/uac.screen" \
	-trace_stat -stf "$logs/uac.csv" -fd 1 \
	"$vip:5060"
uac_pid=${pids[-1]}

sleep "$kill_at"
# b2 dies: its UAS (SIGINT: sipp exits at once and flushes its trace) and responder.
echo "killing b2"
kill -INT "${uas_pid[b2]}" 2>/dev/null || true
kill -TERM "${resp_pid[b2]}" 2>/dev/null || true
bound=$((interval_s * fall + timeout_s + slack))
if took=$(wait_health b2 down "$((bound + 5))"); then
	echo "b2 marked down ${took} s after it died (bound: interval x fall + timeout + slack = $bound s)"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$took" "$bound" ||
		fail "b2 marked down after ${took} s, more than $bound s"
else
	fail "b2 not marked down within $((bound + 5)) s (health: $(health b2))"
fi
wait_for "${uas_pid[b2]}" 10 || true
# New calls avoid b2: siphon forwards it no INVITE while it is down, b1 and b3 get them.
i2=$(invites b2) i1=$(invites b1) i3=$(invites b3)
sleep 4
j2=$(invites b2) j1=$(invites b1) j3=$(invites b3)
echo "INVITEs forwarded in 4 s with b2 down: b1 +$((j1 - i1)), b2 +$((j2 - i2)), b3 +$((j3 - i3))"
[ "$j2" -eq "$i2" ] || fail "siphon forwarded $((j2 - i2)) INVITEs to b2 while it was down"
[ "$j1" -gt "$i1" ] && [ "$j3" -gt "$i3" ] || fail "b1 and b3 did not both get new calls"
ctl show backends >"$logs/backends-b2-down.txt" || true

# b2 returns.
echo "restarting b2"
start_backend b2 b2r
# + 1 s: the restarted responder is a Python process, its start-up counts too.
bound=$((interval_s * rise + slack + 1))
if took=$(wait_health b2 up "$((bound + 5))"); then
	echo "b2 up again ${took} s after its restart (bound: interval x rise + slack + 1 = $bound s)"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$took" "$bound" ||
		fail "b2 up after ${took} s, more than $bound s"
else
	fail "b2 not up again within $((bound + 5)) s (health: $(health b2))"
fi
k2=$(invites b2)
sleep 4
l2=$(invites b2)
echo "INVITEs forwarded to b2 in 4 s after its return: +$((l2 - k2))"
[ "$l2" -gt "$k2" ] || fail "b2 got no new call after its return"
ctl show backends | tee "$logs/backends-end.txt" || true

# ---- end of the run ----
uac_rc=0
wait_for "$uac_pid" 100 || uac_rc=$?
# Each Call-ID's home backend, with all three up (health must still say so).
for b in "${backends[@]}"; do
	[ "$(health "$b")" = up ] || fail "$b is $(health "$b") at the end, not up"
done
ip netns exec "$lb" python3 - "$sock" "$calls" >"$logs/home.json" <<'PY' || fail "cannot ask siphon for the Call-IDs' homes"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rw")
home = {}
for n in range(1, int(sys.argv[2]) + 1):
    cid = "e2e-%d@siphon" % n
    f.write(json.dumps({"cmd": "dispatch", "call_id": cid}) + "\n")
    f.flush()
    home[cid] = json.loads(f.readline())["backend"]
json.dump(home, sys.stdout)
PY
# The probes went through the exception path: every answered probe (probes less
# timeouts, less the 3 that may be in flight) crossed it both ways, and nothing was
# lost on the way. Per-backend counts first, so siphon's counters read after cover them.
ctl --json show backends >"$logs/backends-end.json" || fail "siphonctl show backends"
ctl --json show stats >"$logs/stats-end.json" || fail "siphonctl show stats"
python3 - "$logs/backends-end.json" "$logs/stats-end.json" <<'PY' || fail "exception path counters"
import json, sys
bk = json.load(open(sys.argv[1]))["backends"]
c = json.load(open(sys.argv[2]))["counters"]
probes = sum(b["probes"] or 0 for b in bk)
timeouts = sum(b["probe_timeouts"] or 0 for b in bk)
answered = probes - timeouts - len(bk)
print("probes %d (timed out %d); exception path: %s" % (probes, timeouts,
      ", ".join("%s %d" % (k, v) for k, v in c.items() if k.startswith("exception"))))
bad = []
if answered < 30:
    bad.append("only %d probes answered" % answered)
for k in ("exception_tx", "exception_rx"):
    if c[k] < answered:
        bad.append("%s %d < %d answered probes" % (k, c[k], answered))
for k in ("exception_drop", "exception_kernel_drop", "exception_tx_drop"):
    if c[k] != 0:
        bad.append("%s %d" % (k, c[k]))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
sleep 2.5
for b in b1 b2 b3; do kill -INT "${uas_pid[$b]}" 2>/dev/null || true; done
for b in b1 b2 b3; do wait_for "${uas_pid[$b]}" 15 || true; done
kill -INT "$siphon_pid" 2>/dev/null || true
siphon_rc=0
wait_for "$siphon_pid" 15 || siphon_rc=$?
case "$siphon_rc" in 0 | 130) ;; *) fail "siphon exited with status $siphon_rc" ;; esac

stats=$(python3 "$here/traces.py" uac-stats "$logs/uac.csv") || true
echo "UAC: exit $uac_rc, $stats"
ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$stats")
bad=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$stats")
[ -n "$ok" ] && [ -n "$bad" ] || fail "no UAC statistics"
python3 "$here/health_traces.py" --calls "$calls" --home "$logs/home.json" --uac-failed "${bad:-0}" \
	b1="$logs/b1.msg" b2="$logs/b2.msg" b2r="$logs/b2r.msg" b3="$logs/b3.msg" ||
	fail "trace check (health_traces.py)"
grep -E "siphon: health: backend" "$logs/siphon.log" || true

if [ "${#failures[@]}" -eq 0 ]; then
	result=0
	echo "$name: PASS (UAC: $ok successful, $bad failed, all of them on b2's keys)"
else
	echo "$name: FAIL (${#failures[@]}: ${failures[*]})"
fi
verdict=1
