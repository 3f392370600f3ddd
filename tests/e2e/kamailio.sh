#!/usr/bin/env bash
# tests/e2e/kamailio.sh - real proxies as backends: three Kamailio 5.6 proxies running
# examples/backends/kamailio.cfg behind siphon (l2dsr or ipip, IPv4, health checks on), relaying
# real calls from a sipp UAC to a sipp UAS callee, through a drain and a killed proxy.
#
#   kamailio.sh [SIPHON_BIN [SIPHONCTL_BIN]]        MODE=ipip for IP-in-IP (default l2dsr)
#
# Network (lib.sh, namespaces kam-<pid>-*, always cleaned up): one bridge; the client cli
# (sipp UAC); siphon in lb on net_af_packet, its port with an exception path (probes
# leave from siphon's own address, as health.sh's) and udp_checksum = "fill"; proxies
# b1..b3, each with the VIP on lo and its own address on eth0, running the shipped
# configuration with the three addresses substituted; the callee core (sipp UAS) at
# 10.99.0.50. No node turns TX checksum offload off (txcsum_off.py): the partial
# checksums of the client's veth and of the proxies' probe replies are completed by
# siphon's fill, which this run tests too.
#
# A call: UAC -> VIP (siphon, by Call-ID) -> proxy bN on the VIP socket -> double
# Record-Route, relayed from bN's own address -> UAS; the UAS answers bN's own address,
# bN answers the UAC from the VIP; ACK and BYE go to the VIP with the route set
# [VIP, bN's own address], so siphon sends them to bN again (the same Call-ID).
#
# Timeline: every proxy healthy (siphon's view), then CALLS calls at RATE/s, each held
# HOLD_MS; at DRAIN_AT s `siphonctl backend state b2 drain`; at KILL_AT s every process
# of b3 is killed (SIGKILL). Checks:
#   1. health: all three up before the calls (probes answered by Kamailio on its own
#      address), b3 down within fall x interval + timeout + SLACK s of the kill; no panic;
#   2. the drain: siphon forwards no INVITE to b2 after the command, and every call b2
#      relayed completes (the UAS saw its BYE);
#   3. every call relayed by b1 or b2 (the UAS traces, by the top Via of its INVITE) is
#      whole: INVITE, ACK and BYE at the UAS;
#   4. the UAC: successful + failed = CALLS, and the failures are explained: at most the
#      calls b3 relayed and the UAS never saw a BYE for (b3 died holding them: their BYE
#      goes to the VIP, siphon now sends it to a surviving proxy, which relays it along
#      the route set to b3's own address, dead; docs/dataplane.md#after-a-failover);
#      calls begun after b3 was down all succeed;
#   5. siphon filled UDP checksums (udp_checksum_filled > 0) and dropped none as bad.
#
# Then the panic phase: b2 up again, b3 restarted, and every proxy's answers to siphon's
# probes cut (a blackhole route to siphon's address): all three go down, the group
# panics (show groups, siphon_group_panic 1, the log's alarm), and PANIC_CALLS more calls
# all succeed with no no_backend drop; the route removed, all three come back and the
# log says the panic is over.
#
# Environment: MODE (l2dsr), CALLS (300), RATE (20), HOLD_MS (3000), DRAIN_AT (4), KILL_AT (8), SLACK
# (3 s), E2E_DEADLINE (200 s), E2E_LOGS (a new or empty directory to keep the logs).
# Needs root, /dev/net/tun, ip, sipp, kamailio, python3, timeout, ss. Output ends with
# "e2e kamailio MODE: PASS" or "... FAIL (reasons)"; exit 0 on pass.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
e2e_prefix="kam-$$" # its own namespace names: it may run beside the sph* suites
calls=${CALLS:-300}
rate=${RATE:-20}
hold_ms=${HOLD_MS:-3000}
drain_at=${DRAIN_AT:-4}
kill_at=${KILL_AT:-8}
slack=${SLACK:-3}
mode=${MODE:-l2dsr}
case "$mode" in l2dsr | ipip) ;; *) echo "kamailio.sh: MODE must be l2dsr or ipip" >&2; exit 2 ;; esac
interval_ms=1000 timeout_ms=1000 fall=3 rise=2 # the defaults # the health block written below
metrics_port=9187 # in siphon's namespace: nothing else listens there

e2e_require kamailio.sh ip sipp kamailio python3 timeout ss
[ -c /dev/net/tun ] || { echo "kamailio.sh: no /dev/net/tun (the exception path needs it)" >&2; exit 2; }
e2e_binaries kamailio.sh "$@"
cfg_example=$here/../../examples/backends/kamailio.cfg
[ -f "$cfg_example" ] || { echo "kamailio.sh: $cfg_example not found" >&2; exit 2; }

e2e_plan
declare -n ip4=e2e_ip4
# shellcheck disable=SC2034 # read through the nameref ip4
e2e_ip4[core]=10.99.0.50 # the callee, beside the plan of lib.sh
e2e_mac[core]=02:99:00:00:00:50
vip=$e2e_vip4
proxies=(b1 b2 b3)

e2e_init "e2e kamailio $mode" "${E2E_DEADLINE:-200}"
logs=$e2e_logs
e2e_sock=$logs/siphon.sock

# ---- topology ----
echo "== $e2e_name: namespaces $e2e_prefix-{sw,cli,lb,b1,b2,b3,core}, logs in $logs"
e2e_topology cli lb core "${proxies[@]}"
e2e_host cli "${ip4[cli]}/24"
e2e_host core "${ip4[core]}/24"
e2e_lb lb --exception
for b in "${proxies[@]}"; do e2e_backend "$b" "${ip4[$b]}/24" -- "$vip"; done
# ipip: each proxy decapsulates what siphon tunnels to it (outer source: siphon's port
# address): the kernel's ipip device, or run.sh's stand-in decap.py feeding a TUN device
# on kernels without one. The proxy's configuration is the same in both modes.
decap=none
if [ "$mode" = ipip ]; then
	for b in "${proxies[@]}"; do
		n=$(e2e_ns "$b")
		if [ "$decap" != user ] &&
			ip -n "$n" link add tun0 type ipip local "${ip4[$b]}" remote "${ip4[lb]}" 2>/dev/null; then
			decap=kernel
		else
			decap=user
			ip -n "$n" tuntap add dev tun0 mode tun
			e2e_spawn "$b" "$logs/$b.decap.log" TERM \
				python3 "$here/decap.py" --family 4 --tun tun0 --seconds "$e2e_proc_timeout"
		fi
		ip netns exec "$n" sysctl -qw net.ipv4.conf.tun0.rp_filter=0
		ip -n "$n" link set tun0 up
	done
	echo "ipip decapsulation: $decap"
fi

# ---- the callee, and the proxies: the shipped configuration, addresses substituted ----
cat >"$logs/uas.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- kamailio.sh's callee: answers what a proxy relays, with the Record-Route it got.
     Responses go to the top Via's host (RFC 3261 18.2.2), as a real UA sends them, not
     to where the INVITE came from (sipp's default): after a failover the BYE comes
     from another proxy than the INVITE. The proxies' Vias carry no port: 5060. -->
<scenario name="kamailio.sh UAS">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="SIP/2.0/UDP ([0-9.]+)" search_in="hdr" header="Via:" check_it="true" assign_to="v,vhost"/>
      <setdest host="[$vhost]" port="5060" protocol="udp"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE">
    <action>
      <ereg regexp="SIP/2.0/UDP ([0-9.]+)" search_in="hdr" header="Via:" check_it="true" assign_to="v,vhost"/>
      <setdest host="[$vhost]" port="5060" protocol="udp"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="2000"/>
</scenario>
EOF
cat >"$logs/uac.xml" <<EOF
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- kamailio.sh's caller: ACK and BYE follow the route set of the 200 (rrs). -->
<scenario name="kamailio.sh UAC">
  <send retrans="500">
    <![CDATA[
      INVITE sip:callee@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:callee@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:callee@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="$hold_ms"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:callee@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
EOF
e2e_uas core core "${ip4[core]}" "$logs/uas.xml"
uas_pid=$e2e_pid
for b in "${proxies[@]}"; do
	sed -e "s|^#!substdef \"!VIP_ADDR!.*|#!substdef \"!VIP_ADDR!$vip!g\"|" \
		-e "s|^#!substdef \"!OWN_ADDR!.*|#!substdef \"!OWN_ADDR!${ip4[$b]}!g\"|" \
		-e "s|^#!substdef \"!CORE_URI!.*|#!substdef \"!CORE_URI!sip:${ip4[core]}:5060!g\"|" \
		"$cfg_example" >"$logs/$b.cfg"
	grep -q "!OWN_ADDR!${ip4[$b]}!" "$logs/$b.cfg" || { e2e_fail "cannot set $b's addresses in kamailio.cfg"; exit 1; }
	mkdir -p "$logs/$b.run"
	e2e_spawn "$b" "$logs/$b.kamailio.log" TERM \
		kamailio -f "$logs/$b.cfg" -DD -E -m 64 -M 8 -Y "$logs/$b.run" -w "$logs/$b.run"
done

# ---- siphon ----
{
	echo "# generated by tests/e2e/kamailio.sh"
	echo 'hash_key = "siphon-e2e-test-key-not-secret";'
	echo 'stats_interval = 1;'
	echo "ports = ( { name = \"lan\"; device = \"net_af_packet0\"; exception = \"sph0\";" \
		"udp_checksum = \"fill\"; addresses = [ \"${ip4[lb]}/24\" ]; } );"
	e2e_conf_cluster --mac 4 "$mode" "$vip" "${proxies[@]}"
	echo "control = { socket = \"$e2e_sock\"; };"
	echo "metrics = { listen = \"127.0.0.1:$metrics_port\"; };"
	echo "health = { enabled = true; interval_ms = $interval_ms; timeout_ms = $timeout_ms;" \
		"fall = $fall; rise = $rise; };"
} >"$logs/siphon.conf"
e2e_siphon_start lb "$logs/siphon.conf"

# health_of: "name:health ..." of every proxy, as siphon reports it
health_of() {
	e2e_ctl --json show backends 2>/dev/null | python3 -c 'import json,sys
print(" ".join("%s:%s" % (b["name"], b["health"]) for b in json.load(sys.stdin)["backends"]))' 2>/dev/null || true
}
# wait_health REGEX SECONDS: poll every 0.1 s until health_of matches; prints the seconds
wait_health() {
	local t0 h
	t0=$(date +%s.%N)
	for _ in $(seq $(($2 * 10))); do
		h=$(health_of)
		if grep -Eq "$1" <<<"$h"; then
			python3 -c "import sys, time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0"
			return 0
		fi
		sleep 0.1
	done
	echo "last: $h" >&2
	return 1
}
now() { date +%s.%N; }

if ! e2e_resolve "$vip"; then
	e2e_fail "the client could not resolve the VIP (siphon not up?)"
	tail -20 "$logs/siphon.log"
	exit 1
fi
for b in "${proxies[@]}"; do
	e2e_wait_udp "$b" "${ip4[$b]}" || e2e_fail "Kamailio on $b does not listen on ${ip4[$b]}:5060"
done
e2e_wait_udp core "${ip4[core]}" || e2e_fail "the UAS does not listen"

# 1. health: Kamailio answers siphon's probes on its own address
if took=$(wait_health '^b1:up b2:up b3:up$' 15); then
	echo "all three proxies up in siphon's health view after ${took} s"
else
	e2e_fail "the proxies never all came up in siphon's health checks"
	e2e_dump_kernel lb b1
fi

# ---- the calls ----
echo "placing $calls calls at $rate/s, each held $hold_ms ms"
e2e_uac "$logs/uac.xml" "${ip4[cli]}" "$vip:5060" \
	-m "$calls" -r "$rate" -l $((rate * (hold_ms / 1000 + 3))) -timeout 100s
uac_pid=$e2e_pid
t_start=$(now)
sleep "$drain_at"
e2e_ctl backend state b2 drain || e2e_fail "siphonctl backend state b2 drain failed"
t_drain=$(now)
b2_at_drain=$(e2e_backend_invites b2)
echo "b2 draining at +$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_start" "$t_drain") s ($b2_at_drain INVITEs forwarded to it so far)"
sleep "$((kill_at - drain_at))"
for p in $(ip netns pids "$(e2e_ns b3)"); do kill -KILL "$p" 2>/dev/null || true; done
t_kill=$(now)
echo "b3 killed at +$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_start" "$t_kill") s"
bound=$(python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) * int(sys.argv[2]) / 1000 + int(sys.argv[3]) / 1000 + float(sys.argv[4])))" "$fall" "$interval_ms" "$timeout_ms" "$slack")
if took=$(wait_health 'b3:down' 10); then
	echo "b3 down in siphon's health view ${took} s after the kill (bound: fall x interval + timeout + slack = $bound s)"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$took" "$bound" ||
		e2e_fail "b3 down after ${took} s, more than $bound s"
else
	e2e_fail "b3 never went down in siphon's health view"
fi
t_down=$(now)

uac_rc=0
e2e_wait "$uac_pid" 120 || uac_rc=$?
b2_at_end=$(e2e_backend_invites b2)
e2e_counters "$logs/stats.json" || true
e2e_ctl show backends | tee "$logs/backends-end.txt" || true
e2e_ctl show groups | tee "$logs/groups-end.txt" || true
e2e_uac_stats "$uac_rc"
ok=${e2e_uac_ok:-0} bad=${e2e_uac_failed:-0}
sleep 2.5 # the callee's last BYEs answered, before the next phase's messages
for f in out msg err screen csv; do [ ! -e "$logs/uac.$f" ] || mv "$logs/uac.$f" "$logs/run1.$f"; done

# ---- panic: every probe failing, and the calls still go through ----
# The proxies are all alive again, but none of their answers to siphon's probes gets back
# (a blackhole route to siphon's address in each, as a firewall or a proxy listening only
# on the VIP would do): every proxy goes down, the group panics, and dispatch goes on over
# all three instead of dropping every call as no_backend (docs/health.md#panic-threshold).
e2e_ctl backend state b2 up || e2e_fail "siphonctl backend state b2 up failed"
e2e_spawn b3 "$logs/b3.kamailio2.log" TERM \
	kamailio -f "$logs/b3.cfg" -DD -E -m 64 -M 8 -Y "$logs/b3.run" -w "$logs/b3.run"
[ "$decap" != user ] || e2e_spawn b3 "$logs/b3.decap2.log" TERM \
	python3 "$here/decap.py" --family 4 --tun tun0 --seconds "$e2e_proc_timeout"
e2e_wait_udp b3 "${ip4[b3]}" || e2e_fail "Kamailio on b3 did not restart"
wait_health '^b1:up b2:up b3:up$' 15 >/dev/null || e2e_fail "b3 did not come back up"
t_panic=$(now)
log_lines_before_panic=$(wc -l <"$logs/siphon.log")
for b in "${proxies[@]}"; do ip -n "$(e2e_ns "$b")" route add blackhole "${ip4[lb]}/32"; done
if took=$(wait_health '^b1:down b2:down b3:down$' 10); then
	echo "every proxy down in siphon's health view ${took} s after its probes were cut"
else
	e2e_fail "the proxies did not all go down with their probe replies cut"
fi
panic=$(e2e_ctl --json show groups | python3 -c 'import json, sys; print(json.load(sys.stdin)["groups"][0]["panic"])' || true)
[ "$panic" = True ] || e2e_fail "show groups: the group is not in panic ($panic)"
metric=$(ip netns exec "$(e2e_ns lb)" python3 -c 'import re, sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode()
print(re.search(r"^siphon_group_panic\{group=\"e2e\"\} (\d+)$", t, re.M).group(1))' "$metrics_port" || true)
[ "$metric" = 1 ] || e2e_fail "metrics: siphon_group_panic is '$metric', want 1"
grep -E 'group "e2e": PANIC' "$logs/siphon.log" || e2e_fail "no panic alarm in siphon's log"
sed "s/<pause milliseconds=\"$hold_ms\"\/>/<pause milliseconds=\"500\"\/>/" "$logs/uac.xml" >"$logs/uac2.xml"
panic_calls=60
e2e_uac_cid='panic-%u@siphon'
e2e_uac "$logs/uac2.xml" "${ip4[cli]}" "$vip:5060" -m "$panic_calls" -r 20 -l 40 -timeout 60s
uac2_rc=0
e2e_wait "$e2e_pid" 60 || uac2_rc=$?
e2e_counters "$logs/stats2.json" || true
e2e_uac_stats "$uac2_rc"
[ "${e2e_uac_ok:-0}" = "$panic_calls" ] ||
	e2e_fail "panic: ${e2e_uac_ok:-?} of $panic_calls calls succeeded with every probe failing"
python3 - "$logs/stats.json" "$logs/stats2.json" <<'PY' || e2e_fail "panic: siphon dropped calls as no_backend"
import json, sys
a, b = (json.load(open(f))["counters"].get("no_backend", 0) for f in sys.argv[1:])
print(f"no_backend drops during the panic: {b - a}")
sys.exit(0 if b == a else 1)
PY
for b in "${proxies[@]}"; do ip -n "$(e2e_ns "$b")" route del blackhole "${ip4[lb]}/32"; done
if took=$(wait_health '^b1:up b2:up b3:up$' 10); then
	echo "probes answered again: every proxy up ${took} s later"
else
	e2e_fail "the proxies did not come back up"
fi
grep -E 'group "e2e": panic over' "$logs/siphon.log" || e2e_fail "no end of panic in siphon's log"

kill -INT "$uas_pid" 2>/dev/null || true
e2e_wait "$uas_pid" 15 || true
e2e_siphon_stop || true

# ---- checks of the first phase ----
echo "b2: $b2_at_drain INVITEs forwarded at the drain, $b2_at_end at the end"
[ "$b2_at_end" = "$b2_at_drain" ] || e2e_fail "siphon forwarded $((b2_at_end - b2_at_drain)) INVITEs to b2 after the drain"
# A panic before the probes were cut means b1 missed fall probes in a row while it was
# the only healthy proxy: the machine is too loaded for the probes, not a siphon fault;
# said, not failed (the calls' checks still judge the run).
if head -n "$log_lines_before_panic" "$logs/siphon.log" | grep 'PANIC'; then
	echo "note: a panic before the probes were cut: b1 missed $fall probes in a row (load $(cut -d' ' -f1 /proc/loadavg))"
fi
python3 - "$logs" "$calls" "$ok" "$bad" "$t_kill" "$t_down" "$t_panic" "${ip4[b1]}" "${ip4[b2]}" "${ip4[b3]}" <<'PY' || e2e_fail "call check (UAS traces, UAC outcome)"
import collections, datetime, json, re, sys
logs, calls, ok, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t_kill, t_down, t_panic = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
proxy_of = {sys.argv[8]: "b1", sys.argv[9]: "b2", sys.argv[10]: "b3"}
SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)", re.M)
CID = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
VIA = re.compile(r"^(?:via|v)[ \t]*:[ \t]*SIP/2\.0/UDP[ \t]+([0-9.]+)", re.I | re.M)
# Per Call-ID, what the callee received: the proxy that relayed each request (top Via)
# and when it first came.
seen = collections.defaultdict(dict)  # Call-ID -> method -> (time, proxy)
parts = SEP.split(open(f"{logs}/core.msg", errors="replace").read())
for i in range(1, len(parts) - 1, 2):
    stamp, block = parts[i], parts[i + 1].lstrip("\r\n")
    if "message received" not in block.split("\n", 1)[0]:
        continue
    msg = block.split("\n", 1)[1].lstrip("\r\n")
    method, m, v = msg.split(" ", 1)[0], CID.search(msg), VIA.search(msg)
    if method.startswith("SIP/") or not m or method in seen[m.group(1)]:
        continue
    t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
    if t >= t_panic:  # the panic phase reuses the Call-IDs
        continue
    seen[m.group(1)][method] = (t, proxy_of.get(v.group(1)) if v else None)
# The calls the UAC gave up, by Call-ID, with the reason it logged.
failed = {}
try:
    errlog = open(f"{logs}/run1.err", errors="replace").readlines()
except FileNotFoundError:  # sipp writes none when nothing went wrong
    errlog = []
for line in errlog:
    m = re.search(r"Aborting call (.*?) for Call-I[dD] '([^']+)'", line)
    if m:
        failed.setdefault(m.group(2), m.group(1))
problems = []
whole = lambda c: {"INVITE", "ACK", "BYE"} <= c.keys()
relayed = {p: {k: c for k, c in seen.items() if "INVITE" in c and c["INVITE"][1] == p}
           for p in ("b1", "b2", "b3")}
for p in ("b1", "b2", "b3"):
    print(f"{p} relayed {len(relayed[p])} calls' INVITEs, {sum(map(whole, relayed[p].values()))} "
          "of them whole at the callee")
# The calls b3 held when it died: set up through it, not yet hung up. A BYE the callee
# got through b3 within a second of the kill (t_kill is taken after it) counts too: b3
# may have died before relaying the callee's 200, and the UAC's retransmission then
# reaches the callee through a survivor as a second BYE, which sipp's callee does not
# answer (its call is over).
held = {k: c for k, c in relayed["b3"].items()
        if c["INVITE"][0] <= t_kill and not ("BYE" in c and c["BYE"][0] <= t_kill - 1)}
moved = {k: c for k, c in held.items() if "BYE" in c and c["BYE"][1] in ("b1", "b2")}
print(f"b3 held {len(held)} calls at its death; {len(moved)} of them were hung up through "
      f"a surviving proxy ({sum(1 for k in moved if k not in failed)} completed)")
print(f"UAC: {ok} successful, {bad} failed of {calls}")
reasons = collections.Counter(failed.values())
for r, n in reasons.most_common():
    print(f"  failed: {n} x {r}")
unexplained = [k for k in failed if k not in held]
if ok + bad != calls:
    problems.append(f"UAC: {ok} + {bad} calls, want {calls}")
if len(failed) != bad:
    problems.append(f"the UAC's error log names {len(failed)} failed calls, its statistics {bad}")
if unexplained:
    problems.append(f"{len(unexplained)} failed calls b3 did not hold at its death, e.g. {unexplained[0]}")
for p in ("b1", "b2"):
    broken = [k for k, c in relayed[p].items() if not whole(c)]
    if broken:
        problems.append(f"{len(broken)} calls set up through {p} are not whole, e.g. {broken[0]}")
late = [k for k, c in seen.items() if "INVITE" in c and c["INVITE"][0] > t_down and not whole(c)]
if late:
    problems.append(f"{len(late)} calls begun after b3 was down are not whole, e.g. {late[0]}")
if len(seen) < calls:
    problems.append(f"the callee saw {len(seen)} calls, want {calls}")
if not relayed["b2"] or not held:
    problems.append("b2 relayed no call or b3 held none at its death: the run tests nothing")
c = json.load(open(f"{logs}/stats.json"))["counters"]
print(f"siphon: udp_checksum_filled={c.get('udp_checksum_filled')} "
      f"udp_bad_checksum={c.get('udp_bad_checksum')} no_backend={c.get('no_backend')}")
if not c.get("udp_checksum_filled"):
    problems.append("siphon filled no UDP checksum: the partial ones were not exercised")
if c.get("udp_bad_checksum"):
    problems.append("siphon dropped datagrams as bad checksums")
for p in problems:
    print("kamailio:", p)
sys.exit(1 if problems else 0)
PY

e2e_finish "UAC: $ok successful, $bad failed (b3 killed holding calls)"
