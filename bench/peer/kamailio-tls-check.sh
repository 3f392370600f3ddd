#!/usr/bin/env bash
# bench/peer/kamailio-tls-check.sh - checks bench/peer/kamailio-tls.cfg, the peer TLS edge:
# fills its fields, `kamailio -c`, then runs it in a network namespace of its own
# ("kam-tls-PID", loopback only, removed on any exit) and sends one REGISTER over TLS from
# Python's ssl: the UDP registrar must see it with a Path, and its 200 must come back down
# the TLS connection. Exit 0 when both hold.
# With BURST (e.g. 3000) and TCP_CHILDREN set (default 1, as the file says), a burst of
# that many TLS connections follows, opened 200 at a time and dropped, a third of them
# mid-handshake; then Kamailio must still be up, log no double free and relay a REGISTER.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
burst=${BURST:-0}
children=${TCP_CHILDREN:-1}
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
	-e "s|^tcp_children=1 |tcp_children=$children |" "$here/kamailio-tls.cfg" >"$tmp/k.cfg"
kamailio -c -f "$tmp/k.cfg" 2>&1 | tail -1
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" kamailio -f "$tmp/k.cfg" -DD -E -m 64 -M 16 2>"$tmp/kam.log" &
fail=0
ip netns exec "$ns" python3 - "$burst" <<'PY' || fail=1
import asyncio, random, re, socket, ssl, sys, time
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
if not got.startswith("SIP/2.0 200"):
    sys.exit(1)
burst = int(sys.argv[1])


async def one():
    try:
        if random.random() < 0.33:  # dropped mid-handshake
            r, w = await asyncio.open_connection("127.0.0.1", 5061)
            w.write(b"\x16\x03\x01\x00\x05hello")
            await w.drain()
        else:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", 5061, ssl=ctx, server_hostname="edge.test"), 10)
        w.transport.abort()
        return 1
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return 0


async def storm():
    ok = 0
    for i in range(0, burst, 200):
        ok += sum(await asyncio.gather(*(one() for _ in range(min(200, burst - i)))))
    return ok
if burst:
    print(f"burst: {asyncio.run(storm())} of {burst} connections made")
    s2 = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 5061), timeout=5),
                         server_hostname="edge.test")
    s2.sendall(b"REGISTER sip:edge.test SIP/2.0\r\n"
               b"Via: SIP/2.0/TLS 10.9.9.9:5061;branch=z9hG4bK-k2;rport\r\n"
               b"Max-Forwards: 70\r\nFrom: <sip:bob@edge.test>;tag=f2\r\n"
               b"To: <sip:bob@edge.test>\r\nCall-ID: kam-tls-2\r\nCSeq: 1 REGISTER\r\n"
               b"Contact: <sip:bob@10.9.9.9:5061;transport=tls>\r\n"
               b"Content-Length: 0\r\n\r\n")
    reg.recvfrom(65535)
    print("after the burst: a REGISTER still reaches the registrar")
PY
# A crash shows as the tls module's double free, or a child killed by a signal.
if grep -m5 -E "freeing already freed|exited by a signal|BUG:" "$tmp/kam.log"; then
	echo "kamailio-tls: crashed (tcp_children=$children)"
	exit 1
fi
if [ "$fail" -ne 0 ]; then
	tail -20 "$tmp/kam.log"
	echo "kamailio-tls: failed (tcp_children=$children)"
	exit 1
fi
echo "kamailio-tls: ok"
