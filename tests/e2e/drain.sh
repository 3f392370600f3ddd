#!/usr/bin/env bash
# tests/e2e/drain.sh - calls in progress survive a drain and an add (docs/dialogs.md), end to
# end: real sipp calls through siphon (l2dsr, IPv4) while the control plane changes the group.
#
#   drain.sh [SIPHON_BIN [SIPHONCTL_BIN]]
#
# Same network as run.sh and health.sh (namespace building, cleanup trap and helpers copied
# from health.sh in reduced form): a bridge, a client with a sipp UAC, four backends b1..b4
# each with a sipp UAS bound to the VIP on lo, siphon on net_af_packet. The configuration
# holds b1..b3; b4 runs from the start but is not in it. Health checks are off.
#
# Timeline: the UAC places CALLS calls at RATE/s, each held HOLD_MS between its ACK and its
# BYE (the scenario is uac.xml with a longer pause), so ~RATE x HOLD calls are in progress
# at any time. At DRAIN_AT s `siphonctl backend state b2 drain`; at ADD_AT s `siphonctl
# backend add e2e b4 ...`. siphon's configuration sets dialog_window = WINDOW, so the
# transition window also closes during the run. Checks:
#   1. the UAC: CALLS successful calls, 0 failed;
#   2. the UAS traces (traces.py dispatch): every Call-ID at exactly one backend, with its
#      INVITE, ACK and BYE;
#   3. no new call on b2 after the drain command returned: siphon's INVITE counter of b2
#      does not move from then on, and no b2 trace shows an INVITE received later than
#      the command's return (+ SLACK_MS for the frames already on their way);
#   4. b4 took no message of a call whose INVITE arrived before the add, and takes its share
#      of the calls started after it (at least half of 1/3);
#   5. siphon counted its transition work (affinity_insert, dispatch_old > 0).
#
# Environment: CALLS (1000), RATE (50), HOLD_MS (4000), DRAIN_AT (5), ADD_AT (10), WINDOW
# (8 s), SLACK_MS (200), E2E_DEADLINE (150 s), E2E_LOGS (a new or empty directory to keep
# the logs; default kept only on failure). Needs root, ip, sipp, python3, timeout, ss.
# Output ends with "e2e drain: PASS" or "... FAIL (reasons)"; exit 0 on pass.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
siphon=${1:-$root/build/dataplane/siphon}
siphonctl=${2:-$(dirname "$siphon")/../ctl/siphonctl}
calls=${CALLS:-1000}
rate=${RATE:-50}
hold_ms=${HOLD_MS:-4000}
drain_at=${DRAIN_AT:-5}
add_at=${ADD_AT:-10}
window=${WINDOW:-8}
slack_ms=${SLACK_MS:-200}
deadline=${E2E_DEADLINE:-150}
proc_timeout=$((deadline - 10))

[ "$(id -u)" -eq 0 ] || { echo "drain.sh: needs root (namespaces)" >&2; exit 2; }
for tool in ip sipp python3 timeout ss; do
	command -v "$tool" >/dev/null || { echo "drain.sh: $tool not found" >&2; exit 2; }
done
[ -x "$siphon" ] && [ -x "$siphonctl" ] ||
	{ echo "drain.sh: $siphon or $siphonctl not found (build first)" >&2; exit 2; }

declare -A ip4=([cli]=10.99.0.1 [lb]=10.99.0.2 [b1]=10.99.0.11 [b2]=10.99.0.12 [b3]=10.99.0.13
	[b4]=10.99.0.14)
declare -A mac=([cli]=02:99:00:00:00:01 [lb]=02:99:00:00:00:02 [b1]=02:99:00:00:00:11
	[b2]=02:99:00:00:00:12 [b3]=02:99:00:00:00:13 [b4]=02:99:00:00:00:14)
vip=10.99.0.100
backends=(b1 b2 b3 b4)
PREFIX="sph$$"
ns() { echo "$PREFIX-$1"; }
name="e2e drain"

logs=${E2E_LOGS:-$(mktemp -d /tmp/siphon-e2e-drain.XXXXXX)}
mkdir -p "$logs"
[ -z "$(ls -A "$logs")" ] || { echo "drain.sh: E2E_LOGS=$logs is not empty" >&2; exit 2; }
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

# ---- topology (run.sh's, IPv4 only, four backends) ----
echo "== $name: namespaces $PREFIX-{sw,cli,lb,b1,b2,b3,b4}, logs in $logs"
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
lb=$(ns lb)
ip -n "$lb" link set eth0 up
for b in "${backends[@]}"; do
	n=$(ns "$b")
	ip netns exec "$n" sysctl -qw \
		net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
	ip -n "$n" link set eth0 up
	ip -n "$n" addr add "${ip4[$b]}/24" dev eth0
	ip -n "$n" addr add "$vip/32" dev lo
done

# ---- backends' UAS (b4 too: it waits for the add) ----
sipp_common=(-t u1 -nostdin -buff_size 4194304 -trace_err -trace_screen -trace_msg)
declare -A uas_pid=()
for b in "${backends[@]}"; do
	spawn "$b" "$logs/$b.out" INT \
		sipp -sf "$here/uas.xml" -i "$vip" -p 5060 "${sipp_common[@]}" \
		-message_file "$logs/$b.msg" -error_file "$logs/$b.err" -screen_file "$logs/$b.screen"
	uas_pid[$b]=${pids[-1]}
done

# ---- siphon ----
{
	echo "# generated by tests/e2e/drain.sh"
	echo 'hash_key = "siphon-e2e-test-key-not-secret";'
	echo 'stats_interval = 1;'
	echo "dialog_window = $window;"
	echo 'health = { enabled = false; };'
	echo 'ports = ( { name = "lan"; device = "net_af_packet0"; addresses = [ "10.99.0.2/24" ]; } );'
	echo 'groups = ( { name = "e2e"; backends = ('
	echo "    { name = \"b1\"; address = \"${ip4[b1]}\"; },"
	echo "    { name = \"b2\"; address = \"${ip4[b2]}\"; },"
	echo "    { name = \"b3\"; address = \"${ip4[b3]}\"; }"
	echo '); } );'
	echo "vips = ( { address = \"$vip\"; ports = [ 5060 ]; group = \"e2e\"; mode = \"l2dsr\"; } );"
	echo "control = { socket = \"$sock\"; };"
} >"$logs/siphon.conf"
eal=${SIPHON_EAL:---no-huge -m 512 --no-pci --no-shconf --file-prefix=$PREFIX --no-telemetry -l 0,1 --vdev net_af_packet0,iface=eth0,qpairs=1}
# shellcheck disable=SC2086
spawn lb "$logs/siphon.log" INT "$siphon" $eal -- --config "$logs/siphon.conf"
siphon_pid=${pids[-1]}

invites() { # invites BACKEND: INVITEs siphon forwarded to it
	ctl --json show backends 2>/dev/null | python3 -c 'import json,sys
j = json.load(sys.stdin)
print([b["counters"]["requests_by_method"]["INVITE"] for b in j["backends"] if b["name"] == sys.argv[1]][0])' "$1"
}
now() { date +%s.%N; }

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
	for _ in $(seq 40); do
		ip netns exec "$(ns "$b")" ss -Hlun "sport = :5060" | grep -q "$vip" && break
		sleep 0.1
	done
done

# ---- the calls: uac.xml, held HOLD_MS between ACK and BYE ----
sed "s/<pause milliseconds=\"1000\"\/>/<pause milliseconds=\"$hold_ms\"\/>/" "$here/uac.xml" >"$logs/uac.xml"
grep -q "milliseconds=\"$hold_ms\"" "$logs/uac.xml" || { fail "cannot set the hold time in uac.xml"; exit 1; }
echo "placing $calls calls at $rate/s, each held $hold_ms ms"
spawn cli "$logs/uac.out" INT \
	sipp -sf "$logs/uac.xml" -i "${ip4[cli]}" -p 5060 "${sipp_common[@]}" \
	-m "$calls" -r "$rate" -l $((rate * (hold_ms / 1000 + 3))) -timeout 100s \
	-cid_str 'e2e-%u@siphon' \
	-message_file "$logs/uac.msg" -error_file "$logs/uac.err" -screen_file "$logs/uac.screen" \
	-trace_stat -stf "$logs/uac.csv" -fd 1 \
	"$vip:5060"
uac_pid=${pids[-1]}

sleep "$drain_at"
ctl backend state b2 drain || fail "siphonctl backend state b2 drain failed"
t_drain=$(now)
b2_at_drain=$(invites b2)
echo "b2 draining at $t_drain ($b2_at_drain INVITEs forwarded to it so far)"
sleep "$((add_at - drain_at))"
ctl backend add e2e b4 "${ip4[b4]}" --mac "${mac[b4]}" || fail "siphonctl backend add b4 failed"
t_add=$(now)
echo "b4 added at $t_add"
ctl show backends | tee "$logs/backends-after-add.txt" || true

uac_rc=0
wait_for "$uac_pid" 120 || uac_rc=$?
b2_at_end=$(invites b2)
ctl --json show stats >"$logs/stats.json" || true
ctl show backends | tee "$logs/backends-end.txt" || true
sleep 2.5
for b in "${backends[@]}"; do kill -INT "${uas_pid[$b]}" 2>/dev/null || true; done
for b in "${backends[@]}"; do wait_for "${uas_pid[$b]}" 15 || true; done
kill -INT "$siphon_pid" 2>/dev/null || true
siphon_rc=0
wait_for "$siphon_pid" 15 || siphon_rc=$?
case "$siphon_rc" in 0 | 130) ;; *) fail "siphon exited with status $siphon_rc" ;; esac

# ---- checks ----
# 1. the UAC
stats=$(python3 "$here/traces.py" uac-stats "$logs/uac.csv") || true
echo "UAC: exit $uac_rc, $stats"
ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$stats")
bad=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$stats")
if [ "${ok:-0}" -ne "$calls" ] || [ "${bad:-1}" -ne 0 ]; then
	fail "UAC: ${ok:-?} successful / ${bad:-?} failed calls, want $calls / 0"
fi
# 2. each call whole on one backend (shares are not equal here: b2 stops, b4 starts late)
python3 "$here/traces.py" dispatch --calls "$calls" --tolerance 1.0 --strays \
	b1="$logs/b1.msg,$logs/b1.err" b2="$logs/b2.msg,$logs/b2.err" \
	b3="$logs/b3.msg,$logs/b3.err" b4="$logs/b4.msg,$logs/b4.err" ||
	fail "dispatch check (UAS traces)"
# 3. no new call on b2 after the drain returned: siphon's counter ...
echo "b2: $b2_at_drain INVITEs forwarded at the drain, $b2_at_end at the end"
[ "$b2_at_end" = "$b2_at_drain" ] || fail "siphon forwarded $((b2_at_end - b2_at_drain)) INVITEs to b2 after the drain"
# ... 3, 4, 5 from the traces' time stamps and siphon's counters
python3 - "$logs" "$t_drain" "$t_add" "$slack_ms" <<'PY' || fail "drain/add trace check"
import datetime, json, re, sys
logs, t_drain, t_add, slack = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]) / 1000
SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)", re.M)
CID = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
first = {}  # Call-ID -> (time of its first INVITE anywhere, backend)
late_b2 = []
for b in ("b1", "b2", "b3", "b4"):
    text = open(f"{logs}/{b}.msg", errors="replace").read()
    parts = SEP.split(text)
    for i in range(1, len(parts) - 1, 2):
        stamp, block = parts[i], parts[i + 1].lstrip("\r\n")
        if "message received" not in block.split("\n", 1)[0]:
            continue
        msg = block.split("\n", 1)[1].lstrip("\r\n")
        if not msg.startswith("INVITE "):
            continue
        t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        m = CID.search(msg)
        cid = m.group(1) if m else None
        if cid not in first or t < first[cid][0]:
            first[cid] = (t, b)
        if b == "b2" and t > t_drain + slack:
            late_b2.append(cid)
problems = []
if late_b2:
    problems.append(f"{len(late_b2)} INVITEs reached b2 more than {slack}s after the drain, e.g. {late_b2[0]}")
before_add = [c for c, (t, b) in first.items() if b == "b4" and t < t_add - slack]
if before_add:
    problems.append(f"b4 holds {len(before_add)} calls begun before the add, e.g. {before_add[0]}")
after = [b for c, (t, b) in first.items() if t > t_add + slack]
b4 = after.count("b4")
print(f"calls begun after the add: {len(after)}, b4 took {b4} "
      f"({100.0 * b4 / max(len(after), 1):.1f}%, fair 33.3%); b1 {after.count('b1')}, "
      f"b2 {after.count('b2')}, b3 {after.count('b3')}")
if len(after) < 30 or b4 < len(after) / 6:
    problems.append(f"b4 took {b4} of {len(after)} calls begun after the add, want >= 1/6")
c = json.load(open(f"{logs}/stats.json"))["counters"]
keys = ("dispatch_old", "affinity_hit", "affinity_insert", "affinity_full")
print("siphon:", ", ".join(f"{k}={c.get(k)}" for k in keys))
if not c.get("affinity_insert") or not c.get("dispatch_old"):
    problems.append("siphon counted no transition work (affinity_insert, dispatch_old)")
for p in problems:
    print("drain:", p)
sys.exit(1 if problems else 0)
PY
grep -E "transition window" "$logs/siphon.log" || true

if [ "${#failures[@]}" -eq 0 ]; then
	result=0
	echo "$name: PASS (UAC: $ok successful, $bad failed)"
else
	echo "$name: FAIL (${#failures[@]}: ${failures[*]})"
fi
verdict=1
