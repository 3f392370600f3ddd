#!/usr/bin/env bash
# tests/test_edge_flood.sh SIPHON SIPHONCTL [SOURCE_ROOT] - issue 8 §1: a TLS handshake
# flood on the edge during a UDP replay loses no UDP packet, and the replay's forwarding
# rate is measured with and without the flood in the same run (printed, not asserted:
# this VM's rate varies with its neighbours' load).
#
# siphon runs in a network namespace of its own ("edge-f-PID", loopback only) on a
# net_pcap port replaying bench/pcaps/mixed-calls.pcap endlessly (infinite_rx=1; every
# frame is SIP to a VIP of examples/demo.conf, so every frame received must be
# forwarded), its TX capture written into a FIFO that bench/edge's edge_udp (check, in C;
# EDGE_UDP, default beside SIPHON's build tree) reads as it comes and matches frame by
# frame, in order, against the capture (l2dsr rewrites only the MACs): a gap is a lost frame. The edge listens on 127.0.0.1:5061 with an RSA-2048 chain (the
# dearer signature) and two client processes open, handshake and close TLS connections
# as fast as they can, a tenth of them sending garbage instead. Windows of 3 s: quiet,
# flood, quiet; the rate of each from show-stats' rx_packets. Then SIGINT: the daemon's
# final counters must equal what the checker saw (rx = frames matched, tx = frames in
# the output), no frame lost, none dropped for any reason, and the edge must have
# completed handshakes during the flood window. Everything is bounded by timeouts and
# removed at exit, the namespace included.
set -u
SIPHON=${1:?usage: test_edge_flood.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
CTL=${2:?usage: test_edge_flood.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
ROOT=${3:-$(cd "$(dirname "$0")/.." && pwd)}
PCAP=$ROOT/bench/pcaps/mixed-calls.pcap
EDGE_UDP=${EDGE_UDP:-$(dirname "$SIPHON")/../bench/edge/edge_udp}
ns="edge-f-$$"
TMP=$(mktemp -d /tmp/edge-f.XXXXXX)
SOCK=$TMP/ctl.sock
FIFO=$TMP/out.fifo
PREFIX=sph_edge_f_$$
PID=
CPID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
		kill -TERM "$CPID" 2>/dev/null
		wait "$CPID" 2>/dev/null
	fi
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "FAIL  $*"
	[ -f "$TMP/siphon.log" ] && tail -20 "$TMP/siphon.log" | sed 's/^/  siphon.log: /'
	[ -f "$TMP/checker.log" ] && sed 's/^/  checker: /' "$TMP/checker.log"
	exit 1
}

[ -f "$PCAP" ] || die "no capture $PCAP"
ip netns add "$ns" || die "cannot create namespace $ns"
ip -n "$ns" link set lo up
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=edge.test \
	-keyout "$TMP/edge.key" -out "$TMP/edge.pem" 2>/dev/null || die "openssl req"
cp "$ROOT/examples/demo.conf" "$TMP/siphon.conf"
cat >>"$TMP/siphon.conf" <<EOF

control = { socket = "$SOCK"; };
edge = { tls = [ "127.0.0.1:5061" ]; address = "127.0.0.1:5070"; group = "core";
  flow_key = "edge-flood-test-flow-key"; certs = [ "$TMP/edge.pem" ];
  keys = [ "$TMP/edge.key" ]; max_conns_per_ip = 65535; };
EOF
grep -q 'health = { enabled = false; };' "$TMP/siphon.conf" ||
	die "examples/demo.conf no longer turns health checks off"
mkfifo "$FIFO" || die "mkfifo"

# ---- the receiver: the output capture against the replay, in order ----
# bench/edge's edge_udp (C): a Python reader here bounded the rate the windows measured.
"$EDGE_UDP" check --pcap "$PCAP" --input /dev/null >/dev/null 2>&1 ||
	die "no working $EDGE_UDP (bench/edge's edge_udp: build it, or set EDGE_UDP)"
timeout 85 "$EDGE_UDP" check --pcap "$PCAP" --input "$FIFO" >"$TMP/checker.log" 2>&1 &
CPID=$!

# ---- the daemon: lcores 0 (main, and the edge thread) and 1 (the worker) ----
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 timeout -s KILL 85 \
	ip netns exec "$ns" "$SIPHON" --no-huge -m 512 --no-pci --no-shconf \
	--file-prefix="$PREFIX" --no-telemetry --log-level=lib.eal:error -l 0,1 \
	--vdev "net_pcap0,rx_pcap=$PCAP,tx_pcap=$FIFO,infinite_rx=1" \
	-- --config "$TMP/siphon.conf" --promisc >"$TMP/siphon.log" 2>&1 &
PID=$!
for _ in $(seq 200); do
	[ -S "$SOCK" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || die "siphon did not start"
grep -q "edge proxy on" "$TMP/siphon.log" || die "the edge did not start"

# ---- the windows: quiet, flood, quiet ----
timeout 60 ip netns exec "$ns" python3 - "$SOCK" "$TMP/windows.json" <<'PY' || die "the flood driver failed"
import json, multiprocessing, socket, ssl, sys, time

sock_path, out = sys.argv[1], sys.argv[2]
WINDOW = 3.0

def ask(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(json.dumps(req).encode() + b"\n")
    f = s.makefile("rb")
    r = json.loads(f.readline())
    s.close()
    return r

def rx():
    return ask({"cmd": "show-stats"})["counters"]["rx_packets"]

def edge():
    return ask({"cmd": "show-edge"})["edge"]

def flooder(stop, n):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    i = 0
    while not stop.is_set():
        i += 1
        try:
            c = socket.create_connection(("127.0.0.1", 5061), timeout=5)
            if i % 10 == 0:
                c.sendall(b"\x16\x03\x01 not a client hello \r\n\r\n" * 4)
                c.close()
            else:
                ctx.wrap_socket(c, server_hostname="edge.test").close()
            with n.get_lock():
                n.value += 1
        except OSError:
            pass

def window():
    a, t0 = rx(), time.monotonic()
    time.sleep(WINDOW)
    b, t1 = rx(), time.monotonic()
    return (b - a) / (t1 - t0)

t0 = time.monotonic()
while rx() < 20000:  # traffic flows through the worker
    if time.monotonic() - t0 > 20:
        sys.exit("no traffic after 20 s")
    time.sleep(0.05)
res = {"quiet1": window()}
stop, n = multiprocessing.Event(), multiprocessing.Value("q", 0)
procs = [multiprocessing.Process(target=flooder, args=(stop, n)) for _ in range(2)]
for p in procs:
    p.start()
t0 = time.monotonic()
while n.value < 50 and time.monotonic() - t0 < 20:
    time.sleep(0.05)
e0, c0 = edge(), n.value
res["flood"] = window()
e1, c1 = edge(), n.value
stop.set()
for p in procs:
    p.join(10)
res["quiet2"] = window()
res["handshakes"] = e1["handshakes_ok"] - e0["handshakes_ok"]
res["failed"] = e1["closed_handshake"] - e0["closed_handshake"]
res["attempts"] = c1 - c0
res["edge"] = edge()
json.dump(res, open(out, "w"))
PY

# ---- stop: the port closes its capture, the checker sees its end ----
kill -INT "$PID"
for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && die "siphon did not stop on SIGINT"
wait "$PID" || die "siphon exited with status $?"
PID=
for _ in $(seq 300); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CPID" 2>/dev/null && die "the checker did not finish"
wait "$CPID" || die "the checker failed"
CPID=

python3 - "$TMP/windows.json" "$TMP/checker.log" "$TMP/siphon.log" <<'PY' || die "see above"
import json, re, sys

W, log = json.load(open(sys.argv[1])), open(sys.argv[3]).read()
C = {}
for line in open(sys.argv[2]):
    if line.startswith("edge_udp: mode=check "):
        C = {k: int(v) for k, v in (w.split("=") for w in line.split()[2:])}
if not C:
    print("FAIL  no summary from the receiver", flush=True)
    sys.exit(1)
C["lost"] = C["lost_gaps"]
fails = []
def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        fails.append(what)

print("rate: quiet %.0f pps, during the flood %.0f pps (%+.1f %%), quiet again %.0f pps; "
      "%d handshakes done and %d failed in the flood's %.0f s" %
      (W["quiet1"], W["flood"], 100 * (W["flood"] / W["quiet1"] - 1) if W["quiet1"] else 0,
       W["quiet2"], W["handshakes"], W["failed"], 3), flush=True)
check(W["handshakes"] >= 20 and W["failed"] >= 2,
      "the edge was flooded: %d handshakes and %d failures in the window" % (W["handshakes"], W["failed"]))
check(W["flood"] > 0, "frames were forwarded during the flood")
check(C["lost"] == 0, "no frame lost at the receiver (%d)" % C["lost"])
check(C["foreign"] == 0, "no foreign frame at the receiver (%d)" % C["foreign"])
m = re.search(r"^siphon: rx (\d+) pkts \d+ B \| fwd (\d+) \| tx (\d+) pkts \d+ B, (\d+) refused", log, re.M)
check(m is not None, "the daemon's final statistics line")
if m:
    rx, fwd, tx, refused = map(int, m.groups())
    check(rx == fwd == C["matched"],
          "every frame received was forwarded and reached the receiver: rx %d, fwd %d, "
          "received %d" % (rx, fwd, C["matched"]))
    check(tx == C["frames"] and refused == 0,
          "tx %d = frames in the output %d, %d refused" % (tx, C["frames"], refused))
d = re.search(r"^  drops:(.*)$", log, re.M)
check(d is not None and d.group(1).strip() == "", "no drop of any reason: %s" % (d.group(1) if d else "?"))
print(f"edge flood: {len(fails)} failed", flush=True)
sys.exit(1 if fails else 0)
PY
