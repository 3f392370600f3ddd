#!/usr/bin/env bash
# tests/test_edge_daemon.sh SIPHON SIPHONCTL - the edge inside the real daemon: siphon on a
# net_null vdev (no NIC, no hugepages) with an edge block, in a network namespace of its
# own ("edge-d-PID", removed on any exit). Two registrars (UDP sockets on addresses of
# the namespace's loopback) behind the edge's group; REGISTERs over TCP spread over both
# by AOR; after `siphonctl backend state r1 down` every AOR lands on r2 (the edge reads
# the published snapshot, health and operator states included); back up, the AORs that
# were r1's go back to it. Calls across a drain of r1: every call's BYE reaches its
# INVITE's backend, new calls avoid r1 and their BYEs follow them (the transition window's
# rule, shared with the workers). Then the operations side: `siphonctl show edge` (text and
# --json) and the siphon_edge_* metrics agree with what was sent; `siphonctl tls reload`
# swaps the TLS certificate (fingerprints compared) while a TLS connection stays up, and
# a garbage chain is refused by it and by `siphonctl reload`, naming the file, the
# certificate in use staying (and the whole reload refused when the file changes more);
# the edge thread keeps off the worker's CPU. Not parallel: the daemon busy-polls lcores
# 0 and 1.
set -uo pipefail
SIPHON=${1:?usage: test_edge_daemon.sh SIPHON SIPHONCTL}
CTL=${2:?usage: test_edge_daemon.sh SIPHON SIPHONCTL}
ns="edge-d-$$"
TMP=$(mktemp -d /tmp/edge-d.XXXXXX)
PID=

cleanup() {
	[ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
ip -n "$ns" addr add 192.0.2.21/32 dev lo
ip -n "$ns" addr add 192.0.2.22/32 dev lo
for c in a b; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=edge.test -addext subjectAltName=DNS:edge.test \
		-keyout "$TMP/$c.key" -out "$TMP/$c.pem" 2>/dev/null || exit 1
done
cp "$TMP/a.pem" "$TMP/edge.pem"
cp "$TMP/a.key" "$TMP/edge.key"
cat >"$TMP/siphon.conf" <<CONF
hash_key = "edge-daemon-test-key-0123";
ports = ( { name = "net0"; device = "net_null0"; addresses = [ "192.0.2.2/24" ]; } );
groups = ( { name = "reg"; backends = (
  { name = "r1"; address = "192.0.2.21"; port = 5090; mac = "02:00:00:00:00:21"; },
  { name = "r2"; address = "192.0.2.22"; port = 5090; mac = "02:00:00:00:00:22"; } ); } );
control = { socket = "$TMP/ctl.sock"; };
health = { enabled = false; };
metrics = { listen = "127.0.0.1:9109"; };
edge = { tcp = [ "127.0.0.1:5060" ]; tls = [ "127.0.0.1:5061" ]; address = "127.0.0.1:5070";
  group = "reg"; flow_key = "edge-daemon-test-flow-key"; max_msgs_per_sec = 65534;
  certs = [ "$TMP/edge.pem" ]; keys = [ "$TMP/edge.key" ]; };
CONF
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 ip netns exec "$ns" "$SIPHON" --no-huge \
	-m 512 --no-pci --no-shconf --file-prefix="edge_d_$$" --no-telemetry \
	--log-level=lib.eal:error --vdev net_null0 -l 0,1 -- --config "$TMP/siphon.conf" \
	>"$TMP/siphon.log" 2>&1 &
PID=$!
for _ in $(seq 200); do
	[ -S "$TMP/ctl.sock" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if [ ! -S "$TMP/ctl.sock" ]; then
	echo "FAIL  siphon did not start"
	cat "$TMP/siphon.log"
	exit 1
fi
ip netns exec "$ns" timeout 60 python3 - "$CTL" "$TMP/ctl.sock" "$TMP" "$PID" <<'PY'
import hashlib, json, os, re, select, shutil, socket, ssl, subprocess, sys, time, urllib.request
ctl, sock, tmp, pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
failures = []
def check(c, what):
    print(("ok    " if c else "FAIL  ") + what, flush=True)
    if not c:
        failures.append(what)
# -l 0,1: lcore 1 is the worker, on CPU 1; the edge thread must not be allowed there.
cpus = None
for tid in os.listdir(f"/proc/{pid}/task"):
    if open(f"/proc/{pid}/task/{tid}/comm").read().strip() == "sph-edge":
        cpus = re.search(r"(?m)^Cpus_allowed_list:\s*(\S+)", open(f"/proc/{pid}/task/{tid}/status").read()).group(1)
check(cpus is not None and "1" not in re.split(r"[,-]", cpus),
      f"the edge thread stays off the worker's CPU 1 (allowed: {cpus})")
regs = {}
for name, addr in (("r1", "192.0.2.21"), ("r2", "192.0.2.22")):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 5090))
    regs[name] = s
conn = socket.create_connection(("127.0.0.1", 5060), timeout=5)
buf = b""
def register(user, n):
    """One REGISTER through the edge: which registrar got it; it answers 200."""
    global buf
    conn.sendall((f"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK-{user}-{n}\r\n"
                  f"From: <sip:{user}@x>;tag=1\r\nTo: <sip:{user}@x>\r\nCall-ID: {user}-{n}\r\n"
                  f"CSeq: {n} REGISTER\r\nContent-Length: 0\r\n\r\n").encode())
    r, _, _ = select.select(list(regs.values()), [], [], 5)
    if not r:
        return None
    d, a = r[0].recvfrom(65535)
    t = d.decode()
    vias = [l for l in t.split("\r\n") if l.startswith("Via")]
    r[0].sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(vias) + f"\r\nFrom: <sip:{user}@x>;tag=1\r\n"
                 f"To: <sip:{user}@x>;tag=2\r\nCall-ID: {user}-{n}\r\nCSeq: {n} REGISTER\r\n"
                 "Content-Length: 0\r\n\r\n").encode(), a)
    while b"\r\n\r\n" not in buf:
        buf += conn.recv(4096)
    resp, buf = buf.split(b"\r\n\r\n", 1)
    if not resp.startswith(b"SIP/2.0 200"):
        return None
    return [k for k, v in regs.items() if v is r[0]][0]
users = [f"user{i}" for i in range(40)]
first = {u: register(u, 1) for u in users}
check(None not in first.values(), "every REGISTER reaches a registrar and its 200 the client")
check(set(first.values()) == {"r1", "r2"}, "AORs spread over both registrars")
again = {u: register(u, 2) for u in users}
check(again == first, "each AOR goes to the same registrar again")
rc = subprocess.run([ctl, "--socket", sock, "backend", "state", "r1", "down"], capture_output=True)
check(rc.returncode == 0, "siphonctl backend state r1 down")
down = {u: register(u, 3) for u in users}
check(set(down.values()) == {"r2"}, "with r1 down every AOR lands on r2 (the published snapshot)")
subprocess.run([ctl, "--socket", sock, "backend", "state", "r1", "up"], capture_output=True)
up = {u: register(u, 4) for u in users}
check(up == first, "r1 up again: its AORs go back to it")

def request(method, cid, in_dialog):
    """One request through the edge by Call-ID: which registrar got it; it answers 200."""
    global buf
    to = "<sip:bob@x>" + (";tag=2" if in_dialog else "")
    conn.sendall((f"{method} sip:bob@x SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK-{cid}-{method}\r\n"
                  f"From: <sip:alice@x>;tag=1\r\nTo: {to}\r\nCall-ID: {cid}\r\n"
                  f"CSeq: 2 {method}\r\nContent-Length: 0\r\n\r\n").encode())
    r, _, _ = select.select(list(regs.values()), [], [], 5)
    if not r:
        return None
    d, a = r[0].recvfrom(65535)
    vias = [l for l in d.decode().split("\r\n") if l.startswith("Via")]
    r[0].sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(vias) + "\r\nFrom: <sip:alice@x>;tag=1\r\n"
                 f"To: <sip:bob@x>;tag=2\r\nCall-ID: {cid}\r\nCSeq: 2 {method}\r\n"
                 "Content-Length: 0\r\n\r\n").encode(), a)
    while b"\r\n\r\n" not in buf:
        buf += conn.recv(4096)
    resp, buf = buf.split(b"\r\n\r\n", 1)
    if not resp.startswith(b"SIP/2.0 200"):
        return None
    return [k for k, v in regs.items() if v is r[0]][0]
# Calls through the edge across a drain (docs/dialogs.md): within the transition window an
# in-dialog request follows its call to the draining backend, a new call avoids it, and the
# new call's own in-dialog requests follow it (the workers' affinity records).
calls = [f"call-{i}" for i in range(40)]
began = {c: request("INVITE", c, False) for c in calls}
check(set(began.values()) == {"r1", "r2"}, "calls through the edge spread over both backends")
rc = subprocess.run([ctl, "--socket", sock, "backend", "state", "r1", "drain"], capture_output=True)
check(rc.returncode == 0, "siphonctl backend state r1 drain")
byes = {c: request("BYE", c, True) for c in calls}
check(byes == began, "after the drain every call's BYE reaches the backend its INVITE did "
      f"({sum(byes[c] != began[c] for c in calls)} moved)")
fresh = [f"new-{i}" for i in range(40)]
newb = {c: request("INVITE", c, False) for c in fresh}
check(set(newb.values()) == {"r2"}, "new calls avoid the draining backend")
newbye = {c: request("BYE", c, True) for c in fresh}
check(newbye == newb, "and their BYEs follow them, not the previous table")
subprocess.run([ctl, "--socket", sock, "backend", "state", "r1", "up"], capture_output=True)

def siphonctl(*args):
    return subprocess.run([ctl, "--socket", sock, *args], capture_output=True, text=True)
def show_edge():
    r = siphonctl("--json", "show", "edge")
    return json.loads(r.stdout) if r.returncode == 0 else {}
def metric(text, series):
    m = re.search(r"(?m)^" + re.escape(series) + r" (\d+)$", text)
    return int(m.group(1)) if m else None
def scrape():
    return urllib.request.urlopen("http://127.0.0.1:9109/metrics", timeout=5).read().decode()

j = show_edge()
e = j.get("edge") or {}
check(e.get("conns_open") == 1 and e.get("flows") == 1 and e.get("msgs_in") == 320 and
      e.get("to_backend") == 320 and j.get("mem_allocated", 0) > 0,
      f"show edge --json: 1 connection, 1 flow, 320 messages in and to backends, memory "
      f"({e.get('conns_open')}, {e.get('flows')}, {e.get('msgs_in')}, {e.get('to_backend')}, "
      f"{j.get('mem_allocated')})")
txt = siphonctl("show", "edge").stdout
check("connections: 1 open (0 in handshake, 1 established), 1 flows" in txt and
      "messages: 320 in, 320 out" in txt, "show edge: the same in text")
m = scrape()
types = dict(re.findall(r"(?m)^# TYPE (siphon_edge_\w+) (\w+)$", m))
helps = set(re.findall(r"(?m)^# HELP (siphon_edge_\w+) \S", m))
samples = re.findall(r"(?m)^(siphon_edge_\w+)(?:\{[a-z_]+=\"[a-z_]+\"\})? \d+$", m)
lines = [l for l in m.splitlines() if l.startswith("siphon_edge_")]
check(len(types) >= 15 and set(types) == helps == set(samples) and len(samples) == len(lines) and
      all((t == "counter") == n.endswith("_total") for n, t in types.items()),
      f"metrics: {len(types)} siphon_edge_* families, each with HELP and TYPE, "
      f"{len(lines)} well-formed samples, counters named _total")
check(metric(m, 'siphon_edge_connections{state="established"}') == 1 and
      metric(m, "siphon_edge_flows") == 1 and
      metric(m, 'siphon_edge_messages_total{direction="in"}') == 320 and
      metric(m, 'siphon_edge_messages_total{direction="to_backend"}') == 320 and
      (metric(m, 'siphon_edge_memory_bytes{kind="allocated"}') or 0) > 0 and
      (metric(m, "siphon_edge_memory_per_connection_bytes") or 0) > 0,
      "metrics: siphon_edge_connections, flows, messages and memory as sent")

def tls():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
    return c.wrap_socket(socket.create_connection(("127.0.0.1", 5061), timeout=5),
                         server_hostname="edge.test")
def fp_conn():
    t = tls()
    f = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    t.close()
    return f
def fp_file(name):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(f"{tmp}/{name}").read())).hexdigest()
held = tls()
check(fp_conn() == fp_file("a.pem"), "tls: the configured certificate is served")
shutil.copy(f"{tmp}/b.pem", f"{tmp}/edge.pem")
shutil.copy(f"{tmp}/b.key", f"{tmp}/edge.key")
r = siphonctl("tls", "reload")
check(r.returncode == 0 and "reloaded" in r.stdout, "siphonctl tls reload: " + (r.stdout + r.stderr).strip())
check(fp_conn() == fp_file("b.pem"), "tls reload: a new connection gets the new certificate")
held.sendall(b"\r\n\r\n")
check(held.recv(2) == b"\r\n", "tls reload: a connection opened before it still answers")
open(f"{tmp}/edge.pem", "w").write("not a certificate\n")
r = siphonctl("tls", "reload")
check(r.returncode == 1 and f"{tmp}/edge.pem" in r.stderr,
      "tls reload: a garbage chain is refused, naming it: " + r.stderr.strip())
r = siphonctl("reload")
check(r.returncode == 1 and f"{tmp}/edge.pem" in r.stderr,
      "reload: a garbage chain refuses the reload, naming it: " + r.stderr.strip())
check(fp_conn() == fp_file("b.pem"), "after both refusals the certificate in use stays")
shutil.copy(f"{tmp}/a.pem", f"{tmp}/edge.pem")
shutil.copy(f"{tmp}/a.key", f"{tmp}/edge.key")
r = siphonctl("--json", "reload")
check(r.returncode == 0 and json.loads(r.stdout).get("tls") == "reloaded",
      "reload (configuration unchanged) reloads the certificates too")
check(fp_conn() == fp_file("a.pem"), "reload: a new connection gets the file's certificate")
held.sendall(b"\r\n\r\n")
check(held.recv(2) == b"\r\n", "reload: the connection opened first still answers")
# A file with another backend weight and a garbage chain: the whole reload is refused,
# the weight not applied. With the chain good again: applied, and the edge setting it
# also changes is said to wait for a restart.
conf = open(f"{tmp}/siphon.conf").read()
gen0 = json.loads(siphonctl("--json", "show", "groups").stdout)["generation"]
changed = conf.replace('port = 5090; mac = "02:00:00:00:00:22";',
                       'port = 5090; weight = 3; mac = "02:00:00:00:00:22";')
changed = changed.replace("max_msgs_per_sec = 65534;", "max_msgs_per_sec = 65534; idle_timeout_s = 600;")
check(changed.count("weight = 3") == 1 and changed.count("idle_timeout_s = 600") == 1,
      "the test's file edits apply")
open(f"{tmp}/siphon.conf", "w").write(changed)
open(f"{tmp}/edge.pem", "w").write("not a certificate\n")
r = siphonctl("reload")
g = json.loads(siphonctl("--json", "show", "groups").stdout)
check(r.returncode == 1 and g["generation"] == gen0,
      f"reload with a bad chain and other changes: refused, generation {g['generation']} kept")
shutil.copy(f"{tmp}/a.pem", f"{tmp}/edge.pem")
r = siphonctl("--json", "reload")
j = json.loads(r.stdout) if r.returncode == 0 else {}
check(j.get("changed") is True and j.get("tls") == "reloaded" and
      any("edge settings other than its certificates" in n for n in j.get("notes", [])),
      "the same file with a good chain: applied, certificates reloaded, the edge change noted: "
      + r.stdout.replace("\n", " ")[:300])
e = show_edge().get("edge") or {}
check(e.get("tls_reloads") == 3 and e.get("tls_reload_failed") == 3,
      f"reloads counted: {e.get('tls_reloads')} done, {e.get('tls_reload_failed')} refused")
m = scrape()
check(metric(m, 'siphon_edge_tls_reloads_total{result="refused"}') == 3 and
      (metric(m, 'siphon_edge_handshakes_total{kind="full"}') or 0) >= 5,
      "metrics: reloads and handshakes counted")
held.close()
print(f"edge daemon: {len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
PY
rc=$?
kill -INT "$PID"
wait "$PID"
drc=$?
PID=
grep -q "siphon: edge proxy on" "$TMP/siphon.log" && grep -q "^edge_to_backend 320$" "$TMP/siphon.log"
erc=$?
[ $erc -eq 0 ] && echo "ok    the daemon started the edge and counted 320 messages to backends" ||
	{ echo "FAIL  edge start or counters"; cat "$TMP/siphon.log"; }
[ $drc -eq 0 ] && echo "ok    siphon stops cleanly" || echo "FAIL  siphon exit $drc"
[ $rc -eq 0 ] && [ $erc -eq 0 ] && [ $drc -eq 0 ]
