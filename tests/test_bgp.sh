#!/usr/bin/env bash
# tests/test_bgp.sh - two siphon instances behind a BIRD router's ECMP, announced by BGP
# (issue 12 §2, docs/bgp.md).
#
#   test_bgp.sh SIPHON SIPHONCTL
#
# Namespaces bgp-<pid>-*: a router (BIRD, examples/bird/router.conf, ECMP with L4 hash)
# between a client (sipp UAC, one socket per call so calls spread over both paths) and
# a segment with two siphon instances (l2dsr, same configuration and key, each with its
# own BIRD, examples/bird/siphon-host.conf, peering with the router through siphon's
# exception path) and three sipp UAS backends. Two runs of calls:
#   graceful: SIGTERM to instance 1 mid-run: it withdraws the VIP, the router drops
#     that next hop, siphon forwards the stragglers for the drain time, stops; 0 calls
#     may fail;
#   kill: instance 1 restarted and announced again, then SIGKILL mid-run: its BIRD
#     drops the route with sph0 at once, the router after the hold time; traffic
#     converges onto instance 2; calls whose messages crossed instances must still have
#     reached one backend each; failed calls are counted and explained.
# Then instance 2 alone, without backends up, faces a BIRD whose configuration does not
# parse, then a BIRD that hangs (SIGSTOP), and is stopped with `siphonctl shutdown`.
# Ends with one line "test_bgp: summary: ..." (the figures) and the verdict. Needs root,
# bird, sipp, tshark; exits 77 (skipped) without them. Bounded: a watchdog ends the run
# after BGP_DEADLINE (170) s; tests/e2e/lib.sh kills every process and deletes every
# namespace on every way out.
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
[ "$#" -eq 2 ] || { echo "usage: test_bgp.sh SIPHON SIPHONCTL" >&2; exit 2; }
skip() { echo "test_bgp: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, TUN)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip bird birdc sipp tshark python3 timeout; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done
e2e_binaries test_bgp "$@"
here=$(cd "$(dirname "$0")" && pwd)
examples=$here/../examples/bird

e2e_prefix="bgp-$$" # namespaces bgp-<pid>-NODE, apart from the other e2e tests
# A run killed by SIGKILL could not clean up: remove its namespaces (bgp-<pid>-* whose
# <pid> is gone) and what still runs in them, so its BIRDs and daemons do not linger.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^bgp-[0-9]+-' || true); do
	pid=${ns#bgp-}
	pid=${pid%%-*}
	kill -0 "$pid" 2>/dev/null && continue
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null && echo "test_bgp: removed $ns, left by a run that was killed"
done
e2e_init test_bgp "${BGP_DEADLINE:-170}"
logs=$e2e_logs
# Each instance has its own DPDK prefix; remove their runtime folders on every way out.
trap 'rm -rf /var/run/dpdk/"$e2e_prefix"-lb?; _e2e_cleanup' EXIT
# shellcheck disable=SC2016 # expanded at cleanup
e2e_on_fail='for f in "$logs"/lb?.log "$logs"/bird-*.log; do [ ! -f "$f" ] || { echo "== $f"; tail -15 "$f"; }; done'
ok() { echo "ok: $1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the plan ----
vip=10.96.0.100 # routed to the instances, never on their segment
vip6=fd96::100
declare -A ip=([rtr]=10.97.0.1 [lb1]=10.97.0.2 [lb2]=10.97.0.3
	[b1]=10.97.0.11 [b2]=10.97.0.12 [b3]=10.97.0.13)
declare -A mac=([lb1]=02:97:00:00:00:02 [lb2]=02:97:00:00:00:03
	[b1]=02:97:00:00:00:11 [b2]=02:97:00:00:00:12 [b3]=02:97:00:00:00:13)
cli_ip=10.95.0.1 rtr_cli_ip=10.95.0.254
for n in "${!mac[@]}"; do e2e_mac[$n]=${mac[$n]}; done
rate=${BGP_RATE:-25} calls=${BGP_CALLS:-250} # 10 s of calls per run

# ---- topology: the segment (bridge) with rtr, lb1, lb2, b1..b3; cli behind rtr ----
e2e_topology rtr lb1 lb2 b1 b2 b3 cli
rtr=$(e2e_ns rtr) cli=$(e2e_ns cli)
e2e_host rtr "${ip[rtr]}/24"
ip -n "$cli" link add eth1 type veth peer name eth1 netns "$rtr"
ip -n "$cli" addr add "$cli_ip/24" dev eth1
ip -n "$rtr" addr add "$rtr_cli_ip/24" dev eth1
ip -n "$cli" link set eth1 up
ip -n "$rtr" link set eth1 up
ip -n "$cli" route add default via "$rtr_cli_ip"
ip netns exec "$rtr" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
# siphon forwards frames as it read them: the checksums must be complete before that.
ip netns exec "$cli" python3 "$e2e_here/txcsum_off.py" eth1
e2e_txcsum_off rtr
for b in b1 b2 b3; do
	e2e_backend "$b" "${ip[$b]}/24" -- "$vip"
	ip -n "$(e2e_ns "$b")" route add default via "${ip[rtr]}" # replies go straight back
done
for i in lb1 lb2; do e2e_lb "$i" --exception; done

# ---- backends ----
for b in b1 b2 b3; do e2e_uas "$b" "$b" "$vip"; done
for b in b1 b2 b3; do
	e2e_wait_udp "$b" "$vip" || { e2e_fail "the UAS of $b did not bind $vip:5060"; exit 1; }
done

# ---- the instances: one configuration, but the port address and the local paths ----
conf() { # conf INSTANCE
	local i=$1 b sep=
	echo 'hash_key = "siphon-bgp-ecmp-test-key-2026";'
	echo "ports = ( { name = \"front\"; device = \"net_af_packet0\"; exception = \"sph0\";"
	echo "          addresses = [ \"${ip[$i]}/24\" ]; gateway4 = \"${ip[rtr]}\"; } );"
	echo 'groups = ( { name = "g"; backends = ('
	for b in b1 b2 b3; do
		echo "    $sep{ name = \"$b\"; address = \"${ip[$b]}\"; mac = \"${mac[$b]}\"; }"
		sep=,
	done
	echo '); },'
	# An IPv6 VIP too, never routed here: its route must land in siphon_vips6, and
	# BIRD must take it.
	echo '{ name = "g6"; backends = ( { name = "c1"; address = "fd97::11"; mac = "02:97:00:00:00:21"; } ); } );'
	echo "vips = ( { address = \"$vip\"; ports = [ 5060 ]; group = \"g\"; mode = \"l2dsr\"; },"
	echo "         { address = \"$vip6\"; ports = [ 5060 ]; group = \"g6\"; } );"
	echo "control = { socket = \"$logs/$i.sock\"; };"
	echo 'metrics = { listen = "127.0.0.1:9100"; };'
	echo 'health = { enabled = false; };' # the UAS answers on the VIP only
	echo "announce = { file = \"$logs/$i/vips.conf\"; bird_socket = \"$logs/$i/bird.ctl\";"
	echo "             interface = \"sph0\"; shutdown_drain_ms = ${BGP_DRAIN_MS:-3000}; };"
}
declare -A spid=() # the timeout wrapper of each instance's siphon
siphon_start() { # siphon_start INSTANCE LOG
	local i=$1
	mkdir -p "$logs/$i"
	conf "$i" >"$logs/$i.conf"
	e2e_spawn "$i" "$logs/$2" INT "$e2e_siphon" --no-huge -m 512 --no-pci --no-shconf \
		--file-prefix="$e2e_prefix-$i" --no-telemetry --log-level=lib.eal:error -l 0,1 \
		--vdev net_af_packet0,iface=eth0,qpairs=1 -- --config "$logs/$i.conf"
	spid[$i]=$e2e_pid
}
# The daemon itself (a child of its timeout wrapper), for SIGKILL.
siphon_pid() { pgrep -P "${spid[$1]}" -x siphon; }
ctl() { # ctl INSTANCE ARG...
	local i=$1
	shift
	ip netns exec "$(e2e_ns "$i")" timeout 10 "$e2e_siphonctl" --socket "$logs/$i.sock" "$@"
}
siphon_up() { # siphon_up INSTANCE: the control socket answers and sph0 is there
	for _ in $(seq 100); do
		kill -0 "${spid[$1]}" 2>/dev/null || return 1
		ip -n "$(e2e_ns "$1")" link show sph0 >/dev/null 2>&1 && ctl "$1" show vips >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	return 1
}
# A log per start of each instance: lb1.log, then lb1.2.log for the restart.
for i in lb1 lb2; do
	siphon_start "$i" "$i.log"
	siphon_up "$i" || { e2e_fail "siphon $i did not come up"; exit 1; }
done
ok "both instances forward (their BIRD not started yet)"

# ---- BIRD: one beside each instance, the router ----
declare -A bpid=() # the timeout wrapper of each instance's BIRD
for i in lb1 lb2; do
	sed -e "s|10\.97\.0\.2\b|${ip[$i]}|g" -e "s|/run/siphon/vips.conf|$logs/$i/vips.conf|" \
		"$examples/siphon-host.conf" >"$logs/$i/bird.conf"
	e2e_spawn "$i" "$logs/bird-$i.log" TERM bird -f -c "$logs/$i/bird.conf" -s "$logs/$i/bird.ctl"
	bpid[$i]=$e2e_pid
done
mkdir -p "$logs/rtr"
e2e_spawn rtr "$logs/bird-rtr.log" TERM bird -f -c "$examples/router.conf" -s "$logs/rtr/bird.ctl"

# nexthops: how many next hops the router's kernel has for the VIP now.
nexthops() {
	ip -n "$rtr" -4 route show "$vip/32" | awk '/nexthop/ {n++} /^[0-9].* via / {n = 1} END {print n + 0}'
}
wait_nexthops() { # wait_nexthops N SECONDS: until the router has N next hops
	local end=$(($(now_ms) + $2 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(nexthops)" -eq "$1" ] && return 0
		sleep 0.02
	done
	return 1
}
t0=$(now_ms)
wait_nexthops 2 30 || {
	e2e_fail "the router has $(nexthops) next hops for $vip, want 2"
	ip -n "$rtr" route >>"$logs/kernel.txt"
	exit 1
}
ok "announced: the router routes $vip over both instances $(($(now_ms) - t0)) ms after BIRD started: $(ip -n "$rtr" route show "$vip/32" | tr -s ' \n' ' ')"

# The announcer's view, the metric and the file.
ctl lb1 show announce >"$logs/announce-lb1.txt" || e2e_fail "siphonctl show announce"
grep -Eq "^$vip +yes +yes" "$logs/announce-lb1.txt" &&
	ok "show announce: $vip servable and announced" ||
	e2e_fail "show announce on lb1: $(tr '\n' '|' <"$logs/announce-lb1.txt")"
metric=$(ip netns exec "$(e2e_ns lb1)" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5).read().decode())' |
	grep "^siphon_vip_announced{vip=\"$vip\"}" || true)
[ "$metric" = "siphon_vip_announced{vip=\"$vip\"} 1" ] && ok "metric: $metric" ||
	e2e_fail "metric siphon_vip_announced on lb1: '$metric'"
grep -q "route $vip/32 via \"sph0\";" "$logs/lb1/vips.conf" || e2e_fail "lb1's include file: $(cat "$logs/lb1/vips.conf")"
if grep -Eq "^$vip6 +yes +yes" "$logs/announce-lb1.txt" &&
	sed -n '/siphon_vips6/,/}/p' "$logs/lb1/vips.conf" | grep -q "route $vip6/128 via \"sph0\";"; then
	ok "IPv6: $vip6 in siphon_vips6, announced (BIRD took it)"
else
	e2e_fail "IPv6 VIP: $(tr '\n' '|' <"$logs/lb1/vips.conf")"
fi

# ---- a run of calls: the UAC, a capture at the router of what goes to each instance ----
# run_start TAG: sipp UAC (one socket per call: -t un), calls Call-IDs TAG-<n>@siphon.
run_start() {
	local tag=$1
	e2e_spawn rtr "$logs/$tag.cap.log" INT tshark -l -n -i eth0 \
		-f "udp and dst host $vip and dst port 5060" -T fields -E separator=/t \
		-e frame.time_epoch -e eth.dst -e sip.Call-ID -e sip.Method
	cap_pid=$e2e_pid
	for _ in $(seq 100); do
		grep -q "Capturing on" "$logs/$tag.cap.log" 2>/dev/null && break
		sleep 0.1
	done
	e2e_spawn cli "$logs/$tag.uac.out" INT sipp -sf "$e2e_here/uac.xml" -i "$cli_ip" -p 5060 \
		-t un -max_socket 2000 -nostdin -buff_size 4194304 -trace_err -trace_stat -stf "$logs/$tag.uac.csv" -fd 1 \
		-error_file "$logs/$tag.uac.err" -screen_file "$logs/$tag.uac.screen" \
		-cid_str "$tag-%u@siphon" -r "$rate" -m "$calls" -l 200 -timeout 60 -timeout_error \
		-recv_timeout 20000 "$vip:5060"
	uac_pid=$e2e_pid
}
# run_end TAG: wait for the UAC, stop the capture, set ok_calls and failed_calls.
run_end() {
	local tag=$1 rc=0 stats
	e2e_wait "$uac_pid" 80 || rc=$?
	sleep 0.5 # the last BYE's capture
	kill -INT "$cap_pid" 2>/dev/null || true
	e2e_wait "$cap_pid" 10 || true
	stats=$(python3 "$e2e_here/traces.py" uac-stats "$logs/$tag.uac.csv" || true)
	ok_calls=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$stats")
	failed_calls=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$stats")
	echo "$tag: UAC exit $rc, $stats"
}
# analyse TAG T-MS: per call, the instances the router sent it to (capture) and the
# backends that received it (UAS traces); after=N: messages the router sent to lb1 later
# than T-MS (epoch ms). Prints "key=value" figures.
analyse() {
	python3 - "$1" "$2" "${mac[lb1]}" "${mac[lb2]}" "$logs" <<'EOF'
import collections, os, re, sys
tag, after_ms, m1, m2, logs = sys.argv[1:6]
after = 0
inst = collections.defaultdict(set)   # Call-ID -> instances the router sent it to
late = collections.Counter()          # Call-ID -> messages sent to the stopped instance
for line in open(os.path.join(logs, tag + ".cap.log"), errors="replace"):
    f = line.rstrip("\n").split("\t")
    if len(f) < 4 or not f[2].startswith(tag + "-"):
        continue
    name = {m1: "lb1", m2: "lb2"}.get(f[1].lower(), f[1])
    inst[f[2]].add(name)
    after += name == "lb1" and float(f[0]) * 1000 > int(after_ms)
sep = re.compile(r"^-{20,} \d{4}-\d\d-\d\d .*$", re.M)
cid = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
where = collections.defaultdict(set)  # Call-ID -> backends
for b in ("b1", "b2", "b3"):
    text = open(os.path.join(logs, b + ".msg"), errors="replace").read()
    for block in sep.split(text):
        head, _, msg = block.lstrip("\n").partition("\n")
        m = cid.search(msg) if "message received" in head else None
        if m and m.group(1).startswith(tag + "-"):
            where[m.group(1)].add(b)
both = [c for c in inst if len(inst[c]) > 1]
split = [c for c in where if len(where[c]) > 1]
kept = [c for c in both if len(where[c]) == 1]
print("calls_seen=%d crossed=%d crossed_kept=%d split=%d unreached=%d after=%d" % (
    len(inst), len(both), len(kept), len(split), len([c for c in inst if not where[c]]), after))
for c in split[:3]:
    print("split_example=%s:%s" % (c, ",".join(sorted(where[c]))), file=sys.stderr)
EOF
}
# fig NAME FIGURES: the value of NAME in analyse's output.
fig() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }
# why TAG: the reasons sipp gave for the calls it aborted (the UAC) or for messages of
# TAG's calls it could not place (the UAS of each backend, e.g. a BYE for a call it had
# given up), counted; "none" without any. sipp's error files run the events together:
# split them at their timestamps.
why() {
	python3 - "$1" "$logs" <<'EOF'
import collections, os, re, sys
tag, logs = sys.argv[1:3]
out = []
for who, name in (("UAC", tag + ".uac.err"), ("b1", "b1.err"), ("b2", "b2.err"), ("b3", "b3.err")):
    path = os.path.join(logs, name)
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    why = collections.Counter()
    for ev in re.split(r"\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: ", text)[1:]:
        if who != "UAC" and tag + "-" not in ev:
            continue
        m = re.match(r"Call-Id: [^,]*, (.*?)(?: without label.*)?(?:: aborting call)?$",
                     ev.strip().split("\n")[0])
        why[m.group(1) if m else ev.strip().split("\n")[0][:70]] += 1
    out += ["%s: %d x %s" % (who, n, w) for w, n in why.most_common(2)]
print("; ".join(out) or "none")
EOF
}

# ---- run 1: graceful shutdown of lb1 ----
echo "=== graceful: SIGTERM to lb1 in the middle of $calls calls"
run_start grace
sleep 4
t_term=$(now_ms)
kill -TERM "$(siphon_pid lb1)"
if wait_nexthops 1 10; then
	grace_withdraw=$(($(now_ms) - t_term))
	ok "graceful: the router dropped lb1 $grace_withdraw ms after SIGTERM"
else
	grace_withdraw=never
	e2e_fail "graceful: the router kept lb1's next hop"
fi
rc=0
e2e_wait "${spid[lb1]}" 20 || rc=$?
grace_stop=$(($(now_ms) - t_term))
if [ "$rc" -eq 0 ]; then
	ok "graceful: lb1 exited 0 after $grace_stop ms"
else
	e2e_fail "graceful: lb1 exited with $rc"
fi
grep -q "withdrawal confirmed by BIRD" "$logs/lb1.log" ||
	e2e_fail "graceful: lb1 did not log BIRD's confirmation ($(grep shutdown "$logs/lb1.log" | tr '\n' '|'))"
grep -q "route " "$logs/lb1/vips.conf" && e2e_fail "graceful: lb1's include file still routes"
run_end grace
grace_ok=$ok_calls grace_failed=$failed_calls
grace_fig=$(analyse grace "$((t_term + grace_stop))")
echo "graceful: $grace_fig"
if [ "$grace_failed" = 0 ] && [ "$grace_ok" = "$calls" ]; then
	ok "graceful: $calls of $calls calls"
else
	e2e_fail "graceful: $grace_ok calls succeeded, $grace_failed failed ($(why grace))"
fi
[ "$(fig split "$grace_fig")" = 0 ] || e2e_fail "graceful: calls reached several backends"
[ "$(fig after "$grace_fig")" = 0 ] ||
	e2e_fail "graceful: the router sent $(fig after "$grace_fig") messages to lb1 after it stopped"

# ---- restart lb1: announced again ----
siphon_start lb1 lb1.2.log
siphon_up lb1 || { e2e_fail "siphon lb1 did not come up again"; exit 1; }
t0=$(now_ms)
wait_nexthops 2 30 || { e2e_fail "lb1 restarted, but the router has $(nexthops) next hops"; exit 1; }
ok "restarted lb1 announced again after $(($(now_ms) - t0)) ms (BGP session re-established)"

# session NAME: the router's BGP session NAME as "state since info" (BIRD's show protocols).
session() {
	ip netns exec "$rtr" birdc -s "$logs/rtr/bird.ctl" show protocols "$1" 2>/dev/null |
		awk -v p="$1" '$1 == p {print $4, $5, $6}'
}

# ---- run 2: SIGKILL of lb1 ----
echo "=== kill: SIGKILL to lb1 in the middle of $calls calls"
lb2_session=$(session siphon2)
run_start kill
sleep 4
lb1_ns=$(e2e_ns lb1)
t_kill=$(now_ms)
kill -KILL "$(siphon_pid lb1)" # bash then reports its wrapper "Killed": expected
# lb1's own BIRD drops the route as soon as sph0 is gone; the router after the hold time.
local_drop=never
for _ in $(seq 200); do
	if ! ip netns exec "$lb1_ns" birdc -s "$logs/lb1/bird.ctl" show route protocol siphon_vips4 2>/dev/null |
		grep -q "$vip"; then
		local_drop=$(($(now_ms) - t_kill))
		break
	fi
	sleep 0.02
done
if wait_nexthops 1 15; then
	kill_withdraw=$(($(now_ms) - t_kill))
else
	kill_withdraw=never
	e2e_fail "kill: the router kept lb1's next hop"
fi
if [ "$local_drop" != never ] && [ "$kill_withdraw" != never ]; then
	ok "kill: lb1's BIRD dropped the route $local_drop ms after SIGKILL, the router $kill_withdraw ms after"
else
	[ "$local_drop" != never ] || e2e_fail "kill: lb1's BIRD kept the route with siphon dead"
fi
run_end kill
kill_ok=$ok_calls kill_failed=$failed_calls
# Should lb2's session go down meanwhile (a machine so loaded that BIRD misses the hold
# time), the VIP has no route for a while: say so, as it explains failed calls.
flap=
if [ "$(session siphon2)" != "$lb2_session" ]; then
	flap="; lb2's session went down and up meanwhile (was '$lb2_session', now '$(session siphon2)')"
	echo "kill: the surviving instance's session flapped$flap"
fi
kill_fig=$(analyse kill "$t_kill")
echo "kill: $kill_fig"
[ "$(fig split "$kill_fig")" = 0 ] || e2e_fail "kill: calls reached several backends (ECMP moved them across instances with different tables?)"
[ "$(fig crossed "$kill_fig")" -gt 0 ] || e2e_fail "kill: no call crossed from lb1 to lb2: the failover was not exercised"
[ "$((kill_ok + kill_failed))" = "$calls" ] || e2e_fail "kill: $kill_ok + $kill_failed calls, want $calls"
# A call can fail only if lb1's next hop blackholed it: at most the calls placed from
# one second before the kill to the withdrawal (retransmissions save most of them).
max_fail=$(((${kill_withdraw/never/0} + 1000) * rate / 1000))
[ "$kill_failed" -le "$max_fail" ] || e2e_fail "kill: $kill_failed calls failed, more than the $max_fail placed around the blackhole"
kill_why=none
[ "$kill_failed" = 0 ] || kill_why=$(why kill)

# ---- lb2 alone: no backend up, and a BIRD that refuses ----
# announce_field INSTANCE FIELD: a number from show announce (failures.X, reconfigures).
announce_field() {
	ctl "$1" --json show announce | python3 -c 'import json, sys
a = json.load(sys.stdin)["announce"]
for k in sys.argv[1].split("."):
    a = a[k]
print(int(a))' "$2"
}
[ "$(announce_field lb2 failures.connect)" -ge 1 ] &&
	ok "lb2 started before its BIRD: $(announce_field lb2 failures.connect) connect failure(s) counted, then announced" ||
	e2e_fail "lb2 counted no connect failure although its BIRD started after it"
# BIRD's configuration broken: the withdrawal is refused, counted, and the route stays.
cp "$logs/lb2/bird.conf" "$logs/lb2/bird.conf.good"
echo "this is not bird syntax;" >>"$logs/lb2/bird.conf"
rejected=$(announce_field lb2 failures.rejected)
for b in b1 b2 b3; do ctl lb2 backend state "$b" down >/dev/null; done
for _ in $(seq 50); do
	[ "$(announce_field lb2 failures.rejected)" -gt "$rejected" ] && break
	sleep 0.1
done
if [ "$(announce_field lb2 failures.rejected)" -gt "$rejected" ] && [ "$(nexthops)" -eq 1 ]; then
	ok "no backend up, BIRD's configuration broken: configure refused and counted, the route stays (BIRD keeps its last good configuration)"
else
	e2e_fail "a refused configure: rejected $(announce_field lb2 failures.rejected) (was $rejected), next hops $(nexthops)"
fi
# Repaired: the next retry (every second) goes through and the VIP is withdrawn.
cp "$logs/lb2/bird.conf.good" "$logs/lb2/bird.conf"
wait_nexthops 0 10 && ok "BIRD repaired: retried, withdrawn (no backend up)" ||
	e2e_fail "no backend up on lb2, BIRD repaired, but the router has $(nexthops) next hops"
ctl lb2 backend state b2 up >/dev/null
wait_nexthops 1 10 && ok "one backend up again: announced again" ||
	e2e_fail "b2 up on lb2, but the router has $(nexthops) next hops"
# A BIRD that hangs (SIGSTOP: its socket still accepts, nothing answers): the
# conversation times out, is counted, and the daemon goes on answering meanwhile.
bird_lb2=$(pgrep -P "${bpid[lb2]}" -x bird)
timeouts=$(announce_field lb2 failures.timeout)
kill -STOP "$bird_lb2"
ctl lb2 backend state b2 down >/dev/null
for _ in $(seq 50); do
	[ "$(announce_field lb2 failures.timeout)" -gt "$timeouts" ] && break
	sleep 0.1
done
if [ "$(announce_field lb2 failures.timeout)" -gt "$timeouts" ] && ctl lb2 show vips >/dev/null; then
	ok "BIRD stopped: configure timed out, counted, siphonctl still answered"
else
	e2e_fail "BIRD stopped: timeouts $(announce_field lb2 failures.timeout) (was $timeouts)"
fi
kill -CONT "$bird_lb2"
pending=1
for _ in $(seq 50); do
	ctl lb2 --json show announce | grep -q '"pending": false' && { pending=0; break; }
	sleep 0.1
done
if [ "$pending" -eq 0 ] && ! ip netns exec "$(e2e_ns lb2)" birdc -s "$logs/lb2/bird.ctl" \
	show route protocol siphon_vips4 | grep -q "$vip"; then
	ok "BIRD resumed: the retry went through, the VIP withdrawn from it"
else
	e2e_fail "BIRD resumed: pending $pending, or its table still has $vip"
fi
ctl lb2 backend state b2 up >/dev/null
wait_nexthops 1 20 || e2e_fail "b2 up after BIRD resumed, but the router has $(nexthops) next hops"
# siphonctl shutdown: as SIGTERM.
out=$(ctl lb2 shutdown) || e2e_fail "siphonctl shutdown: $out"
t_term=$(now_ms)
rc=0
wait_nexthops 0 10 || e2e_fail "siphonctl shutdown: the router kept lb2's next hop"
e2e_wait "${spid[lb2]}" 20 || rc=$?
if [ "$rc" -eq 0 ] && grep -q "withdrawal confirmed by BIRD" "$logs/lb2.log"; then
	ok "siphonctl shutdown ($out): withdrawn, lb2 exited 0 after $(($(now_ms) - t_term)) ms"
else
	e2e_fail "siphonctl shutdown: lb2 exited with $rc ($(grep shutdown "$logs/lb2.log" | tr '\n' '|'))"
fi

echo "test_bgp: summary: graceful (SIGTERM): withdrawn in ${grace_withdraw} ms, stopped after ${grace_stop} ms, ${grace_ok}/${calls} calls ok, ${grace_failed} failed;" \
	"kill (SIGKILL): instance's BIRD dropped the route in ${local_drop} ms, router withdrew in ${kill_withdraw} ms (hold time 3 s)," \
	"$(fig after "$kill_fig") messages blackholed meanwhile, ${kill_ok}/${calls} calls ok, $(fig crossed "$kill_fig") crossed instances mid-call and all kept their backend ($(fig split "$kill_fig") split)," \
	"${kill_failed} failed (${kill_why}${flap})"
e2e_finish "graceful ${grace_failed} failed, kill ${kill_failed} failed"
