#!/usr/bin/env bash
# bench/peer/kamailio-tls-check.sh - checks bench/peer/kamailio-tls.cfg, the peer TLS edge:
# fills its fields, `kamailio -c`, then runs it in a network namespace of its own
# ("kam-tls-PID", loopback only, removed on any exit) and sends one REGISTER over TLS from
# Python's ssl: the UDP registrar must see it with a Path, and its 200 must come back down
# the TLS connection. Exit 0 when both hold.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns="kam-tls-$$"
tmp=$(mktemp -d /tmp/kam-tls.XXXXXX)

cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$tmp/edge.key" -out "$tmp/edge.pem" -subj /CN=edge.test \
	-addext subjectAltName=DNS:edge.test 2>/dev/null
sed -e "s|@TLS@|127.0.0.1:5061|; s|@UDP@|127.0.0.1:5070|; s|@REGISTRAR@|sip:127.0.0.1:5090|" \
	-e "s|@CERT@|$tmp/edge.pem|; s|@KEY@|$tmp/edge.key|; s|@RUNDIR@|$tmp|; s|@MAXCONN@|4096|" \
	"$here/kamailio-tls.cfg" >"$tmp/k.cfg"
kamailio -c -f "$tmp/k.cfg" 2>&1 | tail -1
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" kamailio -f "$tmp/k.cfg" -DD -E -m 64 -M 16 2>"$tmp/kam.log" &
ip netns exec "$ns" python3 - <<'PY' || { tail -20 "$tmp/kam.log"; exit 1; }
import re, socket, ssl, sys, time
reg = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
reg.bind(("127.0.0.1", 5090))
reg.settimeout(5)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
for _ in range(50):  # until Kamailio listens
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 5061), timeout=5),
                            server_hostname="edge.test")
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("kamailio: no TLS listener")
s.sendall(b"REGISTER sip:edge.test SIP/2.0\r\n"
          b"Via: SIP/2.0/TLS 10.9.9.9:5061;branch=z9hG4bK-k1;rport\r\n"
          b"Max-Forwards: 70\r\nFrom: <sip:alice@edge.test>;tag=f1\r\n"
          b"To: <sip:alice@edge.test>\r\nCall-ID: kam-tls-1\r\nCSeq: 1 REGISTER\r\n"
          b"Contact: <sip:alice@10.9.9.9:5061;transport=tls>\r\n"
          b"Supported: path\r\nContent-Length: 0\r\n\r\n")
req, addr = reg.recvfrom(65535)
req = req.decode()
path = re.findall(r"(?im)^Path:\s*(.*?)\r$", req)
print("registrar got REGISTER with Path:", path)
if not path:
    sys.exit("no Path")
head = req.split("\r\n\r\n")[0].split("\r\n")[1:]
resp = ["SIP/2.0 200 OK"] + [h for h in head if re.match(r"(?i)(via|from|call-id|cseq|path):", h)]
resp += [h + ";tag=r1" for h in head if h.lower().startswith("to:")]
reg.sendto(("\r\n".join(resp) + "\r\nContent-Length: 0\r\n\r\n").encode(), addr)
s.settimeout(5)
got = s.recv(65535).decode()
print("phone got:", got.split("\r\n")[0])
sys.exit(0 if got.startswith("SIP/2.0 200") else 1)
PY
echo "kamailio-tls: ok"
