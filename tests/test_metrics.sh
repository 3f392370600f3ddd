#!/usr/bin/env bash
# test_metrics.sh - the Prometheus endpoint (control/metrics.c) against a real daemon.
#
#   tests/test_metrics.sh SIPHON SIPHONCTL [SOURCE_ROOT]
#
# Runs siphon with --no-huge on a net_pcap vdev replaying bench/pcaps/mixed-calls.pcap
# (examples/demo.conf's VIPs and backends, static MACs since nothing answers ARP on a
# capture), metrics on 127.0.0.1:<free port>, the control socket in a temporary folder.
# Waits (bounded) until every frame of the capture is counted, then checks the scrape
# with a stdlib python3 parser: the exposition format (HELP and TYPE for every family,
# counters end in _total, every sample line parses, label escapes, no duplicate series,
# families contiguous), the numbers (rx = the capture's frames = what the backends got;
# per backend, what `siphonctl scan --config --summary` says it must get; requests +
# responses = packets; forwarded = the frames; no drops; one worker; generation 1),
# that every non-drop counter of include/siphon/stats.h's STATS_COUNTERS is a family of its
# own with its meaning as HELP, then the HTTP side (404, 405, HEAD), then bad clients
# (more idle connections than the old limit of 16, from several source addresses, and
# some over the per-address limit: a scrape still succeeds, the idle ones and a
# slowloris are cut by the request deadline; garbage requests: each counted, stderr
# rate-limited), then changes over the control socket (state, weight, add, remove)
# and that the gauges and the generation follow, and forwarded does not go down when a
# backend that had frames leaves. The daemon is killed at exit whatever happens. EAL's
# --file-prefix, the socket and the port are this run's own (PID and mktemp name; the
# port is retried when another process took it first).
set -u

SIPHON=${1:?usage: test_metrics.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
CTL=${2:?usage: test_metrics.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
ROOT=${3:-$(cd "$(dirname "$0")/.." && pwd)}
PCAP=$ROOT/bench/pcaps/mixed-calls.pcap
TMP=$(mktemp -d /tmp/test_metrics.XXXXXX)
CONF=$TMP/siphon.conf
PREFIX="m$$_${TMP##*.}" # EAL --file-prefix: unique per run, even across PID namespaces
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
	# EAL's runtime folder for our --file-prefix (root: /var/run/dpdk, else XDG).
	rm -rf "/var/run/dpdk/$PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "FAIL: $*" >&2
	[ -f "$TMP/siphon.log" ] && sed 's/^/  siphon.log: /' "$TMP/siphon.log" >&2
	exit 1
}

# A free port: the kernel picks one, we release it and hand it to siphon. Another
# process may take it in between: siphon then says it cannot listen, and we start it
# again on a new port (three tries).
for try in 1 2 3; do
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cp "$ROOT/examples/demo.conf" "$CONF"
	cat >>"$CONF" <<EOF

control = { socket = "$TMP/ctl.sock"; };
metrics = { listen = "127.0.0.1:$PORT"; };
EOF
	if [ "$try" = 1 ]; then
		"$CTL" scan --config "$CONF" --summary --json "$PCAP" >"$TMP/expect.json" ||
			die "siphonctl scan failed"
	fi

	"$SIPHON" --no-huge -m 512 --no-pci --file-prefix "$PREFIX" -l 0,1 \
		--log-level 'lib.*:warning' \
		--vdev "net_pcap0,rx_pcap=$PCAP,tx_pcap=$TMP/out.pcap" \
		-- --config "$CONF" --promisc >"$TMP/siphon.log" 2>&1 &
	PID=$!
	for _ in $(seq 600); do # 60 s at most
		grep -q -e 'metrics on http' -e 'metrics: cannot listen' "$TMP/siphon.log" && break
		kill -0 "$PID" 2>/dev/null || die "siphon exited early"
		sleep 0.1
	done
	grep -q 'metrics on http' "$TMP/siphon.log" && break
	grep -q 'metrics: cannot listen' "$TMP/siphon.log" || die "siphon did not start its metrics"
	kill -TERM "$PID"
	wait "$PID"
	PID=
	[ "$try" = 3 ] && die "no free port in three tries"
done

# Everything else is python3: scraping, parsing, checking, driving the socket.
python3 - "$PORT" "$TMP/expect.json" "$TMP/ctl.sock" "$PID" "$ROOT/include/siphon/stats.h" \
	"$TMP/siphon.log" "$ROOT/control/metrics.h" <<'PY' || die "see above"
import json, os, re, select, socket, sys, threading, time, urllib.error, urllib.request

port, expect_path, sock_path, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
stats_h, log_path, metrics_h = sys.argv[5], sys.argv[6], sys.argv[7]
base = "http://127.0.0.1:%s" % port
expect = json.load(open(expect_path))
FRAMES = expect["packets"]
checks = 0

def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)

def get(path, method="GET"):
    req = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()

# ---- the exposition format, version 0.0.4 ----
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(?P<name>%s)(?:\{(?:%s(?:,%s)*)?,?\})? (?P<value>\S+)(?: -?\d+)?$"
                    % (NAME, LABEL, LABEL))
UNESC = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

def parse(text):
    """{family: {"type", "help", "samples": {(name, labels): value}}}; asserts the format."""
    fams, order, cur = {}, [], None
    check(text.endswith("\n"), "scrape ends with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            check(len(parts) == 4 and re.fullmatch(NAME, parts[2]), "comment parses: " + where)
            f = fams.setdefault(parts[2], {"type": None, "help": None, "samples": {}})
            key = "help" if parts[1] == "HELP" else "type"
            check(f[key] is None, "one %s per family: %s" % (key, where))
            check(not f["samples"], "%s before the samples: %s" % (key, where))
            if key == "type":
                check(parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"),
                      "known type: " + where)
            f[key] = parts[3]
            if parts[2] != cur:
                check(parts[2] not in order, "family not split: " + where)
                order.append(parts[2])
                cur = parts[2]
            continue
        check(not line.startswith("#") and line != "", "no stray line: " + where)
        m = SAMPLE.match(line)
        check(m is not None, "sample parses: " + where)
        name = m.group("name")
        check(name == cur, "sample under its family's HELP/TYPE: " + where)
        body = line[len(name):line.rindex("}") + 1] if "{" in line else ""
        labels = tuple((k, re.sub(r'\\[\\"n]', lambda e: UNESC[e.group(0)], v))
                       for k, v in re.findall(LABEL, body))
        check(len({k for k, _ in labels}) == len(labels), "no repeated label: " + where)
        check(re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?Inf|NaN",
                           m.group("value")), "value is a Go float: " + where)
        value = float(m.group("value"))
        key = (name, labels)
        check(key not in fams[name]["samples"], "no duplicate series: " + where)
        fams[name]["samples"][key] = value
    for name, f in fams.items():
        check(f["help"] and f["type"], "%s has HELP and TYPE" % name)
        if f["type"] == "counter":
            check(name.endswith("_total"), "counter %s ends in _total" % name)
            check(all(v >= 0 and v == int(v) for v in f["samples"].values()),
                  "counter %s: non-negative integers" % name)
        else:
            check(not name.endswith("_total"), "non-counter %s does not end in _total" % name)
    return fams

def series(fams, name):
    """[(labels dict, value)] of a family."""
    return [(dict(l), v) for (_, l), v in fams.get(name, {"samples": {}})["samples"].items()]

def total(fams, name, **want):
    return sum(v for l, v in series(fams, name) if all(l.get(k) == x for k, x in want.items()))

def scrape():
    st, hdr, body = get("/metrics")
    check(st == 200, "GET /metrics is 200, got %d" % st)
    ctype = {k.lower(): v for k, v in hdr.items()}.get("content-type", "")
    check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
          "content type text/plain; version=0.0.4, got %r" % ctype)
    return body, parse(body)

# The escaping rule itself, on a made-up line the parser must accept and undo.
fx = parse('# HELP x_total h\n# TYPE x_total counter\nx_total{a="q\\"b\\\\c\\nd"} 1\n')
check(dict(list(fx["x_total"]["samples"])[0][1])["a"] == 'q"b\\c\nd', "label unescaping")

# ---- wait (bounded) until every frame is received and dispatched ----
deadline, body, fams = time.time() + 60, None, None
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        check(False, "siphon exited early")
    try:
        body, fams = scrape()
        if (total(fams, "siphon_rx_packets_total") >= FRAMES and
                total(fams, "siphon_backend_packets_total") >= FRAMES):
            break
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        pass  # not listening yet
    time.sleep(0.2)
check(fams is not None, "the endpoint answered within 60 s")
time.sleep(0.3)  # nothing more arrives: one more scrape must say the same
body, fams = scrape()
open(os.path.join(os.path.dirname(expect_path), "scrape.txt"), "w").write(body)

# ---- the families ----
COUNTERS = ["siphon_rx_packets_total", "siphon_rx_bytes_total", "siphon_tx_packets_total",
            "siphon_tx_bytes_total", "siphon_tx_dropped_total", "siphon_forwarded_total",
            "siphon_drops_total",
            "siphon_backend_packets_total", "siphon_backend_bytes_total",
            "siphon_backend_requests_total", "siphon_backend_responses_total"]
GAUGES = ["siphon_backend_up", "siphon_backend_state", "siphon_backend_weight",
          "siphon_snapshot_generation", "siphon_workers", "siphon_build_info"]
for name in COUNTERS:
    check(fams.get(name, {}).get("type") == "counter", "%s is a counter" % name)
for name in GAUGES:
    check(fams.get(name, {}).get("type") == "gauge", "%s is a gauge" % name)
check("siphon_backend_probe_latency_seconds" not in fams, "no probe latency without a prober")
for name in COUNTERS[:6]:
    check(sorted(l["worker"] for l, _ in series(fams, name)) == ["0"], "%s: one worker" % name)

# ---- the numbers ----
check(total(fams, "siphon_rx_packets_total") == FRAMES, "rx = %d frames" % FRAMES)
check(total(fams, "siphon_backend_packets_total") == FRAMES, "backends got %d frames" % FRAMES)
tx = total(fams, "siphon_tx_packets_total")  # + announcements sent through worker 0
check(FRAMES <= tx <= FRAMES + 16, "tx = %d frames (l2dsr) + announcements, got %d" % (FRAMES, tx))
check(total(fams, "siphon_tx_dropped_total") == 0, "nothing refused by the NIC")
check(total(fams, "siphon_forwarded_total") == FRAMES,
      "forwarded = %d frames, got %d" % (FRAMES, total(fams, "siphon_forwarded_total")))

# Every scalar counter of include/siphon/stats.h that is no "drop:" is a family of its own,
# siphon_<name>_total{worker} with its meaning as HELP (these eight predate the rule).
LEGACY = {"rx_packets": "siphon_rx_packets_total", "rx_bytes": "siphon_rx_bytes_total",
          "tx_packets": "siphon_tx_packets_total", "tx_bytes": "siphon_tx_bytes_total",
          "tx_drop": "siphon_tx_dropped_total", "nd_reply": "siphon_nd_replies_total",
          "nd_learn": "siphon_nd_learned_total", "learn_ring_full": "siphon_nd_learn_lost_total"}
src = open(stats_h).read()
macro = src[src.index("#define STATS_COUNTERS(X)"):]
macro = macro[:macro.index("\n\n")]
ctrs = re.findall(r'X\((\w+),\s*"((?:[^"\\]|\\.)*)"', macro)
check(len(ctrs) >= 25 and ("forwarded", "frames sent to a backend") in ctrs,
      "STATS_COUNTERS parsed from %s: %d counters" % (stats_h, len(ctrs)))
plain = [(n, d) for n, d in ctrs if not d.startswith("drop")]
for n, d in plain:
    fam = LEGACY.get(n, "siphon_%s_total" % n)
    f = fams.get(fam, {})
    check(f.get("type") == "counter", "counter %s is exported as %s" % (n, fam))
    check([sorted(l) for l, _ in series(fams, fam)] == [["worker"]],
          "%s: one series, label worker" % fam)
    if n not in LEGACY:
        check(f.get("help", "").lower().startswith(d.lower()),
              "%s: HELP is the counter's meaning, got %r" % (fam, f.get("help")))
check(fams["siphon_forwarded_total"]["help"] == "Frames sent to a backend.",
      "siphon_forwarded_total HELP")
for fam in ["siphon_exception_rx_total", "siphon_exception_tx_total",
            "siphon_dispatch_old_total", "siphon_affinity_hit_total",
            "siphon_affinity_insert_total", "siphon_affinity_full_total",
            "siphon_nd_learn_only_total"]:
    check(fam in fams and total(fams, fam) == 0, "%s is 0 on a capture to the VIPs" % fam)
for n, d in ctrs:
    if d.startswith("drop"):
        check("siphon_%s_total" % n not in fams, "drop %s is no family of its own" % n)
check(total(fams, "siphon_rx_bytes_total") == total(fams, "siphon_backend_bytes_total"),
      "rx bytes = backend bytes")
check(total(fams, "siphon_drops_total") == 0, "no drops on a clean capture")
layers = {}
for l, _ in series(fams, "siphon_drops_total"):
    layers.setdefault(l["layer"], set()).add(l["reason"])
check(set(layers) == {"pkt", "sip", "dp"}, "drop layers pkt, sip, dp: %s" % sorted(layers))
check({"not_vip", "no_backend", "no_neighbor"} <= layers["dp"], "dp drop reasons present")
anomalies = {l["reason"] for l, _ in series(fams, "siphon_sip_anomalies_total")}
check(len(layers["pkt"]) >= 10 and len(layers["sip"] | anomalies) >= 29,
      "every verdict is a series: %d sip drops, %d anomalies" % (len(layers["sip"]), len(anomalies)))
check(not (layers["sip"] & anomalies), "a verdict is a drop or an anomaly, not both")
check({"bad_start_line", "no_call_id", "dup_to", "truncated"} <= layers["sip"] and
      {"bad_via", "bad_to", "bad_cseq", "no_from", "bad_route"} <= anomalies,
      "drops and anomalies as sip.h's SIP_VERDICTS says")
check(fams.get("siphon_sip_anomalies_total", {}).get("type") == "counter",
      "siphon_sip_anomalies_total is a counter")
want = {b["name"]: b for b in expect["backends"]}
for b in want.values():
    ident = {"group": b["group"], "backend": b["name"]}
    got = total(fams, "siphon_backend_packets_total", **ident)
    check(got == b["messages"], "%s: %d packets, scan says %d" % (b["name"], got, b["messages"]))
    check(total(fams, "siphon_backend_requests_total", **ident) +
          total(fams, "siphon_backend_responses_total", **ident) == got,
          "%s: requests + responses = packets" % b["name"])
    check(total(fams, "siphon_backend_requests_total", method="INVITE", **ident) > 0,
          "%s: INVITEs counted" % b["name"])
    check(total(fams, "siphon_backend_up", **ident) == 1, "%s: up" % b["name"])
    check(total(fams, "siphon_backend_weight", **ident) == b["weight"], "%s: weight" % b["name"])
    check(total(fams, "siphon_backend_state", state="up", **ident) == 1 and
          total(fams, "siphon_backend_state", **ident) == 1, "%s: state one-hot up" % b["name"])
check({l["backend"] for l, _ in series(fams, "siphon_backend_up")} == set(want),
      "exactly the configured backends")
check(total(fams, "siphon_workers") == 1, "siphon_workers 1")
check(total(fams, "siphon_snapshot_generation") == 1, "generation 1 at start")
bi = series(fams, "siphon_build_info")
check(len(bi) == 1 and bi[0][1] == 1 and bi[0][0].get("version"), "build_info{version} 1")

# ---- HTTP ----
check(get("/other")[0] == 404, "404 on /other")
check(get("/")[0] == 404, "404 on /")
st, hdr, _ = get("/metrics", "POST")
check(st == 405 and "GET" in {k.lower(): v for k, v in hdr.items()}.get("allow", ""),
      "405 with Allow on POST")
check(get("/metrics", "DELETE")[0] == 405, "405 on DELETE")
st, _, b = get("/metrics", "HEAD")
check(st == 200 and b == "", "HEAD /metrics: 200, no body")

# ---- bad clients (control/metrics.h's limits and deadlines) ----
def define(name):
    return int(re.search(r"#define %s\s+(\d+)u" % name, open(metrics_h).read()).group(1))
PER_IP, LIMIT = define("METRICS_CONN_PER_IP"), define("METRICS_CONN_LIMIT")
OLD_LIMIT, SOURCES = 16, 3  # 16 idle clients used to block every scrape
check(SOURCES * PER_IP > OLD_LIMIT and SOURCES * PER_IP + 2 <= LIMIT,
      "idle clients: %d > %d, within %d" % (SOURCES * PER_IP, OLD_LIMIT, LIMIT))

def errors():
    return {l["reason"]: v for l, v in series(scrape()[1], "siphon_metrics_http_errors_total")}

def opened(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(30)  # any wait on it: a guard against a hang
    s.connect(("127.0.0.1", int(port)))
    return s

def closed_by_server(s):
    """Wait (bounded by the socket's timeout) for the server to end the connection."""
    try:
        while s.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

e0 = errors()
check(sorted(e0) == ["bad_request", "limit", "other", "timeout"] and not any(e0.values()),
      "every error reason is a series, all 0: %s" % e0)

# A slowloris: headers that never end, one byte per 0.2 s. An idle timeout alone never
# cuts it (it is never idle for long); the request deadline does. 150 bytes (30 s) is a
# guard against a hang, far beyond the deadline: no timing is asserted.
slow = opened("127.0.0.%d" % (2 + SOURCES))
slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: siphon\r\nX-Slow: ")
trickled = {"sent": 0, "cut": False}
def trickle():
    for _ in range(150):
        if select.select([slow], [], [], 0.2)[0]:
            try:
                if slow.recv(4096):
                    continue  # an answer, not the end: keep going
            except OSError:
                pass
            trickled["cut"] = True
            return
        try:
            slow.send(b"a")
        except OSError:
            trickled["cut"] = True
            return
        trickled["sent"] += 1
slow_thread = threading.Thread(target=trickle)
slow_thread.start()

# More idle clients than the old limit, PER_IP from each of SOURCES addresses, then 4
# more from the last one: those are over its limit, closed at once.
idle = [opened("127.0.0.%d" % (2 + i // PER_IP)) for i in range(SOURCES * PER_IP)]
over = [opened("127.0.0.%d" % (1 + SOURCES)) for _ in range(4)]
for s in over:
    check(closed_by_server(s), "a connection over the per-address limit is closed")
    s.close()
for s in idle:
    s.setblocking(False)
    try:
        s.recv(1)
        check(False, "an idle client is still connected when the scrape starts")
    except BlockingIOError:
        pass
    s.settimeout(30)
try:
    st = get("/metrics")[0]
except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
    st = str(e)
check(st == 200, "a scrape with %d idle clients open succeeds, got %s" % (len(idle), st))
for s in idle:
    check(closed_by_server(s), "an idle client is cut by the request deadline")
    s.close()
slow_thread.join()
slow.close()
check(trickled["cut"], "the slowloris is cut, after %d bytes" % trickled["sent"])
e1 = errors()
check(e1["timeout"] == len(idle) + 1 and e1["limit"] == len(over),
      "timeouts = %d idle + 1 slow, limit = %d: %s" % (len(idle), len(over), e1))

# Garbage: each one answered 400 and counted; stderr gets at most one line a second,
# a later one saying how many were held back.
def log_lines():
    return [l for l in open(log_path, errors="replace").read().split("\n")
            if l.startswith(("siphon: metrics: ", "siphon: warning: metrics: "))]
N, before, t0 = 300, len(log_lines()), time.time()
for i in range(N):
    g = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
    g.sendall(b"GARBAGE \x01\x02 not http\r\n\r\n")
    answer = g.recv(64)
    g.close()
    check(answer.startswith(b"HTTP/1.1 400"), "garbage %d answered 400: %r" % (i, answer))
for _ in range(100):  # the count of the held-back lines comes within a second or so
    if any("suppressed" in l for l in log_lines()[before:]):
        break
    time.sleep(0.1)
lines, elapsed = log_lines()[before:], time.time() - t0
check(any("suppressed" in l for l in lines), "the log says how many lines it held back")
check(len(lines) <= elapsed + 2 and len(lines) < N // 10,
      "%d garbage requests in %.1f s: %d stderr lines" % (N, elapsed, len(lines)))
e2 = errors()
check(e2["bad_request"] - e1["bad_request"] == N and e2["other"] == 0,
      "bad_request counts %d garbage requests: %s" % (N, e2))

# ---- changes over the control socket: gauges and generation follow ----
def ctl(req):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)  # a change waits for a grace period: slow on a loaded machine
    s.connect(sock_path)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    rep = json.loads(buf)
    check(rep.get("ok") is True, "control %s: %s" % (req["cmd"], rep))
    return rep

def settled(pred, what):
    """Scrape until pred(fams) (the main lcore syncs once per 1 ms tick), 5 s at most."""
    end = time.time() + 5
    while True:
        f = scrape()[1]
        if pred(f) or time.time() > end:
            check(pred(f), what)
            return f

if os.path.exists(sock_path):
    first = sorted(want)[0]
    ident = {"group": want[first]["group"], "backend": first}
    gen = ctl({"cmd": "backend-state", "name": first, "state": "drain"})["generation"]
    f = settled(lambda f: total(f, "siphon_snapshot_generation") == gen,
                "generation follows the control socket (%d)" % gen)
    check(total(f, "siphon_backend_up", **ident) == 0, "drained backend is not up")
    check(total(f, "siphon_backend_state", state="drain", **ident) == 1 and
          total(f, "siphon_backend_state", **ident) == 1, "state one-hot drain")
    check(total(f, "siphon_backend_packets_total", **ident) == want[first]["messages"],
          "counters survive a change")
    gen = ctl({"cmd": "backend-weight", "name": first, "weight": 7})["generation"]
    f = settled(lambda f: total(f, "siphon_snapshot_generation") == gen, "generation %d" % gen)
    check(total(f, "siphon_backend_weight", **ident) == 7, "weight 7 shown")
    gen = ctl({"cmd": "backend-add", "group": want[first]["group"], "name": "b9",
               "address": "192.0.2.29", "mac": "02:00:00:00:00:29"})["generation"]
    f = settled(lambda f: total(f, "siphon_snapshot_generation") == gen, "generation %d" % gen)
    new = {"group": want[first]["group"], "backend": "b9"}
    check(total(f, "siphon_backend_up", **new) == 1, "added backend shown up")
    check(total(f, "siphon_backend_packets_total", **new) == 0, "added backend starts at 0")
    check(len(series(f, "siphon_backend_requests_total")) ==
          len(series(fams, "siphon_backend_requests_total")) // len(want) * (len(want) + 1),
          "added backend has every method series")
    gen = ctl({"cmd": "backend-remove", "name": "b9"})["generation"]
    f = settled(lambda f: total(f, "siphon_snapshot_generation") == gen, "generation %d" % gen)
    check(total(f, "siphon_backend_up", **new) == 0 and
          not [l for l, _ in series(f, "siphon_backend_up") if l["backend"] == "b9"],
          "removed backend gone")
    # A backend that received frames leaves: its own series go, the totals do not drop.
    gen = ctl({"cmd": "backend-remove", "name": first})["generation"]
    f = settled(lambda f: total(f, "siphon_snapshot_generation") == gen, "generation %d" % gen)
    check(total(f, "siphon_backend_packets_total") == FRAMES - want[first]["messages"],
          "removed %s: its packets leave the backend families" % first)
    check(total(f, "siphon_forwarded_total") == FRAMES,
          "forwarded stays %d after %s left, got %d" % (FRAMES, first,
                                                          total(f, "siphon_forwarded_total")))
    c = ctl({"cmd": "show-stats"})["counters"]
    check(c["forwarded"] == FRAMES and c["rx_packets"] == FRAMES,
          "show-stats: forwarded %d = rx %d = %d after the removal" % (c["forwarded"],
                                                                      c["rx_packets"], FRAMES))
else:
    print("note: no control socket, change checks skipped", file=sys.stderr)

print("test_metrics: %d checks passed (%d frames, %d families, %d samples)" % (
    checks, FRAMES, len(fams), sum(len(f["samples"]) for f in fams.values())))
PY

# A clean stop: SIGTERM, exit 0, the port released.
kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID" || die "siphon did not exit cleanly"
PID=
python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" ||
	die "port $PORT still bound after exit"
echo "test_metrics: ok"
