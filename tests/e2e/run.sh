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
# Everything lives in namespaces named sph<pid>-* (lib.sh builds them and always
# cleans up: processes, namespaces, DPDK's runtime directory, also on failure and on
# SIGINT/SIGTERM); the host's own interfaces and addresses are never touched. Every
# process runs under `timeout`, every loop is bounded, and a watchdog ends the whole
# run after E2E_DEADLINE seconds.
#
# Environment: CALLS (1500), RATE (300 calls/s), INJECT_COUNT (20 per kind),
# E2E_DEADLINE (170 s), E2E_LOGS (a new or empty directory to keep the logs
# in; default a fresh /tmp/siphon-e2e-MODE-FAMILY.* kept only on failure),
# E2E_CAPTURE=1 (dumpcap on every node's eth0 into the logs), SIPHON_EAL (EAL
# options, default in lib.sh), E2E_STATIC_MAC=1 (give siphon the backends' MACs
# instead of ARP/ND).
# Output ends with "e2e MODE FAMILY: PASS" or "... FAIL (reasons)"; exit 0 on pass.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

direct=0
if [ "${1:-}" = "--cleanup" ]; then
	e2e_cleanup_stale
	exit 0
fi
if [ "${1:-}" = "--direct" ]; then
	direct=1
	shift
fi
mode=${1:-}
family=${2:-}
e2e_siphon=${3:-$root/build/control/siphon}
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

e2e_require run.sh ip sipp python3 timeout ss
if [ "$direct" -eq 0 ] && [ ! -x "$e2e_siphon" ]; then
	echo "run.sh: siphon binary $e2e_siphon not found (build it, pass its path, or use --direct)" >&2
	exit 2
fi

# ---- addresses ----
# lib.sh's plan: one /24 and one /64 shared by everyone on the bridge; both
# families are set up, only FAMILY carries calls. The VIP is owned by siphon on
# the wire (it answers ARP/ND for it) and by each backend on lo (so the UAS can
# bind it).
e2e_plan
declare -n ip4=e2e_ip4 ip6=e2e_ip6
vip4=$e2e_vip4
vip6=$e2e_vip6
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

name="e2e $mode $family"
[ "$direct" -eq 0 ] || name="$name (direct)"
e2e_init "$name" "${E2E_DEADLINE:-170}"
logs=$e2e_logs
on_fail_tail() { [ ! -f "$logs/siphon.log" ] || tail -20 "$logs/siphon.log"; }

# ---- topology ----
echo "== $name: namespaces $e2e_prefix-{sw,cli,lb,b1,b2,b3}, logs in $logs"
e2e_topology --ipv6 cli lb "${backends[@]}"
# Client: a plain host on the segment, TX checksum offload off; the VIP is on-link, so
# the client asks ARP/ND for it and siphon answers.
e2e_host cli "${ip4[cli]}/24" "${ip6[cli]}/64"
e2e_txcsum_off cli
# siphon's namespace: only the veth, no kernel addresses.
e2e_lb lb
# Backends: eth0 with the backend's own addresses, the VIP on lo, silent on the segment.
for b in "${backends[@]}"; do
	e2e_backend "$b" "${ip4[$b]}/24" "${ip6[$b]}/64" -- "$vip4" "$vip6"
done

# ipip: each backend decapsulates what siphon tunnels to it (outer source:
# siphon's port address, outer destination: the backend's address). A kernel
# tunnel device when the kernel has one; otherwise decap.py feeding a TUN
# device, which the kernel then treats just like a tunnel device.
decap=none
decap_pids=()
if [ "$mode" = ipip ] && [ "$direct" -eq 0 ]; then
	for b in "${backends[@]}"; do
		n=$(e2e_ns "$b")
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
			e2e_spawn "$b" "$logs/$b.decap.log" TERM \
				python3 "$here/decap.py" --family "$family" --tun tun0 \
				--seconds "$e2e_proc_timeout" --count-file "$logs/$b.decap.count"
			decap_pids+=("$e2e_pid")
		fi
		ip netns exec "$n" sysctl -qw net.ipv4.conf.tun0.rp_filter=0 2>/dev/null || true
		ip -n "$n" link set tun0 up
	done
	echo "ipip decapsulation: $decap"
fi

cli=$(e2e_ns cli)
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
		e2e_spawn "$node" "$logs/$node.dumpcap.log" TERM dumpcap -q -i eth0 -w "$logs/$node.pcap"
	done
	sleep 1 # dumpcap needs a moment before it captures
fi

# ---- backends' UAS ----
uas_pids=()
for b in "${backends[@]}"; do
	e2e_uas "$b" "$b" "$vip"
	uas_pids+=("$e2e_pid")
done

# ---- siphon ----
if [ "$direct" -eq 0 ]; then
	{
		echo "# generated by tests/e2e/run.sh: $mode, IPv$family"
		echo 'hash_key = "siphon-e2e-test-key-not-secret";'
		echo 'stats_interval = 1;'
		# Health checks are tested by health.sh; here the lb kernel has no address to probe from.
		echo 'health = { enabled = false; };'
		echo 'ports = ( { name = "lan"; device = "net_af_packet0";'
		echo "          addresses = [ \"${ip4[lb]}/24\", \"${ip6[lb]}/64\" ]; } );"
		static=()
		[ -z "${E2E_STATIC_MAC:-}" ] || static=(--mac)
		e2e_conf_cluster "${static[@]}" "$family" "$mode" "$vip" "${backends[@]}"
	} >"$logs/siphon.conf"
	e2e_siphon_start lb "$logs/siphon.conf" --stats-interval 1
fi

# ---- wait until the VIP answers on the wire ----
# In --direct mode the next hop for the VIP is b1, so that is what resolves.
hop=$vip
[ "$direct" -eq 1 ] && hop=${addr[b1]}
if ! e2e_resolve "$vip" "$hop"; then
	e2e_fail "the client could not resolve the VIP $vip (siphon not up?)"
	on_fail_tail
	exit 1
fi
vip_mac=$e2e_vip_mac
echo "VIP $vip is at $vip_mac after $e2e_tries tries"

# UAS sockets must be bound before the first INVITE: bounded check.
for b in "${backends[@]}"; do e2e_wait_udp "$b" || true; done

# ---- the calls, and malformed traffic meanwhile ----
e2e_spawn cli "$logs/inject.log" TERM \
	python3 "$here/inject.py" --iface eth0 --dst-mac "$vip_mac" --src "${addr[cli]}" \
	--vip "$vip" --port 5060 --count "$inject_count" --rate 100 --delay 1 \
	--expect "$logs/inject.json"
inject_pid=$e2e_pid

echo "placing $calls calls at $rate/s to $vip_uri:5060"
e2e_uac "$here/uac.xml" "${addr[cli]}" "$vip_uri:5060" \
	-m "$calls" -r "$rate" -l $((rate * 3)) -timeout 120s -timeout_error
uac_pid=$e2e_pid

uac_rc=0
e2e_wait "$uac_pid" 150 || uac_rc=$?
inject_rc=0
e2e_wait "$inject_pid" 20 || inject_rc=$?
[ "$inject_rc" -eq 0 ] || e2e_fail "inject.py exited with $inject_rc: $(tail -3 "$logs/inject.log")"

# Let the UAS finish the last calls' closing pause, then stop them (SIGINT).
sleep 2.5
for p in "${uas_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${uas_pids[@]}"; do e2e_wait "$p" 15 || true; done
[ -z "$e2e_siphon_pid" ] || e2e_siphon_stop || true
# decap.py writes how many packets it passed on when it stops.
for p in "${decap_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${decap_pids[@]}"; do e2e_wait "$p" 5 || true; done

e2e_dump_kernel cli lb "${backends[@]}" sw

# ipip: how many packets each backend's tunnel device delivered (a TUN device
# counts what decap.py wrote as received), read before the namespaces go.
declare -A tun_rx=()
if [ "$decap" != none ]; then
	for b in "${backends[@]}"; do
		tun_rx[$b]=$(ip netns exec "$(e2e_ns "$b")" cat /sys/class/net/tun0/statistics/rx_packets)
	done
fi

# ---- checks ----
# 1. the UAC's own verdict
e2e_uac_stats "$uac_rc"
[ "$uac_rc" -eq 0 ] || e2e_fail "sipp UAC exited with $uac_rc (0 = every call succeeded); see $logs/uac.screen"
if [ "${e2e_uac_ok:-0}" -ne "$calls" ] || [ "${e2e_uac_failed:-1}" -ne 0 ]; then
	e2e_fail "UAC: ${e2e_uac_ok:-?} successful / ${e2e_uac_failed:-?} failed calls, want $calls / 0"
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
	e2e_fail "dispatch check (UAS traces)"

if [ "$direct" -eq 0 ]; then
	# 3. malformed traffic counted by reason
	python3 "$here/counters.py" "$logs/inject.json" "$logs/siphon.log" ||
		e2e_fail "malformed traffic not counted as expected (siphon.log)"
	# 4. nobody but siphon answered for the VIP
	[ "$vip_mac" = "${e2e_mac[lb]}" ] ||
		e2e_fail "the client resolved the VIP to $vip_mac, not siphon's ${e2e_mac[lb]}"
	now=$(ip -n "$cli" neigh show "$vip" dev eth0 | awk '/lladdr/ {print $3}')
	[ "$now" = "${e2e_mac[lb]}" ] ||
		e2e_fail "after the run the client's entry for the VIP is '$now', not siphon's ${e2e_mac[lb]}"
	# 5. ipip: what the UAS received came out of the tunnel, i.e. siphon
	# encapsulated it (in l2dsr mode there is no tunnel and nothing to check).
	if [ "$decap" != none ]; then
		for b in "${backends[@]}"; do
			got=$(grep -c "message received" "$logs/$b.msg" || true)
			echo "$b: tunnel delivered ${tun_rx[$b]} packets, UAS received $got messages"
			[ "${tun_rx[$b]}" -ge "$got" ] ||
				e2e_fail "$b: UAS received $got messages but only ${tun_rx[$b]} came out of the tunnel"
		done
	fi
fi

e2e_finish
