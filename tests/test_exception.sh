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
# Everything lives in namespaces sph<pid>-*, built by tests/e2e/lib.sh, which kills what
# it started and deletes them on every path; every wait is bounded and a watchdog ends
# the run after EXC_DEADLINE (90) s.
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
[ "$#" -eq 2 ] || { echo "usage: test_exception.sh SIPHON SIPHONCTL" >&2; exit 2; }

skip() { echo "test_exception: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, TUN)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip python3 timeout; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done
e2e_binaries test_exception "$@"

e2e_init test_exception "${EXC_DEADLINE:-90}"
tmp=$e2e_logs
# shellcheck disable=SC2016 # expanded at cleanup
e2e_on_fail='[ ! -f "$tmp/siphon.log" ] || tail -30 "$tmp/siphon.log"'
ok() { echo "ok: $1"; }

# ---- topology: sw (bridge) + cli, lb (siphon), be (backend) ----
declare -A ip4=([cli]=10.98.0.1 [lb]=10.98.0.2 [be]=10.98.0.11)
declare -A ip6=([cli]=fd98::1 [lb]=fd98::2 [be]=fd98::11)
vip4=10.98.0.100
e2e_topology --ipv6 cli lb be
e2e_host cli "${ip4[cli]}/24" "${ip6[cli]}/64"
# The backend: the VIP on lo, never claimed on the wire (l2dsr backend side).
e2e_backend be "${ip4[be]}/24" "${ip6[be]}/64" -- "$vip4"
# veth offloads would leave UDP checksums partial in frames AF_PACKET hands siphon.
for node in cli be; do e2e_txcsum_off "$node"; done
# siphon's namespace: eth0 carries no address and no IPv6, so only siphon speaks on it;
# the kernel's addresses will be on sph0, and the kernel is kept off eth0.
lb=$(e2e_ns lb)
e2e_lb lb --exception

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
e2e_spawn be "$tmp/backend.log" INT python3 "$tmp/backend.py" "$vip4" "${ip4[be]}" "$tmp/sip.log"

# ---- siphon ----
e2e_sock="$tmp/siphon.sock"
cat >"$tmp/siphon.conf" <<EOF
hash_key = "siphon-exception-test-key";
ports = ( { name = "lan"; device = "net_af_packet0"; exception = "sph0";
            addresses = [ "${ip4[lb]}/24", "${ip6[lb]}/64" ]; } );
groups = ( { name = "g"; backends = ( { name = "b1"; address = "${ip4[be]}"; } ); } );
vips = ( { address = "$vip4"; ports = [ 5060 ]; group = "g"; } );
control = { socket = "$e2e_sock"; };
# The backend does not answer SIP OPTIONS: health checks would take it down.
health = { enabled = false; };
EOF
e2e_siphon_start lb "$tmp/siphon.conf"

# Up: the kernel side has its addresses and the control socket answers.
up=0
for _ in $(seq 100); do
	kill -0 "$e2e_siphon_pid" 2>/dev/null || break
	if ip -n "$lb" addr show dev sph0 2>/dev/null | grep -q "${ip6[lb]}/64" &&
		e2e_ctl show vips >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.1
done
[ "$up" -eq 1 ] || { e2e_fail "siphon did not come up with sph0 and its addresses"; exit 1; }
ok "sph0 is up in siphon's namespace: $(ip -n "$lb" -br addr show dev sph0 | tr -s ' ')"
rx0=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)

# ---- 1. ping siphon's own addresses (ICMP echo from python: no ping needed) ----
cli=$(e2e_ns cli)
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
		e2e_fail "ping $a through the exception path: $(tail -1 "$tmp/ping.log")"
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
		e2e_fail "UDP probe from $src to $dst:7007 through the exception path"
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
e2e_spawn lb "$tmp/watch.log" INT python3 "$tmp/watch.py" "$vip4" 2
watch_pid=$e2e_pid
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
	e2e_fail "the backend received $n of 5 SIP messages"
for _ in $(seq 40); do
	kill -0 "$watch_pid" 2>/dev/null || break
	sleep 0.1
done
read -r seen total < <(sed -n 2p "$tmp/watch.log") || true
[ "${seen:-}" = 0 ] && ok "none of them appeared on sph0 (${total:-?} other packets did)" ||
	e2e_fail "sph0 saw '${seen:-?}' datagrams to the VIP (watch.log)"

# ---- 4. counters ----
# Health checks keep the path busy: sph0's count, read before and after, brackets the
# daemon's exception_rx.
rx1=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)
e2e_counters "$tmp/stats.json" || e2e_fail "siphonctl show stats"
rx2=$(ip netns exec "$lb" cat /sys/class/net/sph0/statistics/rx_packets)
python3 - "$tmp/stats.json" "$((rx1 - rx0))" "$((rx2 - rx0))" <<'EOF' || e2e_fail "exception counters (see above)"
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
if e2e_siphon_stop; then
	ok "siphon stopped"
	ip -n "$lb" link show sph0 >/dev/null 2>&1 && e2e_fail "sph0 outlived siphon" || ok "sph0 removed"
fi
e2e_finish
