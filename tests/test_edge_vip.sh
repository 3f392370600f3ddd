#!/usr/bin/env bash
# tests/test_edge_vip.sh - the TLS edge on the VIP itself, through the DPDK port.
#
#   test_edge_vip.sh SIPHON SIPHONCTL
#
# Phones register over TLS to the same address they send UDP SIP to. A bridge with three
# namespaces: a client, a registrar (a UDP REGISTER responder on its own address, and a
# SIP sink on the VIP, which it owns on lo as an l2dsr backend does) and siphon on
# net_af_packet with `exception = "sph0"` and an edge listening on the VIPs: TLS on 5061
# (IPv4 and IPv6) and plain TCP on 5060, the port the VIP serves over UDP. Checks:
#   1. a REGISTER over TLS to VIP:5061 and to [VIP6]:5061, and one over TCP to VIP:5060,
#      each answered 200 by the registrar through the edge (the workers hand that TCP to
#      the kernel, the kernel answers from the VIP out of the DPDK port);
#   2. UDP SIP to VIP:5060 still goes to the backend by the fast path, not to the kernel;
#   3. the registrar saw the edge's Path on every REGISTER; the counters show no
#      exception path loss.
# Needs root, /dev/net/tun, ip, openssl, python3; exits 77 (skipped) without them.
# Namespaces sph<pid>-* from tests/e2e/lib.sh, removed on every path; bounded waits and
# a watchdog (EDGE_VIP_DEADLINE, 90 s).
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
[ "$#" -eq 2 ] || { echo "usage: test_edge_vip.sh SIPHON SIPHONCTL" >&2; exit 2; }

skip() { echo "test_edge_vip: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, TUN)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip python3 openssl timeout; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done
e2e_binaries test_edge_vip "$@"

e2e_init test_edge_vip "${EDGE_VIP_DEADLINE:-90}"
tmp=$e2e_logs
# shellcheck disable=SC2016 # expanded at cleanup
e2e_on_fail='[ ! -f "$tmp/siphon.log" ] || tail -30 "$tmp/siphon.log"'
ok() { echo "ok: $1"; }

declare -A ip4=([cli]=10.97.0.1 [lb]=10.97.0.2 [be]=10.97.0.11)
declare -A ip6=([cli]=fd97::1 [lb]=fd97::2 [be]=fd97::11)
vip4=10.97.0.100 vip6=fd97::100
e2e_topology --ipv6 cli lb be
e2e_host cli "${ip4[cli]}/24" "${ip6[cli]}/64"
e2e_backend be "${ip4[be]}/24" "${ip6[be]}/64" -- "$vip4" "$vip6"
# siphon hands the client's TCP to a kernel that checks its sums: a veth would leave them
# partial (txcsum_off.py); the registrar's UDP goes to the kernel too.
for node in cli be; do e2e_txcsum_off "$node"; done
lb=$(e2e_ns lb)
e2e_lb lb --exception

# ---- the edge's certificate, for its name and addresses ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=edge-vip-test -addext "subjectAltName=DNS:edge.test,IP:$vip4,IP:$vip6" \
	-keyout "$tmp/edge.key" -out "$tmp/edge.pem" 2>/dev/null || {
	e2e_fail "openssl could not make a certificate"
	exit 1
}

# ---- the registrar: 200 to every REGISTER (Path noted), and the VIP's UDP sink ----
cat >"$tmp/registrar.py" <<'EOF'
import select, socket, sys
own, vip, logname = sys.argv[1:4]
reg = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
reg.bind((own, 5090))
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind((vip, 5060))
with open(logname, "a", buffering=1) as log:
    while True:
        for s in select.select([reg, sink], [], [])[0]:
            data, peer = s.recvfrom(65535)
            lines = data.decode(errors="replace").split("\r\n")
            if s is sink:
                cid = [l for l in lines if l.lower().startswith("call-id:")]
                log.write("udp %s\n" % (cid[0].split(":", 1)[1].strip() if cid else "-"))
                continue
            if not lines[0].startswith("REGISTER "):
                continue
            path = [l for l in lines if l.lower().startswith("path:")]
            log.write("register path=%s\n" % (path[0] if path else "-"))
            keep = [l for l in lines[1:] if l.split(":", 1)[0].strip().lower()
                    in ("via", "from", "to", "call-id", "cseq", "contact")]
            reg.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
                        "\r\nContent-Length: 0\r\n\r\n").encode(), peer)
EOF
: >"$tmp/reg.log"
e2e_spawn be "$tmp/registrar.log" INT python3 "$tmp/registrar.py" "${ip4[be]}" "$vip4" "$tmp/reg.log"

# ---- siphon: the VIP serves UDP SIP; the edge listens on the same VIP ----
e2e_sock="$tmp/siphon.sock"
cat >"$tmp/siphon.conf" <<EOF
hash_key = "siphon-edge-vip-test-key";
ports = ( { name = "lan"; device = "net_af_packet0"; exception = "sph0";
            addresses = [ "${ip4[lb]}/24", "${ip6[lb]}/64" ]; } );
groups = ( { name = "g"; backends = ( { name = "b1"; address = "${ip4[be]}"; } ); },
           { name = "reg"; backends = ( { name = "r1"; address = "${ip4[be]}"; port = 5090; } ); } );
vips = ( { address = "$vip4"; ports = [ 5060 ]; group = "g"; },
         { address = "$vip6"; ports = [ 5060 ]; group = "g"; } );
control = { socket = "$e2e_sock"; };
health = { enabled = false; };
edge = {
    tls = [ "$vip4:5061", "[$vip6]:5061" ];
    tcp = [ "$vip4:5060" ];
    address = "${ip4[lb]}:5070";
    group = "reg";
    flow_key = "edge-vip-test-flow-key-0123456789";
    certs = [ "$tmp/edge.pem" ];
    keys = [ "$tmp/edge.key" ];
};
EOF
e2e_siphon_start lb "$tmp/siphon.conf"
up=0
for _ in $(seq 100); do
	kill -0 "$e2e_siphon_pid" 2>/dev/null || break
	if ip -n "$lb" addr show dev sph0 2>/dev/null | grep -q "$vip6/128" &&
		e2e_ctl show edge >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.1
done
[ "$up" -eq 1 ] || { e2e_fail "siphon did not come up with the edge's addresses on sph0"; exit 1; }
ok "sph0 carries the edge's addresses: $(ip -n "$lb" -br addr show dev sph0 | tr -s ' ')"

# ---- 1. REGISTER over TLS (both VIPs) and over TCP (the IPv4 VIP) ----
cat >"$tmp/client.py" <<'EOF'
import socket, ssl, sys, time
kind, host, port, me, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
hp = "[%s]" % host if ":" in host else host
req = ("REGISTER sip:edge.test SIP/2.0\r\n"
       "Via: SIP/2.0/%s %s:5099;branch=z9hG4bK-vip-%s\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:alice-%s@edge.test>;tag=1\r\n"
       "To: <sip:alice-%s@edge.test>\r\nCall-ID: vip-%s-%s@test\r\nCSeq: 1 REGISTER\r\n"
       "Contact: <sip:alice@%s:5099;transport=%s>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
       % ("TLS" if kind == "tls" else "TCP", me, kind, kind, kind, kind, fam, me, kind))
# The first SYNs may go while siphon resolves the client's MAC: retry for a few seconds.
deadline, last = time.time() + 8, None
while time.time() < deadline:
    try:
        raw = socket.create_connection((host, port), timeout=1.5)
        break
    except OSError as e:
        last = e
        time.sleep(0.2)
else:
    sys.exit("connect %s:%d: %s" % (host, port, last))
raw.settimeout(5)
if kind == "tls":
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the certificate names the addresses; IPv6 literal forms vary
    s = ctx.wrap_socket(raw, server_hostname="edge.test")
else:
    s = raw
s.sendall(req.encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
line = buf.split(b"\r\n", 1)[0].decode(errors="replace")
print("%s %s:%d -> %s" % (kind, hp, port, line))
sys.exit(0 if line.startswith("SIP/2.0 200") else 1)
EOF
cli=$(e2e_ns cli)
regs=0
for t in "tls $vip4 5061 ${ip4[cli]}" "tls $vip6 5061 ${ip6[cli]}" "tcp $vip4 5060 ${ip4[cli]}"; do
	# shellcheck disable=SC2086 # the four words of each case
	if out=$(ip netns exec "$cli" timeout 20 python3 "$tmp/client.py" $t "$tmp/edge.pem" 2>&1); then
		ok "REGISTER answered through the edge: $out"
		regs=$((regs + 1))
	else
		e2e_fail "REGISTER through the edge ($t): $out"
	fi
done

# ---- 2. UDP SIP to the same VIP and port is still the fast path's ----
# Warm-up messages until one arrives (siphon may still be resolving the backend's MAC),
# then 5 that must all arrive.
cat >"$tmp/udp.py" <<'EOF'
import socket, sys, time
vip, me, log = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 5062))
def send(cid):
    s.sendto(("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5062;branch=z9hG4bK-%s\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:t@%s>;tag=1\r\nTo: <sip:%s>\r\n"
              "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
              % (vip, me, cid, me, vip, cid)).encode(), (vip, 5060))
for i in range(50):
    send("vip-warm-%d" % i)
    time.sleep(0.1)
    if "vip-warm" in open(log).read():
        break
for i in range(5):
    send("vip-udp-%d" % i)
EOF
ip netns exec "$cli" python3 "$tmp/udp.py" "$vip4" "${ip4[cli]}" "$tmp/reg.log"
for _ in $(seq 30); do
	[ "$(grep -c '^udp vip-udp-' "$tmp/reg.log")" -ge 5 ] && break
	sleep 0.1
done
n=$(grep -c '^udp vip-udp-' "$tmp/reg.log" || true)
[ "$n" -eq 5 ] && ok "5 UDP messages to VIP:5060 reached the backend by the fast path" ||
	e2e_fail "the backend received $n of 5 UDP messages to VIP:5060"

# ---- 3. what the registrar saw, and the counters ----
p=$(grep -c '^register path=Path: <sip:[0-9a-f]*@'"${ip4[lb]}"':5070;lr>' "$tmp/reg.log" || true)
[ "$p" -eq "$regs" ] && [ "$regs" -eq 3 ] && ok "the registrar saw the edge's Path on all $p REGISTERs" ||
	e2e_fail "Path on $p REGISTERs of $regs answered (reg.log: $(tr '\n' '|' <"$tmp/reg.log"))"
e2e_counters "$tmp/stats.json" || e2e_fail "siphonctl show stats"
python3 - "$tmp/stats.json" <<'EOF' || e2e_fail "exception counters (see above)"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
print("counters:", {k: v for k, v in c.items() if k.startswith("exception") or k == "forwarded"})
# (exception_bad is not here: the kernel's own MLD chatter on sph0 is refused and counted.)
bad = ["%s %d" % (k, c[k]) for k in ("exception_drop", "exception_kernel_drop",
       "exception_tx_drop") if c[k] != 0]
if c["forwarded"] < 5:  # the warm-up messages, and the 5
    bad.append("forwarded %d, want 5 or more" % c["forwarded"])
if c["exception_rx"] < 3 * 4:  # three TCP connections, a handful of segments each
    bad.append("exception_rx %d < 12" % c["exception_rx"])
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF

if e2e_siphon_stop; then
	ok "siphon stopped"
fi
e2e_finish
