#!/usr/bin/env bash
# test_rules_daemon.sh - operator rules (Hyperscan) through a real daemon.
#
#   tests/test_rules_daemon.sh SIPHON SIPHONCTL SOURCE_ROOT
#
# No network namespace, as tests/test_policy.sh: siphon replays a capture this script
# writes (net_pcap) and is driven over its control socket. The first daemon replays once:
# scanner INVITEs from a default-tier source (dropped) and from a trusted one (never
# dropped by a rule), sipcli REGISTERs (reject-silently), in-dialog BYEs and responses
# carrying a scanner's User-Agent or Server (no rule looks at them), INVITEs to 00...
# (routed to another group), tagged and mirrored INVITEs, INVITEs a limit rule charges to
# the VIP's REGISTER rate, and a scanner INVITE in two IPv4
# fragments (fragments meet rules too): each counter, show rules and the metrics must
# say exactly that. Then over the socket: a bad pattern refused with its rule's name and
# nothing changed, a list replaced keeping the counters of rules whose name stays, one
# rule removed, the shipped examples/rules-scanners.conf loaded, show config writing the
# rules back, reload returning to the file's. The second daemon replays an alternating
# scanner / benign capture endlessly while 20 rule lists are swapped in: every scanner
# INVITE dropped and every benign one forwarded across every swap (hitless). Daemons
# are always killed at exit.
set -u

SIPHON=${1:?usage: test_rules_daemon.sh SIPHON SIPHONCTL SOURCE_ROOT}
CTL=${2:?usage: test_rules_daemon.sh SIPHON SIPHONCTL SOURCE_ROOT}
ROOT=${3:?usage: test_rules_daemon.sh SIPHON SIPHONCTL SOURCE_ROOT}
TMP=$(mktemp -d /tmp/test_rules.XXXXXX)
SOCK=$TMP/siphon.sock
CONF=$TMP/siphon.conf
PREFIX=sph_rul_$$
PID=
fails=0
checks=0

stop_daemon() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	PID=
}
cleanup() {
	stop_daemon
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); checks=$((checks + 1)); }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	local what=$1; shift
	if "$@"; then ok; else fail "$what"; fi
}
ctl() { timeout 30 "$CTL" --socket "$SOCK" "$@"; }
ctl_rc() { # ctl_rc WANT ARGS...: stdout in $out, stderr in $err
	local want=$1; shift
	out=$(ctl "$@" 2>"$TMP/err"); rc=$?
	err=$(cat "$TMP/err")
	if [ "$rc" -ne "$want" ]; then
		fail "siphonctl $* exited $rc, want $want (stderr: $err)"
		return 1
	fi
	ok
}
json_get() {
	python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$out"
}
start_daemon() { # start_daemon VDEV_ARGS
	rm -f "$SOCK"
	"$SIPHON" --no-huge -m 512 --no-pci --no-shconf --file-prefix="$PREFIX" --no-telemetry \
		--log-level=lib.eal:error --vdev "net_pcap0,$1" -l 0,1 \
		-- --config "$CONF" --promisc >"$TMP/siphon.log" 2>&1 &
	PID=$!
	for _ in $(seq 300); do
		[ -S "$SOCK" ] && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$SOCK" ]; then
		echo "FAIL: the daemon did not create $SOCK" >&2
		cat "$TMP/siphon.log" >&2
		exit 1
	fi
}

MPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$CONF" <<EOF
hash_key_hex = "5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60";
ports = ( { name = "net0"; device = "net_pcap0"; addresses = [ "203.0.113.2/24" ]; } );
groups = (
	{ name = "core"; backends = (
		{ name = "b1"; address = "203.0.113.21"; mac = "02:00:00:00:00:21"; },
		{ name = "b2"; address = "203.0.113.22"; mac = "02:00:00:00:00:22"; } ); },
	{ name = "quarantine"; backends = (
		{ name = "q1"; address = "203.0.113.31"; mac = "02:00:00:00:00:31"; } ); } );
vips = ( { address = "203.0.113.10"; group = "core"; trusted = [ "198.51.100.0/24" ];
	  rate_register = 1; burst_register = 1; } );
control = { socket = "$SOCK"; group = "$(id -gn)"; };
metrics = { listen = "127.0.0.1:$MPORT"; };
health = { enabled = false; };
mirror = { collector = "203.0.113.50:9060"; };   # sample = 0: marked calls only
rules = (
	{ name = "scanner"; match = { user_agent = "friendly-scanner"; caseless = true; };
	  action = "drop"; },
	{ name = "cracker"; match = { user_agent = "^sipcli"; }; action = "reject-silently"; },
	{ name = "intl"; match = { method = "^INVITE\$"; request_uri = "^sip:00"; };
	  action = "route"; group = "quarantine"; vip = "203.0.113.10"; },
	{ name = "acme"; match = { user_agent = "^Acme"; }; action = "tag"; },
	{ name = "mirror-me"; match = { from = "mirror"; }; action = "mirror";
	  source = [ "192.0.2.0/24" ]; },
	{ name = "retry"; match = { user_agent = "^RetryPBX"; }; action = "limit"; class = "register"; }
);
EOF

# The captures: each request its own Call-ID, as scanners send them.
python3 - "$TMP/once.pcap" "$TMP/loop.pcap" <<'EOF'
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\xaa\x01\x08\x00"

def ip4(src, payload, ident=1, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton("203.0.113.10"))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def frame(src, sip):
    udp = struct.pack("!HHHH", 5060, 5060, 8 + len(sip), 0)  # checksum 0: none (IPv4)
    return ETH + ip4(src, udp + sip)

def req(method, cid, src, ua, uri="sip:bob@example.com", to_tag="", frm="alice", pad=""):
    return ("%s %s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:%s@example.com>;tag=a1\r\n"
            "To: <sip:bob@example.com>%s\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n%s"
            "User-Agent: %s\r\nContent-Length: 0\r\n\r\n"
            % (method, uri, src, cid, frm, to_tag, cid, method, pad, ua)).encode()

def resp(cid, server):
    return ("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-%s\r\n"
            "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b1\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nServer: %s\r\nContent-Length: 0\r\n\r\n"
            % (cid, cid, server)).encode()

def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1, n, len(fr), len(fr)) + fr)

S, T = "192.0.2.50", "198.51.100.9"
F = []
for i in range(100):
    F.append(frame(S, req("INVITE", "scan-%d" % i, S, "friendly-scanner")))
for i in range(50):
    F.append(frame(T, req("INVITE", "trunk-%d" % i, T, "Friendly-Scanner")))
for i in range(30):
    F.append(frame(S, req("REGISTER", "crack-%d" % i, S, "sipcli/v1.8")))
for i in range(40):
    F.append(frame(S, req("BYE", "dialog-%d" % i, S, "friendly-scanner", to_tag=";tag=b1")))
for i in range(10):
    F.append(frame(S, resp("resp-%d" % i, "friendly-scanner")))
for i in range(20):
    F.append(frame(S, req("INVITE", "intl-%d" % i, S, "Phone/1.0", uri="sip:0044201234%03d@example.com" % i)))
for i in range(10):
    F.append(frame(S, req("INVITE", "acme-%d" % i, S, "Acme SIP 2.1")))
for i in range(5):
    F.append(frame(S, req("INVITE", "mirror-%d" % i, S, "Phone/1.0", frm="mirror")))
for i in range(20):
    F.append(frame(S, req("INVITE", "retry-%d" % i, S, "RetryPBX/2")))
# A scanner INVITE of 1800 bytes in two IPv4 fragments, the User-Agent in the second.
big = req("INVITE", "frag-1", S, "friendly-scanner", pad="X-Pad: %s\r\n" % ("p" * 1500))
udp = struct.pack("!HHHH", 5060, 5060, 8 + len(big), 0) + big
F.append(ETH + ip4(S, udp[:1480], ident=77, frag=0x2000))
F.append(ETH + ip4(S, udp[1480:], ident=77, frag=1480 // 8))
write(sys.argv[1], F)
# The endless one: scanner and benign INVITEs alternating, 64 frames.
L = []
for i in range(32):
    L.append(frame(S, req("INVITE", "loop-scan-%d" % i, S, "friendly-scanner")))
    L.append(frame(S, req("INVITE", "loop-ok-%d" % i, S, "Phone/1.0")))
write(sys.argv[2], L)
EOF
RX=287

start_daemon "rx_pcap=$TMP/once.pcap,tx_pcap=$TMP/out.pcap"
for _ in $(seq 100); do
	out=$(ctl --json show stats) || break
	[ "$(json_get 'j["counters"]["rx_packets"]')" -ge $RX ] && break
	sleep 0.1
done
c() { json_get "j['counters']['$1']"; }
check "all $RX frames received ($(c rx_packets))" test "$(c rx_packets)" = $RX
check "the default source's 100 scanner INVITEs and the fragmented one's 2 frames dropped ($(c rule_drop))" \
	test "$(c rule_drop)" = 102
check "the 30 sipcli REGISTERs rejected silently ($(c rule_reject))" test "$(c rule_reject)" = 30
check "the 20 INVITEs to 00... routed ($(c rule_route))" test "$(c rule_route)" = 20
check "10 tagged ($(c rule_tag)), 5 mirrored ($(c rule_mirror))" \
	test "$(c rule_tag)" = 10 -a "$(c rule_mirror)" = 5
# The mirror rule marks its calls; the worker's mirror check then tries each (the
# collector's MAC is never resolved here, so each attempt is counted, not sent).
mir=$(ctl --json show mirror | python3 -c 'import json,sys; c=json.load(sys.stdin)["mirror"]["counters"]
print(c["marked"], sum(v for k, v in c.items() if k not in ("bytes", "marked", "mark_full")))')
check "the mirror rule marked its 5 calls, each mirrored or counted (marked, tried: $mir)" \
	test "$mir" = "5 5"
check "the trusted source's 50 scanner INVITEs are trusted ($(c acl_trusted))" test "$(c acl_trusted)" = 50
lim=$(c limit_register)
# The limit rule charges 20 INVITEs to the REGISTER bucket (1/s, burst 1): the first one
# and one a second of the replay pass (the bound is loose on purpose: no wall-clock check).
check "the limit rule's INVITEs limited as REGISTERs ($lim of 20)" test "$lim" -ge 10 -a "$lim" -le 19
check "no INVITE limited by its own class ($(c limit_invite))" test "$(c limit_invite)" = 0
FWD=$((RX - 100 - 30 - 2 - lim))
check "everything else forwarded ($(c forwarded) of $FWD)" test "$(c forwarded)" = $FWD
check "none undecided, no other drop" \
	test "$(c rule_undecided)" = 0 -a "$(c not_vip)" = 0 -a "$(c no_backend)" = 0 -a "$(c frag_reassembled)" = 1
ctl_rc 0 --json show backends quarantine
check "the routed INVITEs reached the quarantine group" \
	test "$(json_get '[b["counters"]["requests_by_method"]["INVITE"] for b in j["backends"] if b["name"] == "q1"][0]')" = 20

ctl_rc 0 --json show rules
gen0=$(json_get 'j["generation"]')
check "show rules: six rules, in order" \
	test "$(json_get '[r["name"] for r in j["rules"]]')" = "['scanner', 'cracker', 'intl', 'acme', 'mirror-me', 'retry']"
check "show rules: matches per rule (the trusted source's never met the drop rule)" \
	test "$(json_get '[r["matches"] for r in j["rules"]]')" = "[101, 30, 20, 10, 5, 20]"
check "show rules: a last match time for each, within the last hour" \
	test "$(json_get 'all(r["last_match"] is not None and abs(r["last_match"] - __import__("time").time()) < 3600 for r in j["rules"])')" = True
check "show rules: the route rule's group, the mirror rule's source, the limit rule's class" \
	test "$(json_get '[j["rules"][2]["group"], j["rules"][4]["source"], j["rules"][5]["class"]]')" = "['quarantine', ['192.0.2.0/24'], 'register']"
check "show rules: database memory" test "$(json_get 'j["db_bytes"] > 0 and j["scratch_bytes"] > 0')" = True
ctl_rc 0 show rules
check "show rules (text) lists the drop rule with its count" grep -q '^scanner  *drop  *101 ' <<<"$out"

m=$(python3 -c 'import urllib.request,sys; print(urllib.request.urlopen("http://127.0.0.1:'"$MPORT"'/metrics", timeout=10).read().decode())' 2>&1)
check "metrics: siphon_rule_matches_total per rule" grep -q '^siphon_rule_matches_total{rule="scanner"} 101$' <<<"$m"
check "metrics: the last match time" grep -q '^siphon_rule_last_match_timestamp_seconds{rule="cracker"} [1-9]' <<<"$m"
check "metrics: rule drops among siphon_drops_total" grep -q 'reason="rule_drop"} 102' <<<"$m"

# ---- changes over the socket ----
cat >"$TMP/bad.conf" <<'EOF'
rules = (
	{ name = "ok"; match = { user_agent = "x"; }; action = "tag"; },
	{ name = "bad"; match = { method = "^INVITE$"; user_agent = "(unclosed"; }; action = "drop"; }
);
EOF
ctl_rc 1 rules load "$TMP/bad.conf"
check "a pattern Hyperscan refuses: refused with the file, the rule and Hyperscan's message" \
	grep -q 'bad.conf:3: rule "bad": condition 2 (user_agent): Missing close parenthesis' <<<"$err"
ctl_rc 1 rules load "$TMP/missing.conf"
ctl_rc 0 --json show rules
check "refusals changed nothing: same generation, same rules, same counts" \
	test "$(json_get '[j["generation"], [(r["name"], r["matches"]) for r in j["rules"]]]')" = \
	"[$gen0, [('scanner', 101), ('cracker', 30), ('intl', 20), ('acme', 10), ('mirror-me', 5), ('retry', 20)]]"

cat >"$TMP/new.conf" <<'EOF'
rules = (
	{ name = "svwar"; match = { from = "sipvicious"; caseless = true; }; action = "drop"; },
	{ name = "scanner"; match = { user_agent = "(friendly-scanner|sipvicious)"; caseless = true; };
	  action = "drop"; },
	{ name = "cracker"; match = { user_agent = "^sipcli"; }; action = "drop"; }
);
EOF
ctl_rc 0 rules load "$TMP/new.conf"
check "rules load: applied, one generation" grep -q "^applied: generation $((gen0 + 1)), 3 rules" <<<"$out"
ctl_rc 0 --json show rules
check "rules whose name stays keep their counters across a new list" \
	test "$(json_get '[(r["name"], r["action"], r["matches"]) for r in j["rules"]]')" = \
	"[('svwar', 'drop', 0), ('scanner', 'drop', 101), ('cracker', 'drop', 30)]"
ctl_rc 0 rules remove svwar
check "rules remove: one generation" grep -q "^applied: generation $((gen0 + 2))" <<<"$out"
ctl_rc 1 rules remove svwar
check "removing an unknown rule is refused, named" grep -q 'no rule is called "svwar"' <<<"$err"
ctl_rc 2 rules load
ctl_rc 0 show config
check "show config writes the rules back" \
	grep -q 'match = { user_agent = "(friendly-scanner|sipvicious)"; caseless = true; };' <<<"$out"
ctl_rc 0 rules load "$ROOT/examples/rules-scanners.conf"
ctl_rc 0 --json show rules
check "examples/rules-scanners.conf loads" test "$(json_get 'len(j["rules"]) >= 8')" = True
ctl_rc 0 --json reload
ctl_rc 0 --json show rules
check "reload: the configuration's rules again" \
	test "$(json_get '[r["name"] for r in j["rules"]]')" = "['scanner', 'cracker', 'intl', 'acme', 'mirror-me', 'retry']"
# Every rule set freed at exit (an ASan build reports a leak as a failed exit).
kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"; rc=$?
check "the daemon exited 0 on SIGTERM (got $rc)" test "$rc" = 0
PID=

# ---- hitless: rule lists swapped under an endless replay ----
cat >"$TMP/x.conf" <<'EOF'
rules = ( { name = "scanner"; match = { user_agent = "friendly-scanner"; }; action = "drop"; } );
EOF
cat >"$TMP/y.conf" <<'EOF'
rules = (
	{ name = "other"; match = { user_agent = "^nothing-sends-this$"; }; action = "drop"; },
	{ name = "scanner2"; match = { method = "^INVITE$"; user_agent = "Friendly-Scanner"; caseless = true; };
	  action = "reject-silently"; }
);
EOF
start_daemon "rx_pcap=$TMP/loop.pcap,infinite_rx=1"
for i in $(seq 10); do
	ctl_rc 0 rules load "$TMP/x.conf" || break
	ctl_rc 0 rules load "$TMP/y.conf" || break
done
ctl_rc 0 --json show stats
rx=$(c rx_packets); fwd=$(c forwarded); dropped=$(($(c rule_drop) + $(c rule_reject)))
echo "test_rules_daemon: hitless: $rx frames over 20 rule changes, $fwd forwarded, $dropped dropped by rules"
check "traffic flowed during the changes ($rx frames)" test "$rx" -gt 64
# Of P frames fully processed (the capture alternates scanner, benign), ceil(P/2) must be
# dropped and floor(P/2) forwarded: one scanner forwarded or one benign INVITE dropped moves
# the difference by 2. The read may catch the worker inside a burst when it does not answer
# in time (stats.h, a loaded machine): up to a burst of received frames not yet judged.
check "hitless: every scanner INVITE dropped, every benign one forwarded ($fwd + $dropped of $rx)" \
	test "$((dropped - fwd))" -ge 0 -a "$((dropped - fwd))" -le 1 \
	-a "$((fwd + dropped))" -le "$rx" -a "$((fwd + dropped))" -ge "$((rx - 32))"
check "hitless: no other drop" test "$(c not_vip)" = 0 -a "$(c no_backend)" = 0 -a "$(c rule_undecided)" = 0
stop_daemon

echo "test_rules_daemon: $checks checks, $fails failed"
if [ "$fails" -ne 0 ]; then
	echo "--- siphon log ---" >&2
	tail -20 "$TMP/siphon.log" >&2
	exit 1
fi
exit 0
