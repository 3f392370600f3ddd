#!/usr/bin/env bash
# tests/test_exception.sh - the exception path: the kernel behind siphon's own addresses.
#
#   test_exception.sh SIPHON SIPHONCTL
#
# A bridge with three namespaces on it: a client, a backend (a UDP echo and a SIP
# sink, the VIP on lo) and siphon, attached with net_af_packet and configured with
# `exception = "sph0"`, so the daemon creates the TUN interface sph0 in its namespace
# with the port's addresses. Checks:
#   1. the client pings siphon's own IPv4 and IPv6 addresses and gets replies: the
#      kernel behind sph0 answers through the exception path;
#   2. a kernel UDP socket in siphon's namespace, bound to siphon's address, reaches
#      the backend's echo and gets the echo back (a health probe needs nothing more),
#      IPv4 and IPv6;
#   3. SIP to the VIP still goes to the backend, and none of it to the kernel;
#      (the daemon's own health checks, if enabled, probe the backend through the
#      exception path meanwhile: the backend answers their OPTIONS);
#   4. the counters (siphonctl show stats) account for it, nothing dropped on the way.
# Needs root, /dev/net/tun, ip, python3; exits 77 (skipped) without them.
# Everything lives in namespaces sphx<pid>-*; an EXIT trap kills what it started and
# deletes them on every path; every wait is bounded and a watchdog ends the run.
set -euo pipefail

siphon=${1:?usage: test_exception.sh SIPHON SIPHONCTL}
siphonctl=${2:?usage: test_exception.sh SIPHON SIPHONCTL}
deadline=${EXC_DEADLINE:-90}

skip() { echo "test_exception: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, TUN)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip python3 timeout; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done
[ -x "$siphon" ] && [ -x "$siphonctl" ] || { echo "test_exception: binaries not found" >&2; exit 2; }

PREFIX="sphx$$"
ns() { echo "$PREFIX-$1"; }
tmp=$(mktemp -d /tmp/siphon-exc.XXXXXX)
pids=()
namespaces=()
failures=()
watchdog=
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 30); do
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
	# The namespaces take their veths, the bridge and (the daemon gone) sph0 along.
	for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "/var/run/dpdk/$PREFIX"
	if [ "$rc" -eq 0 ] && [ "${#failures[@]}" -eq 0 ]; then
		rm -rf "$tmp"
		echo "test_exception: PASS"
	else
		echo "test_exception: FAIL (${failures[*]:-stopped early, status $rc}); logs in $tmp"
		[ -f "$tmp/siphon.log" ] && tail -30 "$tmp/siphon.log"
		[ "$rc" -eq 0 ] && rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
main_pid=$$
(
	for _ in $(seq "$deadline"); do
		sleep 1
		kill -0 "$main_pid" 2>/dev/null || exit 0
	done
	echo "test_exception: deadline of $deadline s reached" >&2
	kill -TERM "$main_pid"
) &
watchdog=$!

fail() { failures+=("$1"); echo "FAIL: $1"; }
ok() { echo "ok: $1"; }
spawn() { # node logfile cmd...
	local node=$1 log=$2
	shift 2
	ip netns exec "$(ns "$node")" timeout -s INT -k 5 "$deadline" "$@" >"$log" 2>&1 &
	pids+=($!)
}

# ---- topology: sw (bridge) + cli, lb (siphon), be (backend) ----
declare -A ip4=([cli]=10.98.0.1 [lb]=10.98.0.2 [be]=10.98.0.11)
declare -A ip6=([cli]=fd98::1 [lb]=fd98::2 [be]=fd98::11)
vip4=10.98.0.100
for node in sw cli lb be; do
	ip netns add "$(ns "$node")"
	namespaces+=("$(ns "$node")")
	ip -n "$(ns "$node")" link set lo up
done
sw=$(ns sw)
ip -n "$sw" link add br0 type bridge mcast_snooping 0
ip -n "$sw" link set br0 up
for node in cli lb be; do
	n=$(ns "$node")
	ip -n "$sw" link add "p-$node" type veth peer name eth0 netns "$n"
	ip -n "$sw" link set "p-$node" master br0 up
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.eth0.accept_dad=0
	ip -n "$n" link set eth0 up
done
for node in cli be; do
	n=$(ns "$node")
	ip -n "$n" addr add "${ip4[$node]}/24" dev eth0
	ip -n "$n" addr add "${ip6[$node]}/64" dev eth0 nodad
done
# veth offloads would leave UDP checksums partial in frames AF_PACKET hands siphon.
for node in cli be; do
	ip netns exec "$(ns "$node")" python3 "$(dirname "$0")/e2e/txcsum_off.py" eth0
done
# The backend: the VIP on lo, never claimed on the wire (l2dsr backend side).
be=$(ns be)
ip netns exec "$be" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
ip -n "$be" addr add "$vip4/32" dev lo
# siphon's namespace: eth0 carries no address and no IPv6, so only siphon speaks on it;
# the kernel's addresses will be on sph0.
lb=$(ns lb)
ip netns exec "$lb" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
# The kernel owns the port addresses on sph0 and would also take frames for them straight
# off eth0 (weak host model) and answer ARP there: keep it off eth0.
ip netns exec "$lb" sysctl -qw net.ipv4.conf.eth0.arp_ignore=8 net.ipv4.conf.eth0.rp_filter=1

# ---- the backend: UDP echo on 7007 (both families), SIP sink on VIP:5060, and a
# SIP responder on its own address, so the daemon's health checks (OPTIONS from a
# kernel socket, through the exception path too) find it alive ----
cat >"$tmp/backend.py" <<'EOF'
import select, socket, sys
vip, own, logname = sys.argv[1:4]
echo = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
echo.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
echo.bind(("::", 7007))
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind((vip, 5060))
uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
uas.bind((own, 5060))

def answer(req):
    lines = req.decode(errors="replace").split("\r\n")
    if not lines[0].startswith("OPTIONS "):
        return None
    keep = [l for l in lines[1:] if l.split(":", 1)[0].strip().lower()
            in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
            "\r\nContent-Length: 0\r\n\r\n").encode()

with open(logname, "a", buffering=1) as log:
    while True:
        for s in select.select([echo, sink, uas], [], [])[0]:
            data, peer = s.recvfrom(65535)
            if s is echo:
                echo.sendto(data, peer)
            elif s is sink:
                log.write(data.split(b"\r\n", 1)[0].decode(errors="replace") + "\n")
            elif (r := answer(data)) is not None:
                uas.sendto(r, peer)
EOF
: >"$tmp/sip.log"
spawn be "$tmp/backend.log" python3 "$tmp/backend.py" "$vip4" "${ip4[be]}" "$tmp/sip.log"

# ---- siphon ----
sock="$tmp/siphon.sock"
cat >"$tmp/siphon.conf" <<EOF
hash_key = "siphon-exception-test-key";
ports = ( { name = "lan"; device = "net_af_packet0"; exception = "sph0";
            addresses = [ "${ip4[lb]}/24", "${ip6[lb]}/64" ]; } );
groups = ( { name = "g"; backends = ( { name = "b1"; address = "${ip4[be]}"; } ); } );
vips = ( { address = "$vip4"; ports = [ 5060 ]; group = "g"; } );
control = { socket = "$sock"; };
# The backend does not answer SIP OPTIONS: health checks would take it down.
health = { enabled = false; };
EOF
spawn lb "$tmp/siphon.log" "$siphon" --no-huge -m 512 --no-pci --no-shconf \
	--file-prefix="$PREFIX" --no-telemetry -l 0,1 --vdev net_af_packet0,iface=eth0,qpairs=1 \
	-- --config "$tmp/siphon.conf"
siphon_pid=${pids[-1]}
ctl() { timeout 10 "$siphonctl" --socket "$sock" "$@"; }

# Up: the kernel side has its addresses and the control socket answers.
up=0
for _ in $(seq 100); do
	kill -0 "$siphon_pid" 2>/dev/null || break
	if ip -n "$lb" addr show dev sph0 2>/dev/null | grep -q "${ip6[lb]}/64" &&
		ctl show vips >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.1
done
[ "$up" -eq 1 ] || { fail "siphon did not come up with sph0 and its addresses"; exit 1; }
ok "sph0 is up in siphon's namespace: $(ip -n "$lb" -br addr show dev sph0 | tr -s ' ')"
rx0=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)

# ---- 1. ping siphon's own addresses (ICMP echo from python: no ping needed) ----
cli=$(ns cli)
cat >"$tmp/ping.py" <<'EOF'
import os, socket, struct, sys, time
dst = sys.argv[1]
v6 = ":" in dst
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff

def csum(b):
    b += b"\0" * (len(b) & 1)
    n = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    n = (n >> 16) + (n & 0xffff)
    return ~(n + (n >> 16)) & 0xffff

def echo(seq, wait=1.0):
    body = struct.pack("!HH", ident, seq) + b"siphon-exception"
    typ = 128 if v6 else 8
    msg = struct.pack("!BBH", typ, 0, 0) + body
    if not v6:  # the kernel sums ICMPv6 itself
        msg = struct.pack("!BBH", typ, 0, csum(msg)) + body
    s.sendto(msg, (dst, 0))
    end = time.time() + wait
    while time.time() < end:
        s.settimeout(max(end - time.time(), 0.01))
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        if not v6:
            data = data[(data[0] & 15) * 4:]
        if data[0] == (129 if v6 else 0) and data[4:8] == struct.pack("!HH", ident, seq):
            return True
    return False

# The first replies may be lost while siphon resolves the client: up to 10 tries,
# then 3 echoes in a row must all be answered.
first = next((i for i in range(10) if echo(i)), None)
if first is None:
    sys.exit(1)
got = sum(echo(100 + i) for i in range(3))
print("%s: first reply after %d lost, then %d of 3" % (dst, first, got))
sys.exit(0 if got == 3 else 1)
EOF
for a in "${ip4[lb]}" "${ip6[lb]}"; do
	if ip netns exec "$cli" python3 "$tmp/ping.py" "$a" >"$tmp/ping.log" 2>&1; then
		ok "ping $(cat "$tmp/ping.log")"
	else
		fail "ping $a through the exception path: $(tail -1 "$tmp/ping.log")"
	fi
done

# ---- 2. a kernel socket on siphon's address reaches the backend over the DPDK port ----
for fam in 4 6; do
	if [ "$fam" = 4 ]; then src=${ip4[lb]} dst=${ip4[be]}; else src=${ip6[lb]} dst=${ip6[be]}; fi
	if ip netns exec "$lb" python3 - "$src" "$dst" <<'EOF'; then
import socket, sys
src, dst = sys.argv[1], sys.argv[2]
f = socket.AF_INET6 if ":" in src else socket.AF_INET
s = socket.socket(f, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(0.5)
for i in range(20):  # the first ones may go while siphon resolves the backend
    msg = b"probe %d" % i
    s.sendto(msg, (dst, 7007))
    try:
        while True:
            data, peer = s.recvfrom(2048)
            if data == msg:
                sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOF
		ok "UDP probe from $src to $dst:7007 echoed"
	else
		fail "UDP probe from $src to $dst:7007 through the exception path"
	fi
done

# ---- 3. SIP to the VIP is forwarded, not handed to the kernel ----
# A packet socket on sph0 watches, meanwhile, for any datagram to the VIP.
cat >"$tmp/watch.py" <<'EOF'
import socket, sys, time
vip = socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))  # ETH_P_ALL
s.bind(("sph0", 0))
s.settimeout(0.1)
print("ready", flush=True)
seen, total, end = 0, 0, time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        p = s.recv(65535)
    except socket.timeout:
        continue
    total += 1
    seen += len(p) >= 20 and p[0] >> 4 == 4 and p[16:20] == vip
print(seen, total, flush=True)
EOF
spawn lb "$tmp/watch.log" python3 "$tmp/watch.py" "$vip4" 2
watch_pid=${pids[-1]}
for _ in $(seq 30); do
	grep -q ready "$tmp/watch.log" && break
	sleep 0.1
done
ip netns exec "$cli" python3 - "$vip4" "${ip4[cli]}" <<'EOF'
import socket, sys
vip, me = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 5062))
for i in range(5):
    msg = ("OPTIONS sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:5062;branch=z9hG4bK-exc-%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:t@%s>;tag=%d\r\nTo: <sip:%s>\r\n"
           "Call-ID: exc-%d@siphon\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
           % (vip, me, i, me, i, vip, i))
    s.sendto(msg.encode(), (vip, 5060))
EOF
for _ in $(seq 30); do
	[ "$(wc -l <"$tmp/sip.log")" -ge 5 ] && break
	sleep 0.1
done
n=$(wc -l <"$tmp/sip.log")
[ "$n" -eq 5 ] && ok "5 SIP messages to the VIP reached the backend" ||
	fail "the backend received $n of 5 SIP messages"
for _ in $(seq 40); do
	kill -0 "$watch_pid" 2>/dev/null || break
	sleep 0.1
done
read -r seen total < <(sed -n 2p "$tmp/watch.log") || true
[ "${seen:-}" = 0 ] && ok "none of them appeared on sph0 (${total:-?} other packets did)" ||
	fail "sph0 saw '${seen:-?}' datagrams to the VIP (watch.log)"

# ---- 4. counters ----
# Health checks keep the path busy: sph0's count, read before and after, brackets the
# daemon's exception_rx.
rx1=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)
ctl --json show stats >"$tmp/stats.json" || fail "siphonctl show stats"
rx2=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)
python3 - "$tmp/stats.json" "$((rx1 - rx0))" "$((rx2 - rx0))" <<'EOF' || fail "exception counters (see above)"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
lo, hi = int(sys.argv[2]), int(sys.argv[3])
print("counters:", {k: v for k, v in c.items() if k.startswith("exception") or k == "forwarded"})
bad = []
if c["exception_rx"] < 3 + 3 + 2:  # >= 3 pings per family, 2 probe replies at least
    bad.append("exception_rx %d < 8" % c["exception_rx"])
if not lo <= c["exception_rx"] <= hi:
    bad.append("exception_rx %d but sph0 received %d..%d" % (c["exception_rx"], lo, hi))
if c["exception_tx"] < 8:
    bad.append("exception_tx %d < 8" % c["exception_tx"])
for k in ("exception_drop", "exception_kernel_drop", "exception_tx_drop"):
    if c[k] != 0:
        bad.append("%s %d" % (k, c[k]))
if c["forwarded"] != 5:
    bad.append("forwarded %d, want 5" % c["forwarded"])
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF

# ---- stop: the daemon exits cleanly and sph0 goes with it ----
kill -INT "$siphon_pid" 2>/dev/null || true
for _ in $(seq 100); do
	kill -0 "$siphon_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$siphon_pid" 2>/dev/null; then
	fail "siphon did not stop on SIGINT"
else
	rc=0
	wait "$siphon_pid" || rc=$?
	case "$rc" in 0 | 130) ok "siphon stopped" ;; *) fail "siphon exited with $rc" ;; esac
	ip -n "$lb" link show sph0 >/dev/null 2>&1 && fail "sph0 outlived siphon" || ok "sph0 removed"
fi
[ "${#failures[@]}" -eq 0 ]
