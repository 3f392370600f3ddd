#!/usr/bin/env bash
# tests/e2e/run.sh - siphon end to end: real SIP calls through the daemon.
#
#   run.sh [--direct] MODE FAMILY [SIPHON_BIN]     MODE: l2dsr | ipip, FAMILY: 4 | 6
#   run.sh --cleanup                               remove what killed runs left behind
#
# Builds a private network of namespaces (see README.md for the picture): a
# bridge, a client running a sipp UAC, three backends each running a sipp UAS
# bound to the VIP (held on lo), and siphon attached to the bridge through
# net_af_packet. Then it places CALLS calls at RATE calls/s while inject.py
# sends malformed datagrams at the VIP, and checks:
#   1. the UAC: CALLS successful calls, none failed;
#   2. the UAS message traces (not siphon's counters): every Call-ID reached
#      exactly one backend, with its INVITE, ACK and BYE, nothing else arrived,
#      and the backends' shares are within +-10 % of equal;
#   3. siphon's counters: each kind of malformed datagram counted by reason;
#   4. the client resolved the VIP to siphon's MAC (no backend answered ARP/ND);
#   5. ipip: every message a UAS received came out of its tunnel device.
# --direct runs without siphon: the client routes the VIP via backend b1, which
# checks the harness itself (namespaces, scenarios, traces, cleanup); checks 3
# and 4 and the share check are skipped, and all calls must land on b1.
#
# Everything lives in namespaces named $PREFIX-* ("sph<pid>-*"): the host's
# own interfaces and addresses are never touched. An EXIT/INT/TERM trap kills
# every process started here and deletes the namespaces, also on failure;
# every process runs under `timeout`, every loop is bounded, and a watchdog
# ends the whole run after E2E_DEADLINE seconds.
#
# Environment: CALLS (1500), RATE (300 calls/s), INJECT_COUNT (20 per kind),
# E2E_DEADLINE (170 s), E2E_LOGS (a new or empty directory to keep the logs
# in; default a fresh /tmp/siphon-e2e.* kept only on failure), E2E_CAPTURE=1
# (dumpcap on every node's eth0 into the logs), SIPHON_EAL (EAL options, default
# below), E2E_STATIC_MAC=1 (give siphon the backends' MACs instead of ARP/ND).
# Output ends with "e2e MODE FAMILY: PASS" or "... FAIL (reasons)"; exit 0 on pass.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

direct=0
if [ "${1:-}" = "--cleanup" ]; then
	# Namespaces of runs that were killed with SIGKILL (the trap could not run):
	# sph<pid>-* where <pid> is no longer alive.
	for ns in $(ip netns list | awk '{print $1}' | grep -E '^sph[0-9]+-' || true); do
		pid=${ns%%-*}
		pid=${pid#sph}
		if ! kill -0 "$pid" 2>/dev/null; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
			ip netns del "$ns" && echo "removed $ns"
		fi
	done
	exit 0
fi
if [ "${1:-}" = "--direct" ]; then
	direct=1
	shift
fi
mode=${1:-}
family=${2:-}
siphon=${3:-$root/build/dataplane/siphon}
case "$mode/$family" in
l2dsr/4 | l2dsr/6 | ipip/4 | ipip/6) ;;
*)
	sed -n '2,6p' "$0" >&2
	exit 2
	;;
esac

calls=${CALLS:-1500}
rate=${RATE:-300}
inject_count=${INJECT_COUNT:-20}
deadline=${E2E_DEADLINE:-170}
# Each long-running process gets this much at most; the watchdog is the backstop.
proc_timeout=$((deadline - 10))

[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (namespaces, raw sockets)" >&2; exit 2; }
for tool in ip sipp python3 timeout; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 2; }
done
if [ "$direct" -eq 0 ] && [ ! -x "$siphon" ]; then
	echo "run.sh: siphon binary $siphon not found (build it, pass its path, or use --direct)" >&2
	exit 2
fi

# ---- addresses ----
# One /24 and one /64 shared by everyone on the bridge; both families are set
# up, only FAMILY carries calls. The VIP is owned by siphon on the wire (it
# answers ARP/ND for it) and by each backend on lo (so the UAS can bind it).
declare -A ip4=([cli]=10.99.0.1 [lb]=10.99.0.2 [b1]=10.99.0.11 [b2]=10.99.0.12 [b3]=10.99.0.13)
declare -A ip6=([cli]=fd99::1 [lb]=fd99::2 [b1]=fd99::11 [b2]=fd99::12 [b3]=fd99::13)
declare -A mac=([cli]=02:99:00:00:00:01 [lb]=02:99:00:00:00:02 [b1]=02:99:00:00:00:11
	[b2]=02:99:00:00:00:12 [b3]=02:99:00:00:00:13)
vip4=10.99.0.100
vip6=fd99::100
backends=(b1 b2 b3)
if [ "$family" = 4 ]; then
	vip=$vip4
	vip_uri=$vip4
	declare -n addr=ip4
else
	vip=$vip6
	vip_uri="[$vip6]"
	declare -n addr=ip6
fi

PREFIX="sph$$"
ns() { echo "$PREFIX-$1"; } # namespace of a node
name="e2e $mode $family"
[ "$direct" -eq 0 ] || name="$name (direct)"

logs=${E2E_LOGS:-$(mktemp -d /tmp/siphon-e2e.XXXXXX)}
mkdir -p "$logs"
# A used directory would mix two runs' traces: insist on an empty one.
if [ -n "$(ls -A "$logs")" ]; then
	echo "run.sh: E2E_LOGS=$logs is not empty" >&2
	exit 2
fi
keep_logs=${E2E_LOGS:+1}

# ---- cleanup: always runs, whatever happened ----
pids=()       # every background process started here (timeout wrappers)
namespaces=() # every namespace created here
watchdog=
result=1
verdict=0 # 1 once the verdict line is printed
failures=()
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	# Ask nicely (timeout forwards TERM to its child), then force.
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	local i
	for i in $(seq 20); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	# Anything still running inside our namespaces is ours: kill it by pid.
	for n in "${namespaces[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	# Deleting a namespace deletes the veths and the bridge inside it.
	for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	# DPDK's runtime directory for our --file-prefix.
	rm -rf "/var/run/dpdk/$PREFIX"
	# An early exit (setup failure, interrupt, deadline) still ends with a verdict line.
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

# Watchdog: whatever hangs, the run ends after $deadline seconds. It sleeps
# in 1 s steps and leaves as soon as this script is gone (even by SIGKILL),
# so it never outlives the run nor holds the output pipe open for long.
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

# Start a long-running process in a namespace, bounded by timeout, in the
# background; records the pid. -k: SIGKILL if it ignores the first signal.
spawn() { # node logfile signal cmd...
	local node=$1 log=$2 sig=$3
	shift 3
	ip netns exec "$(ns "$node")" timeout -s "$sig" -k 5 "$proc_timeout" "$@" >"$log" 2>&1 &
	pids+=($!)
}

# Wait for a pid, at most $2 seconds; returns its status or 124 on timeout.
# `wait` (not a foreground command) so that INT/TERM traps run immediately.
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

# ---- topology ----
echo "== $name: namespaces $PREFIX-{sw,cli,lb,b1,b2,b3}, logs in $logs"
for node in sw cli lb "${backends[@]}"; do
	ip netns add "$(ns "$node")"
	namespaces+=("$(ns "$node")")
	ip -n "$(ns "$node")" link set lo up
done

# The switch: a bridge. No multicast snooping: siphon (DPDK) sends no MLD
# reports, so a snooping bridge could withhold the neighbour solicitations for
# the VIP from it. No bridge netfilter: it would drop the malformed IP headers
# before they reach siphon.
sw=$(ns sw)
ip -n "$sw" link add br0 type bridge mcast_snooping 0
for k in arptables iptables ip6tables; do
	f=/proc/sys/net/bridge/bridge-nf-call-$k
	ip netns exec "$sw" sh -c "[ ! -e $f ] || echo 0 > $f"
done
ip -n "$sw" link set br0 up

# Each node: one veth, "eth0" inside the node, "p-NODE" on the bridge.
for node in cli lb "${backends[@]}"; do
	n=$(ns "$node")
	ip -n "$sw" link add "p-$node" type veth peer name eth0 netns "$n"
	ip -n "$sw" link set "p-$node" master br0 up
	ip -n "$n" link set eth0 address "${mac[$node]}"
	# No DAD, on eth0 too (it existed before the "default" changed): with a
	# link-local address still tentative, the backends' first replies to the
	# client were lost, and IPv6 runs failed ~10 % of the calls, all placed
	# in the first second.
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.eth0.accept_dad=0
done

# Client: a plain host on the segment. TX checksum offload off (txcsum_off.py
# says why); IPv4 and IPv6 addresses; the VIP is on-link, so the client asks
# ARP/ND for it and siphon answers.
cli=$(ns cli)
ip -n "$cli" link set eth0 up
ip -n "$cli" addr add "${ip4[cli]}/24" dev eth0
ip -n "$cli" addr add "${ip6[cli]}/64" dev eth0 nodad
ip netns exec "$cli" python3 "$here/txcsum_off.py" eth0

# siphon's namespace: only the veth, no kernel addresses. IPv6 off on it so
# this namespace's kernel stays silent on the segment; AF_PACKET still sees
# every frame.
lb=$(ns lb)
ip netns exec "$lb" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
ip -n "$lb" link set eth0 up

# Backends: eth0 with the backend's own addresses, the VIP on lo. They must
# not claim the VIP on the segment:
#  - IPv4: arp_ignore=1 answers ARP only for addresses of the interface asked
#    on (not lo's VIP); arp_announce=2 never uses the VIP as the sender of
#    their own ARP requests (which would teach the client VIP -> backend MAC).
#  - IPv6: Linux answers a neighbour solicitation only for addresses on the
#    interface it arrived on (ndisc_recv_ns looks the target up strictly per
#    device), and picks an eth0 address as source of its own solicitations,
#    so a VIP on lo stays silent without any knob. run.sh checks the result:
#    the client's neighbour entry for the VIP must be siphon's MAC.
# rp_filter off: in ipip mode the decapsulated packet arrives on the tunnel
# device while the client's address routes via eth0.
for b in "${backends[@]}"; do
	n=$(ns "$b")
	ip netns exec "$n" sysctl -qw \
		net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0
	ip -n "$n" link set eth0 up
	ip -n "$n" addr add "${ip4[$b]}/24" dev eth0
	ip -n "$n" addr add "${ip6[$b]}/64" dev eth0 nodad
	ip -n "$n" addr add "$vip4/32" dev lo
	ip -n "$n" addr add "$vip6/128" dev lo nodad
done

# ipip: each backend decapsulates what siphon tunnels to it (outer source:
# siphon's port address, outer destination: the backend's address). A kernel
# tunnel device when the kernel has one; otherwise decap.py feeding a TUN
# device, which the kernel then treats just like a tunnel device.
decap=none
decap_pids=()
if [ "$mode" = ipip ] && [ "$direct" -eq 0 ]; then
	for b in "${backends[@]}"; do
		n=$(ns "$b")
		if [ "$family" = 4 ]; then
			kind=(ipip local "${ip4[$b]}" remote "${ip4[lb]}")
		else
			kind=(ip6tnl mode ip6ip6 local "${ip6[$b]}" remote "${ip6[lb]}")
		fi
		if [ "$decap" != user ] && ip -n "$n" link add tun0 type "${kind[@]}" 2>/dev/null; then
			decap=kernel
		else
			decap=user
			ip -n "$n" tuntap add dev tun0 mode tun
			spawn "$b" "$logs/$b.decap.log" TERM \
				python3 "$here/decap.py" --family "$family" --tun tun0 \
				--seconds "$proc_timeout" --count-file "$logs/$b.decap.count"
			decap_pids+=("${pids[-1]}")
		fi
		ip netns exec "$n" sysctl -qw net.ipv4.conf.tun0.rp_filter=0 2>/dev/null || true
		ip -n "$n" link set tun0 up
	done
	echo "ipip decapsulation: $decap"
fi

if [ "$direct" -eq 1 ]; then
	# Stand-in for siphon: the client routes the VIP to b1.
	if [ "$family" = 4 ]; then
		ip -n "$cli" route add "$vip4/32" via "${ip4[b1]}"
	else
		ip -n "$cli" -6 route add "$vip6/128" via "${ip6[b1]}"
	fi
fi

# Optional packet captures for debugging (E2E_CAPTURE=1): every node's eth0,
# written to $logs/NODE.pcap, bounded by the process timeout.
if [ -n "${E2E_CAPTURE:-}" ] && command -v dumpcap >/dev/null; then
	for node in cli "${backends[@]}"; do
		spawn "$node" "$logs/$node.dumpcap.log" TERM dumpcap -q -i eth0 -w "$logs/$node.pcap"
	done
	sleep 1 # dumpcap needs a moment before it captures
fi

# ---- backends' UAS ----
# SIGINT makes sipp stop and flush its traces (timeout forwards it).
# Big socket buffers: on a loaded machine a burst must wait in the socket, not be dropped.
sipp_common=(-t u1 -nostdin -buff_size 4194304 -trace_err -trace_screen -trace_msg)
for b in "${backends[@]}"; do
	spawn "$b" "$logs/$b.out" INT \
		sipp -sf "$here/uas.xml" -i "$vip" -p 5060 "${sipp_common[@]}" \
		-message_file "$logs/$b.msg" -error_file "$logs/$b.err" -screen_file "$logs/$b.screen"
done
uas_pids=("${pids[@]: -3}")

# ---- siphon ----
siphon_pid=
if [ "$direct" -eq 0 ]; then
	{
		echo "# generated by tests/e2e/run.sh: $mode, IPv$family"
		echo 'hash_key = "siphon-e2e-test-key-not-secret";'
		echo 'stats_interval = 1;'
		# Health checks are tested by health.sh; here the lb kernel has no address to probe from.
		echo 'health = { enabled = false; };'
		echo 'ports = ( { name = "lan"; device = "net_af_packet0";'
		echo "          addresses = [ \"${ip4[lb]}/24\", \"${ip6[lb]}/64\" ]; } );"
		echo 'groups = ( { name = "e2e"; backends = ('
		sep=
		for b in "${backends[@]}"; do
			m=
			[ -n "${E2E_STATIC_MAC:-}" ] && m=" mac = \"${mac[$b]}\";"
			echo "    $sep{ name = \"$b\"; address = \"${addr[$b]}\"; port = 5060;$m }"
			sep=,
		done
		echo '); } );'
		echo "vips = ( { address = \"$vip\"; ports = [ 5060 ]; group = \"e2e\"; mode = \"$mode\"; } );"
	} >"$logs/siphon.conf"
	# No hugepages and no shared configuration (a private --file-prefix), so
	# the run shares nothing with other DPDK processes on the machine. -l 0,1:
	# main lcore + one worker; qpairs=1: one AF_PACKET socket for that worker.
	eal=${SIPHON_EAL:---no-huge -m 512 --no-pci --no-shconf --file-prefix=$PREFIX --no-telemetry -l 0,1 --vdev net_af_packet0,iface=eth0,qpairs=1}
	# shellcheck disable=SC2086 # EAL options are a word list on purpose
	spawn lb "$logs/siphon.log" INT "$siphon" $eal -- --config "$logs/siphon.conf" --stats-interval 1
	siphon_pid=${pids[-1]}
fi

# ---- wait until the VIP answers on the wire ----
# Poke the VIP with a UDP datagram to the discard port (no SIP, no VIP port,
# so it is not one of the counted malformed kinds) until the client has a
# neighbour entry for it. Bounded: 40 tries, 0.25 s apart.
# In --direct mode the next hop for the VIP is b1, so that is what resolves.
hop=$vip
[ "$direct" -eq 1 ] && hop=${addr[b1]}
vip_mac=
for i in $(seq 40); do
	if [ -n "$siphon_pid" ] && ! kill -0 "$siphon_pid" 2>/dev/null; then
		break
	fi
	ip netns exec "$cli" python3 -c 'import socket,sys
f = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
socket.socket(f, socket.SOCK_DGRAM).sendto(b"probe", (sys.argv[1], 9))' "$vip" 2>/dev/null || true
	vip_mac=$(ip -n "$cli" neigh show "$hop" dev eth0 | awk '/lladdr/ {print $3}')
	[ -n "$vip_mac" ] && break
	sleep 0.25
done
if [ -z "$vip_mac" ]; then
	fail "the client could not resolve the VIP $vip (siphon not up?)"
	[ -f "$logs/siphon.log" ] && tail -20 "$logs/siphon.log"
	exit 1
fi
echo "VIP $vip is at $vip_mac after $i tries"

# UAS sockets must be bound before the first INVITE: bounded check.
for b in "${backends[@]}"; do
	for i in $(seq 40); do
		ip netns exec "$(ns "$b")" ss -Hlun "sport = :5060" | grep -q . && break
		sleep 0.1
	done
done

# ---- the calls, and malformed traffic meanwhile ----
spawn cli "$logs/inject.log" TERM \
	python3 "$here/inject.py" --iface eth0 --dst-mac "$vip_mac" --src "${addr[cli]}" \
	--vip "$vip" --port 5060 --count "$inject_count" --rate 100 --delay 1 \
	--expect "$logs/inject.json"
inject_pid=${pids[-1]}

echo "placing $calls calls at $rate/s to $vip_uri:5060"
spawn cli "$logs/uac.out" INT \
	sipp -sf "$here/uac.xml" -i "${addr[cli]}" -p 5060 "${sipp_common[@]}" \
	-m "$calls" -r "$rate" -l $((rate * 3)) -timeout 120s -timeout_error \
	-cid_str 'e2e-%u@siphon' \
	-message_file "$logs/uac.msg" -error_file "$logs/uac.err" -screen_file "$logs/uac.screen" \
	-trace_stat -stf "$logs/uac.csv" -fd 1 \
	"$vip_uri:5060"
uac_pid=${pids[-1]}

uac_rc=0
wait_for "$uac_pid" 150 || uac_rc=$?
inject_rc=0
wait_for "$inject_pid" 20 || inject_rc=$?
[ "$inject_rc" -eq 0 ] || fail "inject.py exited with $inject_rc: $(tail -3 "$logs/inject.log")"

# Let the UAS finish the last calls' closing pause, then stop them (SIGINT).
sleep 2.5
for p in "${uas_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${uas_pids[@]}"; do wait_for "$p" 15 || true; done
if [ -n "$siphon_pid" ]; then
	# SIGINT: siphon prints its final counters and exits.
	kill -INT "$siphon_pid" 2>/dev/null || true
	siphon_rc=0
	wait_for "$siphon_pid" 15 || siphon_rc=$?
	# timeout reports a child killed by SIGINT as 130; both are a clean stop.
	case "$siphon_rc" in 0 | 130) ;; *) fail "siphon exited with status $siphon_rc" ;; esac
fi
# decap.py writes how many packets it passed on when it stops.
for p in "${decap_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${decap_pids[@]}"; do wait_for "$p" 5 || true; done

# What the kernels saw, for whoever reads the logs after a failure: links,
# neighbour tables, and the IP/UDP error counters of every namespace.
for node in cli lb "${backends[@]}" sw; do
	n=$(ns "$node")
	{
		echo "=== $node"
		ip -n "$n" -s link
		ip -n "$n" neigh
		ip -n "$n" -6 neigh
		ip netns exec "$n" sh -c 'grep -E "^(Ip|Udp):" /proc/net/snmp; grep -E "^(Ip6|Udp6|Icmp6)" /proc/net/snmp6 | grep -vP "\t0$"'
	} >>"$logs/kernel.txt" 2>&1
done

# ipip: how many packets each backend's tunnel device delivered (a TUN device
# counts what decap.py wrote as received), read before the namespaces go.
declare -A tun_rx=()
if [ "$decap" != none ]; then
	for b in "${backends[@]}"; do
		tun_rx[$b]=$(ip netns exec "$(ns "$b")" cat /sys/class/net/tun0/statistics/rx_packets)
	done
fi

# ---- checks ----
# 1. the UAC's own verdict
stats=$(python3 "$here/traces.py" uac-stats "$logs/uac.csv") || true
echo "UAC: exit $uac_rc, $stats"
[ "$uac_rc" -eq 0 ] || fail "sipp UAC exited with $uac_rc (0 = every call succeeded); see $logs/uac.screen"
ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$stats")
bad=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$stats")
if [ "${ok:-0}" -ne "$calls" ] || [ "${bad:-1}" -ne 0 ]; then
	fail "UAC: ${ok:-?} successful / ${bad:-?} failed calls, want $calls / 0"
fi

# 2. dispatch, from what the backends received
# (--strays: the backends' sipp must not have seen any of the malformed
# datagrams; in --direct mode b1 gets them all, there is no siphon to drop them.)
if [ "$direct" -eq 1 ]; then
	share_args=(--only b1)
else
	share_args=(--tolerance 0.10 --strays)
fi
python3 "$here/traces.py" dispatch --calls "$calls" "${share_args[@]}" \
	b1="$logs/b1.msg,$logs/b1.err" b2="$logs/b2.msg,$logs/b2.err" b3="$logs/b3.msg,$logs/b3.err" ||
	fail "dispatch check (UAS traces)"

if [ "$direct" -eq 0 ]; then
	# 3. malformed traffic counted by reason
	python3 "$here/counters.py" "$logs/inject.json" "$logs/siphon.log" ||
		fail "malformed traffic not counted as expected (siphon.log)"
	# 4. nobody but siphon answered for the VIP
	[ "$vip_mac" = "${mac[lb]}" ] ||
		fail "the client resolved the VIP to $vip_mac, not siphon's ${mac[lb]}"
	now=$(ip -n "$cli" neigh show "$vip" dev eth0 | awk '/lladdr/ {print $3}')
	[ "$now" = "${mac[lb]}" ] ||
		fail "after the run the client's entry for the VIP is '$now', not siphon's ${mac[lb]}"
	# 5. ipip: what the UAS received came out of the tunnel, i.e. siphon
	# encapsulated it (in l2dsr mode there is no tunnel and nothing to check).
	if [ "$decap" != none ]; then
		for b in "${backends[@]}"; do
			got=$(grep -c "message received" "$logs/$b.msg" || true)
			echo "$b: tunnel delivered ${tun_rx[$b]} packets, UAS received $got messages"
			[ "${tun_rx[$b]}" -ge "$got" ] ||
				fail "$b: UAS received $got messages but only ${tun_rx[$b]} came out of the tunnel"
		done
	fi
fi

if [ "${#failures[@]}" -eq 0 ]; then
	result=0
	echo "$name: PASS"
else
	echo "$name: FAIL (${#failures[@]}: ${failures[*]})"
fi
verdict=1
