# tests/e2e/lib.sh - the namespace harness shared by run.sh, health.sh, drain.sh and
# tests/test_exception.sh (and the tests that come next): sourced, never run.
# It owns what every such test repeats: namespaces on one bridge, the roles of their
# kernels (client, backend, siphon's own), bounded processes inside them, siphon's
# start and stop, and a cleanup that runs on every way out (EXIT, set -e / ERR, SIGINT,
# SIGTERM, the watchdog). Each test keeps its addresses, its configuration and its checks.
#
# Life of a test:
#   e2e_require, e2e_binaries, e2e_plan   root, tools, daemons; the segment's addresses
#   e2e_init NAME DEADLINE      traps, watchdog, logs; namespaces are named sph<pid>-NODE
#   e2e_topology NODE...        a bridge and one veth "eth0" per node (MACs from e2e_mac)
#   e2e_host / e2e_backend / e2e_lb   what each node's kernel does
#   e2e_conf_cluster            the group and VIP stanzas of siphon's configuration
#   e2e_spawn, e2e_uas, e2e_uac, e2e_siphon_start    bounded processes in the namespaces
#   e2e_resolve, e2e_ctl, e2e_backend_invites, e2e_dump_kernel   waits, queries, counters
#   e2e_fail MSG ... e2e_finish  the checks, then the verdict line "NAME: PASS|FAIL (...)"
# Public names start with e2e_ (functions and the variables below), internal ones with
# _e2e_. Scripts that source this file run under `set -euo pipefail`.
#
# Variables a test reads (set by the functions named):
#   e2e_name e2e_prefix e2e_logs e2e_deadline e2e_proc_timeout e2e_here   (e2e_init)
#   e2e_pid: the last process e2e_spawn started;  e2e_siphon_pid (e2e_siphon_start)
#   e2e_ip4 e2e_ip6 e2e_mac e2e_vip4 e2e_vip6 (e2e_plan)
#   e2e_vip_mac, e2e_tries (e2e_resolve);  e2e_uac_ok, e2e_uac_failed (e2e_uac_stats)
#   e2e_failures: the reasons e2e_fail recorded, in order
# Variables a test may set: e2e_mac[NODE] (before e2e_topology), e2e_siphon (the
# daemon, for e2e_siphon_start), e2e_siphonctl and e2e_sock (for e2e_ctl), and
# e2e_on_fail, a command run at cleanup when the test failed.
# Environment: E2E_LOGS (a new or empty directory that is kept; default a fresh
# /tmp/siphon-NAME.XXXXXX, removed on PASS), SIPHON_EAL (EAL options for siphon).

# shellcheck shell=bash disable=SC2034 # the e2e_ variables are for the sourcing test
e2e_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
e2e_prefix="sph$$"
e2e_failures=()
declare -A e2e_mac=()
e2e_sock=
e2e_siphon=
e2e_siphonctl=
e2e_siphon_pid=
e2e_on_fail=
e2e_pid=
_e2e_pids=()       # every background process started here (timeout wrappers)
_e2e_namespaces=() # every namespace created here
_e2e_watchdog=
_e2e_result=1  # 0 once e2e_finish found no failure
_e2e_verdict=0 # 1 once the verdict line is printed
_e2e_keep=

# sipp options every UAS and UAC here uses. Big socket buffers: on a loaded machine a
# burst must wait in the socket, not be dropped.
e2e_sipp_common=(-t u1 -nostdin -buff_size 4194304 -trace_err -trace_screen -trace_msg)

# e2e_require WHO TOOL...: exit 2 with a message unless root and every TOOL is found.
e2e_require() {
	local who=$1 tool
	shift
	[ "$(id -u)" -eq 0 ] || { echo "$who: needs root (namespaces)" >&2; exit 2; }
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$who: $tool not found" >&2; exit 2; }
	done
}

# e2e_binaries WHO [SIPHON [SIPHONCTL]]: set e2e_siphon and e2e_siphonctl (default: the
# build/ tree of this checkout, siphonctl beside SIPHON's build tree); exit 2 unless both
# are executable.
e2e_binaries() {
	local who=$1
	e2e_siphon=${2:-$e2e_here/../../build/control/siphon}
	e2e_siphonctl=${3:-$(dirname "$e2e_siphon")/../ctl/siphonctl}
	[ -x "$e2e_siphon" ] && [ -x "$e2e_siphonctl" ] ||
		{ echo "$who: $e2e_siphon or $e2e_siphonctl not found (build first)" >&2; exit 2; }
}

# e2e_plan: the address plan of the shared segment, one /24 and one /64 (private ranges,
# never the host's): e2e_ip4[NODE], e2e_ip6[NODE] and e2e_mac[NODE] for the client cli
# (.1), siphon lb (.2) and backends b1..b9 (.11 to .19); the VIP e2e_vip4 / e2e_vip6
# (.100), owned by siphon on the wire and by each backend on lo.
declare -A e2e_ip4=() e2e_ip6=()
e2e_plan() {
	local i
	e2e_ip4=([cli]=10.99.0.1 [lb]=10.99.0.2)
	e2e_ip6=([cli]=fd99::1 [lb]=fd99::2)
	e2e_mac=([cli]=02:99:00:00:00:01 [lb]=02:99:00:00:00:02)
	for i in 1 2 3 4 5 6 7 8 9; do
		e2e_ip4[b$i]=10.99.0.1$i
		e2e_ip6[b$i]=fd99::1$i
		e2e_mac[b$i]=02:99:00:00:00:1$i
	done
	e2e_vip4=10.99.0.100
	e2e_vip6=fd99::100
}

# e2e_init NAME DEADLINE: start a test. NAME begins every verdict line; the watchdog
# sends SIGTERM after DEADLINE seconds, and each process gets DEADLINE - 10 s at most.
# Creates e2e_logs (E2E_LOGS, which must be new or empty, or a fresh temporary
# directory) and installs the traps. Call it before creating anything.
e2e_init() {
	e2e_name=$1
	e2e_deadline=$2
	e2e_proc_timeout=$((e2e_deadline - 10))
	local tag
	tag=$(tr -cs 'a-zA-Z0-9' '-' <<<"$e2e_name")
	e2e_logs=${E2E_LOGS:-$(mktemp -d "/tmp/siphon-${tag%-}.XXXXXX")}
	mkdir -p "$e2e_logs"
	# A used directory would mix two runs' traces: insist on an empty one.
	if [ -n "$(ls -A "$e2e_logs")" ]; then
		echo "$e2e_name: E2E_LOGS=$e2e_logs is not empty" >&2
		exit 2
	fi
	_e2e_keep=${E2E_LOGS:+1}
	trap _e2e_cleanup EXIT
	trap 'echo "$e2e_name: interrupted" >&2; exit 130' INT
	trap 'echo "$e2e_name: terminated" >&2; exit 143' TERM
	# set -e ends the script on a failed command; say which one in the verdict.
	trap '_e2e_failed_command $LINENO "$BASH_COMMAND" $?' ERR
	# Whatever hangs, the run ends after the deadline. The watchdog sleeps in 1 s steps
	# and leaves as soon as the test is gone (even by SIGKILL), so it never outlives the
	# run nor holds the output pipe open for long.
	local main_pid=$$
	(
		trap - EXIT INT TERM ERR
		for _ in $(seq "$e2e_deadline"); do
			sleep 1
			kill -0 "$main_pid" 2>/dev/null || exit 0
		done
		echo "$e2e_name: deadline of $e2e_deadline s reached" >&2
		kill -TERM "$main_pid"
	) &
	_e2e_watchdog=$!
}

_e2e_failed_command() { # line command status
	e2e_failures+=("line $1: '$2' exited with $3")
}

# Always runs, whatever happened: stop the processes (TERM, which timeout forwards, then
# KILL), KILL anything else inside our namespaces, delete the namespaces (which takes the
# veths, the bridge and siphon's TUN devices along) and DPDK's runtime directory, print a
# verdict if the test could not, and keep the logs unless the test passed.
_e2e_cleanup() {
	local rc=$? p n i alive
	set +e
	trap - EXIT INT TERM ERR
	[ -n "$_e2e_watchdog" ] && kill "$_e2e_watchdog" 2>/dev/null
	for p in "${_e2e_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for i in $(seq 30); do
		alive=0
		for p in "${_e2e_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for n in "${_e2e_namespaces[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in "${_e2e_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in "${_e2e_namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "/var/run/dpdk/$e2e_prefix"
	# An early exit (setup failure, interrupt, deadline) still ends with a verdict line.
	[ "$_e2e_verdict" -eq 1 ] || echo "$e2e_name: FAIL (${e2e_failures[*]:-stopped before the checks})"
	if [ "$_e2e_result" -eq 0 ] && [ -z "$_e2e_keep" ]; then
		rm -rf "$e2e_logs"
	else
		[ "$_e2e_result" -eq 0 ] || [ -z "$e2e_on_fail" ] || eval "$e2e_on_fail"
		echo "logs: $e2e_logs"
	fi
	[ "$rc" -eq 0 ] && [ "$_e2e_result" -ne 0 ] && rc=1
	exit "$rc"
}

# e2e_cleanup_stale: remove the namespaces (and their processes) of runs that were
# killed with SIGKILL, whose trap could not run: sph<pid>-* where <pid> is gone.
e2e_cleanup_stale() {
	local ns pid p
	for ns in $(ip netns list | awk '{print $1}' | grep -E '^sph[0-9]+-' || true); do
		pid=${ns%%-*}
		pid=${pid#sph}
		if ! kill -0 "$pid" 2>/dev/null; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
			ip netns del "$ns" && echo "removed $ns"
		fi
	done
}

# e2e_ns NODE: the name of NODE's namespace.
e2e_ns() {
	echo "$e2e_prefix-$1"
}

# e2e_fail REASON: record a failed check (the verdict lists them) and say so now.
e2e_fail() {
	e2e_failures+=("$1")
	echo "FAIL: $1"
}

# e2e_finish [DETAIL]: print the verdict, "NAME: PASS (DETAIL)" when no check failed,
# else "NAME: FAIL (N: reasons)". The exit status follows it (the EXIT trap sets it).
e2e_finish() {
	if [ "${#e2e_failures[@]}" -eq 0 ]; then
		_e2e_result=0
		echo "$e2e_name: PASS${1:+ ($1)}"
	else
		echo "$e2e_name: FAIL (${#e2e_failures[@]}: ${e2e_failures[*]})"
	fi
	_e2e_verdict=1
}

# ---- topology ----

# e2e_topology [--ipv6] NODE...: namespaces sw and NODE..., loopbacks up; in sw the
# bridge br0; for each NODE a veth, "eth0" in the node (MAC e2e_mac[NODE] if set, left
# down for its role to bring up) and "p-NODE" on the bridge. Without --ipv6 the nodes
# have IPv6 off; with it, no DAD anywhere: with a link-local address still tentative,
# the backends' first replies to the client were lost, and IPv6 runs failed ~10 % of the
# calls, all placed in the first second (eth0 exists before "default" changes, hence the
# three knobs).
e2e_topology() {
	local ipv6=0 node n sw k f
	if [ "${1:-}" = --ipv6 ]; then
		ipv6=1
		shift
	fi
	for node in sw "$@"; do
		ip netns add "$(e2e_ns "$node")"
		_e2e_namespaces+=("$(e2e_ns "$node")")
		ip -n "$(e2e_ns "$node")" link set lo up
	done
	# The switch. No multicast snooping: siphon (DPDK) sends no MLD reports, so a
	# snooping bridge could withhold the neighbour solicitations for the VIP from it.
	# No bridge netfilter: it would drop the malformed IP headers before they reach siphon.
	sw=$(e2e_ns sw)
	ip -n "$sw" link add br0 type bridge mcast_snooping 0
	for k in arptables iptables ip6tables; do
		f=/proc/sys/net/bridge/bridge-nf-call-$k
		ip netns exec "$sw" sh -c "[ ! -e $f ] || echo 0 > $f"
	done
	ip -n "$sw" link set br0 up
	for node in "$@"; do
		n=$(e2e_ns "$node")
		ip -n "$sw" link add "p-$node" type veth peer name eth0 netns "$n"
		ip -n "$sw" link set "p-$node" master br0 up
		[ -z "${e2e_mac[$node]:-}" ] || ip -n "$n" link set eth0 address "${e2e_mac[$node]}"
		if [ "$ipv6" -eq 1 ]; then
			ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
				net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
		else
			ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		fi
	done
}

# e2e_host NODE PREFIX...: a plain host on the segment: eth0 up with these addresses
# (ADDR/LEN; IPv6 ones without DAD).
e2e_host() {
	local n a
	n=$(e2e_ns "$1")
	shift
	ip -n "$n" link set eth0 up
	for a in "$@"; do
		case "$a" in
		*:*) ip -n "$n" addr add "$a" dev eth0 nodad ;;
		*) ip -n "$n" addr add "$a" dev eth0 ;;
		esac
	done
}

# e2e_txcsum_off NODE: TX checksum offload off on NODE's eth0. siphon forwards a frame
# as it read it, and a veth leaves UDP checksums to "hardware" that never computes them
# (txcsum_off.py has the details); do it on every node whose datagrams siphon forwards
# to a kernel that checks them.
e2e_txcsum_off() {
	ip netns exec "$(e2e_ns "$1")" python3 "$e2e_here/txcsum_off.py" eth0
}

# e2e_backend NODE PREFIX... -- VIP...: a backend: e2e_host NODE PREFIX..., and the VIPs
# on lo (so a server can bind them and the kernel accepts datagrams for them) without
# claiming them on the segment:
#  - IPv4: arp_ignore=1 answers ARP only for addresses of the interface asked on (not
#    lo's VIP); arp_announce=2 never uses the VIP as the sender of its own ARP requests
#    (which would teach the client VIP -> backend MAC).
#  - IPv6: Linux answers a neighbour solicitation only for addresses on the interface it
#    arrived on (ndisc_recv_ns looks the target up strictly per device), and picks an eth0
#    address as source of its own solicitations, so a VIP on lo stays silent without any
#    knob. run.sh checks the result: the client's entry for the VIP is siphon's MAC.
# rp_filter off: in ipip mode the decapsulated packet arrives on the tunnel device while
# the client's address routes via eth0.
e2e_backend() {
	local node=$1 n v addrs=()
	n=$(e2e_ns "$node")
	shift
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		addrs+=("$1")
		shift
	done
	[ "$#" -gt 0 ] && shift
	ip netns exec "$n" sysctl -qw \
		net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0
	e2e_host "$node" "${addrs[@]}"
	for v in "$@"; do
		case "$v" in
		*:*) ip -n "$n" addr add "$v/128" dev lo nodad ;;
		*) ip -n "$n" addr add "$v/32" dev lo ;;
		esac
	done
}

# e2e_lb NODE [--exception]: siphon's namespace: eth0 up for AF_PACKET with no kernel
# address, IPv6 off on it, so this kernel stays silent on the segment (AF_PACKET still
# sees every frame). --exception: siphon will give this kernel the port's addresses on its
# TUN device; the kernel would also take frames for them straight off eth0 (weak host
# model) and answer ARP there, as duplicates: keep it off eth0 (arp_ignore 8, strict
# rp_filter, so the way back to the segment is the TUN device).
e2e_lb() {
	local n
	n=$(e2e_ns "$1")
	ip netns exec "$n" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
	if [ "${2:-}" = --exception ]; then
		ip netns exec "$n" sysctl -qw net.ipv4.conf.eth0.arp_ignore=8 net.ipv4.conf.eth0.rp_filter=1
	fi
	ip -n "$n" link set eth0 up
}

# ---- siphon's configuration ----

# e2e_conf_cluster [--mac] FAMILY MODE VIP BACKEND...: print the configuration's group
# "e2e" of these backends (their e2e_plan addresses of FAMILY 4 or 6; with --mac their
# e2e_mac too, so siphon needs no ARP/ND) and one VIP on port 5060 in MODE (l2dsr, ipip).
e2e_conf_cluster() {
	local mac=0 family mode vip b m sep=
	if [ "$1" = --mac ]; then
		mac=1
		shift
	fi
	family=$1 mode=$2 vip=$3
	shift 3
	local -n a=e2e_ip$family
	echo 'groups = ( { name = "e2e"; backends = ('
	for b in "$@"; do
		m=
		[ "$mac" -eq 0 ] || m=" mac = \"${e2e_mac[$b]}\";"
		echo "    $sep{ name = \"$b\"; address = \"${a[$b]}\";$m }"
		sep=,
	done
	echo '); } );'
	echo "vips = ( { address = \"$vip\"; ports = [ 5060 ]; group = \"e2e\"; mode = \"$mode\"; } );"
}

# ---- processes ----

# e2e_spawn NODE LOGFILE SIGNAL CMD...: run CMD in NODE's namespace in the background,
# output to LOGFILE, under timeout (SIGNAL after e2e_proc_timeout s, SIGKILL 5 s later
# if it ignores it). Its pid is e2e_pid, and the cleanup stops it.
e2e_spawn() {
	local node=$1 log=$2 sig=$3
	shift 3
	ip netns exec "$(e2e_ns "$node")" timeout -s "$sig" -k 5 "$e2e_proc_timeout" "$@" >"$log" 2>&1 &
	e2e_pid=$!
	_e2e_pids+=("$e2e_pid")
}

# e2e_wait PID SECONDS: wait for a process started here, at most SECONDS; returns its
# status, or 124 if it still runs. Polls instead of a foreground `wait`, so that INT and
# TERM traps run at once.
e2e_wait() {
	local i rc=0
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then return 124; fi
	wait "$1" || rc=$?
	return "$rc"
}

# e2e_uas NODE TRACE ADDR [SCENARIO]: a sipp UAS (uas.xml) in NODE on ADDR:5060, its
# traces in e2e_logs/TRACE.{out,msg,err,screen}. SIGINT stops it and flushes its traces.
e2e_uas() {
	local node=$1 t=$2 addr=$3 sf=${4:-$e2e_here/uas.xml}
	e2e_spawn "$node" "$e2e_logs/$t.out" INT \
		sipp -sf "$sf" -i "$addr" -p 5060 "${e2e_sipp_common[@]}" \
		-message_file "$e2e_logs/$t.msg" -error_file "$e2e_logs/$t.err" \
		-screen_file "$e2e_logs/$t.screen"
}

# e2e_uac SCENARIO SRC TARGET SIPP-OPTION...: the sipp UAC in the namespace cli, bound
# to SRC:5060, calling TARGET (HOST:PORT, IPv6 hosts in brackets), with Call-IDs
# e2e-<n>@siphon (e2e_uac_cid, if set, replaces this sipp -cid_str: a second UAC run must
# not reuse the first one's, which the UAS still holds as dead calls) and traces in e2e_logs/uac.{out,msg,err,screen,csv}; the options
# (-m, -r, -l, -timeout...) come before TARGET.
e2e_uac() {
	local sf=$1 src=$2 target=$3
	shift 3
	e2e_spawn cli "$e2e_logs/uac.out" INT \
		sipp -sf "$sf" -i "$src" -p 5060 "${e2e_sipp_common[@]}" "$@" \
		-cid_str "${e2e_uac_cid:-e2e-%u@siphon}" \
		-message_file "$e2e_logs/uac.msg" -error_file "$e2e_logs/uac.err" \
		-screen_file "$e2e_logs/uac.screen" \
		-trace_stat -stf "$e2e_logs/uac.csv" -fd 1 \
		"$target"
}

# e2e_uac_stats UAC-STATUS: print the UAC's outcome from its statistics file and set
# e2e_uac_ok and e2e_uac_failed (empty when the file says nothing).
e2e_uac_stats() {
	local stats
	stats=$(python3 "$e2e_here/traces.py" uac-stats "$e2e_logs/uac.csv") || true
	echo "UAC: exit $1, $stats"
	e2e_uac_ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$stats")
	e2e_uac_failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$stats")
}

# e2e_siphon_start NODE CONFIG [SIPHON-OPTION...]: the daemon e2e_siphon in NODE's
# namespace, on net_af_packet attached to its eth0, output in e2e_logs/siphon.log; its
# pid is e2e_siphon_pid. No hugepages and no shared configuration (a private
# --file-prefix), so it shares nothing with other DPDK processes on the machine; -l 0,1:
# main lcore + one worker; qpairs=1: one AF_PACKET socket for that worker. SIPHON_EAL
# replaces these EAL options.
e2e_siphon_start() {
	local node=$1 conf=$2 eal
	shift 2
	eal=${SIPHON_EAL:---no-huge -m 512 --no-pci --no-shconf --file-prefix=$e2e_prefix --no-telemetry -l 0,1 --vdev net_af_packet0,iface=eth0,qpairs=1}
	# shellcheck disable=SC2086 # EAL options are a word list on purpose
	e2e_spawn "$node" "$e2e_logs/siphon.log" INT "$e2e_siphon" $eal -- --config "$conf" "$@"
	e2e_siphon_pid=$e2e_pid
}

# e2e_siphon_stop: SIGINT (siphon prints its final counters and exits), at most 15 s.
# Returns 0 on a clean stop; otherwise records a failure and returns 1.
e2e_siphon_stop() {
	local rc=0
	kill -INT "$e2e_siphon_pid" 2>/dev/null || true
	e2e_wait "$e2e_siphon_pid" 15 || rc=$?
	# timeout reports a child killed by SIGINT as 130; both are a clean stop. 124 is
	# also timeout's status when the process outlived e2e_proc_timeout.
	case "$rc" in 0 | 130) return 0 ;; esac
	if kill -0 "$e2e_siphon_pid" 2>/dev/null; then
		e2e_fail "siphon did not stop within 15 s of SIGINT"
	else
		e2e_fail "siphon exited with status $rc"
	fi
	return 1
}

# ---- waits and queries ----

# e2e_resolve TARGET [HOP]: until the client (namespace cli) has a neighbour entry for
# HOP (default TARGET), poke TARGET with a UDP datagram to the discard port (no SIP, no
# VIP port, so none of the counted malformed kinds). At most 40 tries 0.25 s apart, and
# none once siphon (if started) is gone. Sets e2e_vip_mac (empty on failure) and
# e2e_tries; returns 1 if unresolved.
e2e_resolve() {
	local target=$1 hop=${2:-$1} cli
	cli=$(e2e_ns cli)
	e2e_vip_mac=
	for e2e_tries in $(seq 40); do
		if [ -n "$e2e_siphon_pid" ] && ! kill -0 "$e2e_siphon_pid" 2>/dev/null; then
			break
		fi
		ip netns exec "$cli" python3 -c 'import socket,sys
f = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
socket.socket(f, socket.SOCK_DGRAM).sendto(b"probe", (sys.argv[1], 9))' "$target" 2>/dev/null || true
		e2e_vip_mac=$(ip -n "$cli" neigh show "$hop" dev eth0 | awk '/lladdr/ {print $3}')
		[ -n "$e2e_vip_mac" ] && return 0
		sleep 0.25
	done
	return 1
}

# e2e_wait_udp NODE [ADDR]: wait (at most 4 s) until something in NODE listens on UDP
# port 5060 (on ADDR if given), so that no INVITE arrives before the UAS is bound.
e2e_wait_udp() {
	for _ in $(seq 40); do
		ip netns exec "$(e2e_ns "$1")" ss -Hlun "sport = :5060" | grep -q "${2:-.}" && return 0
		sleep 0.1
	done
	return 1
}

# e2e_ctl ARG...: e2e_siphonctl on the control socket e2e_sock, from siphon's namespace
# (namespace lb), at most 10 s.
e2e_ctl() {
	ip netns exec "$(e2e_ns lb)" timeout 10 "$e2e_siphonctl" --socket "$e2e_sock" "$@"
}

# e2e_backend_invites BACKEND: how many INVITEs siphon has forwarded to BACKEND.
e2e_backend_invites() {
	e2e_ctl --json show backends 2>/dev/null | python3 -c 'import json,sys
j = json.load(sys.stdin)
print([b["counters"]["requests_by_method"]["INVITE"] for b in j["backends"] if b["name"] == sys.argv[1]][0])' "$1"
}

# e2e_counters FILE: siphon's counters (siphonctl --json show stats) into FILE.
e2e_counters() {
	e2e_ctl --json show stats >"$1"
}

# e2e_dump_kernel NODE...: what each node's kernel saw (links, neighbour tables, IP/UDP
# error counters) appended to e2e_logs/kernel.txt, for whoever reads a failure.
e2e_dump_kernel() {
	local node n
	for node in "$@"; do
		n=$(e2e_ns "$node")
		{
			echo "=== $node"
			ip -n "$n" -s link
			ip -n "$n" neigh
			ip -n "$n" -6 neigh
			ip netns exec "$n" sh -c 'grep -E "^(Ip|Udp):" /proc/net/snmp; grep -E "^(Ip6|Udp6|Icmp6)" /proc/net/snmp6 | grep -vP "\t0$"'
		} >>"$e2e_logs/kernel.txt" 2>&1
	done
}
