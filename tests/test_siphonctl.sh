#!/usr/bin/env bash
# test_siphonctl.sh - end-to-end test of `siphonctl scan`, run by `meson test siphonctl`.
#
# Builds small captures on the fly with python3 (standard library only): an
# INVITE/200/ACK/BYE call over IPv4/Ethernet, one over IPv6 behind an 802.1Q tag, a
# non-SIP UDP datagram, a SIP message whose Content-Length overruns the datagram, and
# a TCP segment; the same traffic as pcapng, raw IP and Linux cooked captures; a
# truncated capture and non-capture garbage. Then checks the JSON of every packet, the
# --summary numbers (text and JSON), --backends dispatch (stable per Call-ID, order
# independent, weighted), --config dispatch with a configuration written here,
# --received on a capture of what siphon would send (l2dsr to static MACs, IP-in-IP over
# IPv4 and IPv6, one frame to the wrong backend: sent_to, agree, summary by sent_to), and
# the exit codes (0 ok, 1 input error, 2 usage error).
#
# Usage: test_siphonctl.sh SIPHONCTL SOURCE_ROOT
set -u

CTL=${1:?usage: test_siphonctl.sh SIPHONCTL SOURCE_ROOT}
ROOT=${2:?usage: test_siphonctl.sh SIPHONCTL SOURCE_ROOT}
# In a sanitizer build, any report must fail the run: a leak, an overflow or undefined
# behaviour then turns into an exit status no check accepts.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
checks=0

ok() { # name
	checks=$((checks + 1))
	echo "ok   $1"
}
fail() { # name [detail]
	checks=$((checks + 1))
	fails=$((fails + 1))
	echo "FAIL $1${2:+: $2}"
}
# check NAME CMD...: passes when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
# run_ctl OUT ERR ARGS...: run siphonctl, keep stdout/stderr, return its exit status.
run_ctl() {
	local out=$1 err=$2
	shift 2
	"$CTL" "$@" >"$out" 2>"$err"
}
# expect_rc NAME WANT ARGS...: siphonctl exits WANT; for WANT != 0, says why on stderr.
expect_rc() {
	local name=$1 want=$2
	shift 2
	run_ctl "$T/out" "$T/err" "$@"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit $rc, want $want; stderr: $(head -c 300 "$T/err")"
	elif [ "$want" -ne 0 ] && ! grep -q . "$T/err"; then
		fail "$name" "exit $rc but nothing on stderr"
	else
		ok "$name"
	fi
}
# pycheck NAME FILE PYTHON: run PYTHON (which asserts) with FILE's text in `text`, parsed
# as one JSON object in `j` and as JSON lines in `pk` (None when it does not parse).
pycheck() {
	local name=$1 file=$2 code=$3 msg
	if msg=$(python3 - "$file" 2>&1 <<EOF
import json, sys
text = open(sys.argv[1]).read()
try:
    j = json.loads(text)
except ValueError:
    j = None
try:
    pk = [json.loads(l) for l in text.splitlines() if l.strip()] if j is None else [j]
except ValueError:
    pk = None
$code
EOF
	); then
		ok "$name"
	else
		fail "$name" "$(echo "$msg" | tail -3)"
	fi
}

# ---------------------------------------------------------------------------
# Captures
# Packet and capture builders, shared by the generators below (python3 standard library).
cat >"$T/pktlib.py" <<'EOF'
import socket, struct

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(a):
    return bytes(int(x) for x in a.split("."))

def ip6(a):
    return socket.inet_pton(socket.AF_INET6, a)

def udp(src, dst, sport, dport, payload, v6):
    l = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, l, 0)
    if v6:
        pseudo = src + dst + struct.pack("!I3xB", l, 17)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 17, l)
    c = csum(pseudo + hdr + payload) or 0xffff
    return struct.pack("!HHHH", sport, dport, l, c) + payload

def ipv4(src, dst, proto, l4):
    s, d = ip4(src), ip4(dst)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, s, d)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4

def ipv6(src, dst, proto, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, ip6(src), ip6(dst)) + l4

def sip_udp(v, src, dst, sport, dport, msg):
    if v == 4:
        return ipv4(src, dst, 17, udp(ip4(src), ip4(dst), sport, dport, msg, False))
    return ipv6(src, dst, 17, udp(ip6(src), ip6(dst), sport, dport, msg, True))

def eth(ip, vlan=None):
    et = 0x0800 if ip[0] >> 4 == 4 else 0x86dd
    h = bytes.fromhex("001b213a4f10") + bytes.fromhex("0005860a71c3")
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", et) + ip

def msg(start, call_id, cseq, branch, extra=b"", body=b"", clen=None):
    h = (start + "\r\n"
         "Via: SIP/2.0/UDP client.example.com:5062;branch=" + branch + "\r\n"
         "Max-Forwards: 70\r\n"
         "From: Alice <sip:alice@example.com>;tag=a1\r\n"
         "To: Bob <sip:bob@example.com>" + (";tag=b2" if not start.startswith("INVITE") else "") + "\r\n"
         "Call-ID: " + call_id + "\r\n"
         "CSeq: " + cseq + "\r\n").encode() + extra
    h += b"Content-Length: %d\r\n\r\n" % (len(body) if clen is None else clen)
    return h + body

def call(v, client, vip, cid, tag):
    """INVITE, 200 (DSR reply: from the VIP), ACK, BYE."""
    uri = "INVITE sip:bob@example.com SIP/2.0"
    return [
        sip_udp(v, client, vip, 5062, 5060, msg(uri, cid, "1 INVITE", "z9hG4bK" + tag + "1")),
        sip_udp(v, vip, client, 5060, 5062, msg("SIP/2.0 200 OK", cid, "1 INVITE", "z9hG4bK" + tag + "1")),
        sip_udp(v, client, vip, 5062, 5060, msg("ACK sip:bob@example.com SIP/2.0", cid, "1 ACK", "z9hG4bK" + tag + "2")),
        sip_udp(v, client, vip, 5062, 5060, msg("BYE sip:bob@example.com SIP/2.0", cid, "2 BYE", "z9hG4bK" + tag + "3")),
    ]

def pcap(path, linktype, pkts, snap=65535):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snap, linktype))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)) + p)

def pcapng(path, linktype, pkts):
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    with open(path, "wb") as f:
        f.write(block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", linktype, 0, 65535)))
        for i, p in enumerate(pkts):
            f.write(block(6, struct.pack("<IIIII", 0, 0, i, len(p), len(p)) + p))
EOF

python3 - "$T" <<'EOF' || { echo "FAIL cannot generate captures"; exit 1; }
import struct, sys
out = sys.argv[1]
sys.path.insert(0, out)
from pktlib import *

C4, V4, C6, V6 = "198.51.100.7", "192.0.2.10", "2001:db8:c::7", "2001:db8::10"
ips = call(4, C4, V4, "call-v4@example.com", "a") + call(6, C6, V6, "call-v6@example.com", "b")
ips.append(ipv4(C4, V4, 17, udp(ip4(C4), ip4(V4), 40000, 53, b"\x12\x34\x01\x00\x00\x01" + b"\0" * 6, False)))
trunc = msg("OPTIONS sip:bob@example.com SIP/2.0", "call-trunc@example.com", "7 OPTIONS",
            "z9hG4bKt", body=b"v=0\r\n", clen=100)
ips.append(sip_udp(4, C4, V4, 5062, 5060, trunc))
tcp = struct.pack("!HHIIBBHHH", 40001, 5060, 1, 0, 0x50, 0x02, 65535, 0, 0)
ips.append(ipv4(C4, V4, 6, tcp))
vlan = {4, 5, 6, 7}  # the IPv6 call's frames are tagged
frames = [eth(ip, 42 if i in vlan else None) for i, ip in enumerate(ips)]

pcap(out + "/calls.pcap", 1, frames)
pcapng(out + "/calls.pcapng", 1, frames)
pcap(out + "/calls-raw.pcap", 101, ips)
sll = [struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x0800 if ip[0] >> 4 == 4 else 0x86dd) + ip
       for ip in ips]
pcap(out + "/calls-sll.pcap", 113, sll)

# A capture cut in the middle of its third record, and one with a bogus record length.
data = open(out + "/calls.pcap", "rb").read()
cut = 24 + sum(16 + len(f) for f in frames[:2]) + 16 + 10
open(out + "/cut.pcap", "wb").write(data[:cut])
bogus = bytearray(data)
struct.pack_into("<II", bogus, 24 + 8, 0x7fffffff, 0x7fffffff)
open(out + "/bogus.pcap", "wb").write(bytes(bogus))
# Not a capture, not text.
open(out + "/garbage.bin", "wb").write(bytes(range(256)) * 4)
# Raw SIP messages: the IPv4 INVITE as written on the wire, and a bad one.
open(out + "/invite.sip", "wb").write(msg("INVITE sip:bob@example.com SIP/2.0",
                                          "call-v4@example.com", "1 INVITE", "z9hG4bKa1"))
open(out + "/nocallid.sip", "wb").write(
    b"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
    b"From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\nCSeq: 1 OPTIONS\r\n\r\n")

# One Call-ID sent to both VIPs, which two groups serve: it reaches two backends.
inv = lambda v, c, vip: sip_udp(v, c, vip, 5062, 5060, msg("INVITE sip:bob@example.com SIP/2.0",
                                                           "call-split@example.com", "1 INVITE", "z9hG4bKs"))
pcap(out + "/split.pcap", 1, [eth(inv(4, C4, V4)), eth(inv(6, C6, V6))])

# Many calls for the weight check: 600 INVITEs, one Call-ID each, to port 5060.
many = [eth(sip_udp(4, C4, V4, 5062, 5060,
                    msg("INVITE sip:bob@example.com SIP/2.0", "many-%d@example.com" % i,
                        "1 INVITE", "z9hG4bKm%d" % i)))
        for i in range(600)]
pcap(out + "/many.pcap", 1, many)
EOF

KEY=0123456789abcdef-test-key
KEYHEX=$(printf %s "$KEY" | od -An -tx1 | tr -d ' \n')
BE="b1=10.0.1.11,b2=10.0.1.12:5080*2,b3=[2001:db8:ff::13]:5060"

# ---------------------------------------------------------------------------
# Per-packet JSON, no dispatch
expect_rc "scan pcap exits 0" 0 scan "$T/calls.pcap"
cp "$T/out" "$T/plain.json"
pycheck "per-packet JSON fields" "$T/plain.json" '
assert len(pk) == 11, len(pk)
assert [p["frame"] for p in pk] == list(range(1, 12))
inv, ok, ack, bye = pk[0:4]
assert inv["verdict"] == "ok" and inv["layer"] == "sip", inv
assert inv["kind"] == "request" and inv["method"] == "INVITE", inv
assert inv["call_id"] == "call-v4@example.com" and inv["cseq"] == "1 INVITE", inv
assert inv["branch"] == "z9hG4bKa1", inv
assert inv["src"] == "198.51.100.7:5062" and inv["dst"] == "192.0.2.10:5060", inv
assert "backend" not in inv, inv
assert ok["kind"] == "response" and ok["status"] == 200 and "method" not in ok, ok
assert ok["cseq"] == "1 INVITE", ok
assert ack["method"] == "ACK" and ack["cseq"] == "1 ACK", ack
assert bye["method"] == "BYE" and bye["cseq"] == "2 BYE" and bye["branch"] == "z9hG4bKa3", bye
v6 = pk[4:8]
assert all(p["verdict"] == "ok" and p["call_id"] == "call-v6@example.com" for p in v6), v6
assert v6[0]["src"] == "[2001:db8:c::7]:5062" and v6[0]["dst"] == "[2001:db8::10]:5060", v6[0]
assert pk[8]["verdict"] == "not_sip" and pk[8]["layer"] == "pkt", pk[8]
assert pk[8]["dst"] == "192.0.2.10:53", pk[8]
assert pk[9]["verdict"] == "truncated" and pk[9]["layer"] == "sip", pk[9]
assert "Content-Length" in pk[9]["reason"], pk[9]
assert pk[10]["verdict"] == "not_udp" and pk[10]["layer"] == "pkt" and pk[10]["ip_proto"] == 6, pk[10]
assert all(isinstance(p["reason"], str) and p["reason"] for p in pk)
'
expect_rc "scan --json is the per-packet default" 0 scan --json "$T/calls.pcap"
check "--json output equals default output" cmp -s "$T/out" "$T/plain.json"

# Every link type gives the same verdicts and SIP fields.
for f in calls.pcapng calls-raw.pcap calls-sll.pcap; do
	expect_rc "scan $f exits 0" 0 scan "$T/$f"
	pycheck "$f matches calls.pcap" "$T/out" "
ref = [json.loads(l) for l in open('$T/plain.json')]
assert len(pk) == len(ref), (len(pk), len(ref))
for a, b in zip(pk, ref):
    for k in ('frame', 'verdict', 'kind', 'method', 'status', 'call_id', 'cseq', 'branch', 'src', 'dst'):
        assert a.get(k) == b.get(k), (k, a, b)
"
done

# ---------------------------------------------------------------------------
# --backends dispatch
expect_rc "scan --backends exits 0" 0 scan --backends "$BE" --key "$KEY" "$T/calls.pcap"
cp "$T/out" "$T/be.json"
pycheck "--backends: one backend per Call-ID, from the list" "$T/be.json" '
by = {}
for p in pk:
    if p["verdict"] == "ok":
        assert p["backend"] in ("b1", "b2", "b3") and p["group"] == "backends", p
        by.setdefault(p["call_id"], set()).add(p["backend"])
    else:
        assert "backend" not in p, p
assert len(by) == 2 and all(len(s) == 1 for s in by.values()), by
'
# Golden values: the key, the names, the weights and the Call-ID bytes decide the backend
# on every instance, so a change in what is hashed or how the table is built shows here.
pycheck "--backends: golden backend per Call-ID" "$T/be.json" '
by = {p["call_id"]: p["backend"] for p in pk if p["verdict"] == "ok"}
assert by == {"call-v4@example.com": "b3", "call-v6@example.com": "b2"}, by
'
expect_rc "scan --backends, list reordered" 0 scan --backends "b3=[2001:db8:ff::13]:5060,b2=10.0.1.12:5080*2,b1=10.0.1.11" --key "$KEY" "$T/calls.pcap"
pycheck "backend choice does not depend on list order" "$T/out" "
ref = [json.loads(l) for l in open('$T/be.json')]
assert [p.get('backend') for p in pk] == [p.get('backend') for p in ref]
"
expect_rc "scan --backends --key-hex" 0 scan --backends "$BE" --key-hex "$KEYHEX" "$T/calls.pcap"
check "--key-hex is the same key as --key" cmp -s "$T/out" "$T/be.json"
expect_rc "scan raw SIP message" 0 scan --backends "$BE" --key "$KEY" "$T/invite.sip"
pycheck "raw message: same backend as the captured INVITE" "$T/out" "
ref = json.loads(open('$T/be.json').readline())
p, = pk
assert p['frame'] == 1 and p['verdict'] == 'ok' and p['method'] == 'INVITE', p
assert p['backend'] == ref['backend'], (p, ref)
assert 'src' not in p
"
expect_rc "scan raw SIP message from stdin" 0 scan --backends "$BE" --key "$KEY" - <"$T/invite.sip"
pycheck "stdin message dispatched alike" "$T/out" "
ref = json.loads(open('$T/be.json').readline())
assert pk[0]['backend'] == ref['backend'], pk
"
expect_rc "scan pcap from stdin" 0 scan - <"$T/calls.pcap"
check "stdin capture equals file capture" cmp -s "$T/out" "$T/plain.json"
expect_rc "scan raw message without Call-ID" 0 scan "$T/nocallid.sip"
pycheck "raw message verdict no_call_id" "$T/out" '
assert pk[0]["verdict"] == "no_call_id" and pk[0]["layer"] == "sip", pk
'
expect_rc "scan several inputs" 0 scan "$T/invite.sip" "$T/calls.pcap"
pycheck "several inputs: file field, frames per file" "$T/out" "
assert len(pk) == 12, len(pk)
assert pk[0]['file'].endswith('invite.sip') and pk[0]['frame'] == 1
assert pk[1]['file'].endswith('calls.pcap') and pk[1]['frame'] == 1
"
# A different key moves some of 600 Call-IDs; weights 1:3 give b2 about 3/4 of them.
expect_rc "scan many calls, weighted" 0 scan --backends "b1=10.0.1.11*1,b2=10.0.1.12*3" --key "$KEY" --summary --json "$T/many.pcap"
pycheck "weights are honoured" "$T/out" '
b = {x["name"]: x for x in j["backends"]}
assert j["calls"] == 600 and j["sip_ok"] == 600, j
assert b["b1"]["calls"] + b["b2"]["calls"] == 600, b
assert 360 <= b["b2"]["calls"] <= 540, b
assert b["b2"]["messages"] == b["b2"]["calls"], b
assert (b["b1"]["calls"], b["b2"]["calls"]) == (146, 454), b   # golden
'
cp "$T/out" "$T/many1.json"
expect_rc "scan many calls, other key" 0 scan --backends "b1=10.0.1.11*1,b2=10.0.1.12*3" --key "another-key-0123456789" --summary --json "$T/many.pcap"
pycheck "the key changes the mapping" "$T/out" "
ref = json.load(open('$T/many1.json'))
assert [x['calls'] for x in j['backends']] != [x['calls'] for x in ref['backends']], (j, ref)
"

# ---------------------------------------------------------------------------
# --summary
expect_rc "scan --summary exits 0" 0 scan --summary --backends "$BE" --key "$KEY" "$T/calls.pcap"
cp "$T/out" "$T/summary.txt"
check "summary: packets" grep -Eq '^packets +11$' "$T/summary.txt"
check "summary: SIP routable" grep -Eq '^  SIP, routable +8$' "$T/summary.txt"
check "summary: SIP rejected" grep -Eq '^  SIP, rejected +1$' "$T/summary.txt"
check "summary: truncated" grep -Eq '^    truncated +1 ' "$T/summary.txt"
check "summary: not SIP" grep -Eq '^  not SIP +2$' "$T/summary.txt"
check "summary: not_udp" grep -Eq '^    not_udp +1 ' "$T/summary.txt"
check "summary: not_sip" grep -Eq '^    not_sip +1 ' "$T/summary.txt"
check "summary: calls" grep -Eq '^calls \(distinct Call-IDs\) +2$' "$T/summary.txt"
check "summary: backend table" grep -Eq '^b2 +backends +10\.0\.1\.12:5080 +2 +up ' "$T/summary.txt"
check "summary: one backend per Call-ID" grep -qx 'every Call-ID to exactly one backend: yes' "$T/summary.txt"
check "summary: no packet lines" bash -c "! grep -q '\"frame\"' '$T/summary.txt'"
pycheck "summary: backend rows add up" "$T/summary.txt" "
ref = [json.loads(l) for l in open('$T/be.json')]
rows = {l.split()[0]: l.split() for l in text.splitlines() if l.startswith('b') and 'up' in l}
for name in ('b1', 'b2', 'b3'):
    msgs = sum(1 for p in ref if p.get('backend') == name)
    calls = len({p['call_id'] for p in ref if p.get('backend') == name})
    assert rows[name][-2:] == [str(calls), str(msgs)], (rows[name], calls, msgs)
"
expect_rc "scan --summary --json exits 0" 0 scan --summary --json --backends "$BE" --key "$KEY" "$T/calls.pcap"
pycheck "summary JSON" "$T/out" '
assert j["packets"] == 11 and j["sip_ok"] == 8 and j["sip_rejected"] == 1, j
assert j["rejected"] == {"truncated": 1}, j
assert j["non_sip"] == 2 and j["non_sip_by_reason"] == {"not_sip": 1, "not_udp": 1}, j
assert j["calls"] == 2 and j["one_backend_per_call_id"] is True and j["split_call_ids"] == 0, j
assert sum(b["messages"] for b in j["backends"]) == 8, j
assert sum(b["calls"] for b in j["backends"]) == 2, j
assert [b["name"] for b in j["backends"]] == ["b1", "b2", "b3"], j
assert j["backends"][2]["address"] == "[2001:db8:ff::13]:5060", j
assert j["no_backend"] == {"calls": 0, "messages": 0}, j
'
expect_rc "scan --summary without dispatch" 0 scan --summary --json "$T/calls.pcap"
pycheck "summary JSON without dispatch" "$T/out" '
assert j["calls"] == 2 and j["one_backend_per_call_id"] is None and "backends" not in j, j
'

# ---------------------------------------------------------------------------
# --config dispatch, with a configuration written here (so the test does not depend on
# examples/siphon.conf): VIPs select the SIP traffic and pick the group.
cat >"$T/siphon.conf" <<'EOF'
# siphonctl test configuration
hash_key = "0123456789abcdef-test-key";
groups = (
	{
		name = "pool4";
		backends = (
			{ name = "b1"; address = "10.0.1.11"; },
			{ name = "b2"; address = "10.0.1.12:5080"; weight = 2; },
			{ name = "b3"; address = "[2001:db8:ff::13]:5060"; }
		);
	},
	{
		name = "pool6";
		backends = (
			{ name = "c1"; address = "2001:db8:ff::21"; },
			{ name = "c2"; address = "2001:db8:ff::22"; state = "drain"; }
		);
	}
);
vips = (
	{ address = "192.0.2.10"; ports = [ 5060 ]; group = "pool4"; },
	{ address = "2001:db8::10"; group = "pool6"; }
);
EOF
expect_rc "scan --config exits 0" 0 scan --config "$T/siphon.conf" "$T/calls.pcap"
pycheck "--config: VIP picks the group; same table as --backends" "$T/out" "
ref = [json.loads(l) for l in open('$T/be.json')]
for p, r in zip(pk[0:4], ref[0:4]):
    assert p['group'] == 'pool4' and p['backend'] == r['backend'], (p, r)
assert pk[0]['vip'] == '192.0.2.10:5060' and pk[1]['vip'] == '192.0.2.10:5060', pk[:2]
for p in pk[4:8]:
    assert p['group'] == 'pool6' and p['backend'] == 'c1', p   # c2 drains
assert pk[8]['verdict'] == 'not_sip' and 'VIP' in pk[8]['reason'], pk[8]
assert pk[9]['verdict'] == 'truncated', pk[9]
"
expect_rc "scan --config --summary" 0 scan --config "$T/siphon.conf" --summary "$T/calls.pcap"
check "config summary: drain backend shown" grep -Eq '^c2 +pool6 .* drain +0 +0$' "$T/out"
check "config summary: one backend per Call-ID" grep -qx 'every Call-ID to exactly one backend: yes' "$T/out"

# Without VIPs the port-5060 rule applies and the first group serves; hash_key_hex
# derives the same secret as the same key given as a string.
cat >"$T/novip.conf" <<EOF
hash_key_hex = "$KEYHEX";
groups = ( { name = "only"; backends = (
	{ name = "b3"; address = "[2001:db8:ff::13]:5060"; },
	{ name = "b1"; address = "10.0.1.11"; },
	{ name = "b2"; address = "10.0.1.12:5080"; weight = 2; } ); } );
EOF
expect_rc "scan --config without VIPs" 0 scan --config "$T/novip.conf" "$T/calls.pcap"
pycheck "config without VIPs: port rule, first group, hash_key_hex" "$T/out" "
ref = [json.loads(l) for l in open('$T/be.json')]
assert [p['verdict'] for p in pk] == [p['verdict'] for p in ref]
assert [p.get('backend') for p in pk] == [p.get('backend') for p in ref], (pk, ref)
assert all(p['group'] == 'only' and 'vip' not in p for p in pk if p['verdict'] == 'ok')
"

# A group without a usable backend: messages get "backend": null and a (none) row.
cat >"$T/dead.conf" <<EOF
hash_key = "$KEY";
groups = ( { name = "dead"; backends = (
	{ name = "d1"; address = "10.0.9.1"; state = "down"; },
	{ name = "d2"; address = "10.0.9.2"; state = "drain"; } ); } );
EOF
expect_rc "scan --config, no usable backend" 0 scan --config "$T/dead.conf" "$T/calls.pcap"
pycheck "no usable backend: backend null" "$T/out" '
assert all(p["backend"] is None for p in pk if p["verdict"] == "ok"), pk
'
expect_rc "scan --config --summary, no usable backend" 0 scan --config "$T/dead.conf" --summary "$T/calls.pcap"
check "no usable backend: (none) row" grep -Eq '^\(none\) .* 2 +8$' "$T/out"
check "no usable backend: down state shown" grep -Eq '^d1 +dead +10\.0\.9\.1:5060 +1 +down +0 +0$' "$T/out"

expect_rc "scan --config --summary, Call-ID on two groups" 0 scan --config "$T/siphon.conf" --summary "$T/split.pcap"
check "split Call-ID reported" grep -qx 'every Call-ID to exactly one backend: no: 1 Call-IDs split' "$T/out"
expect_rc "scan --config --summary --json, Call-ID on two groups" 0 scan --config "$T/siphon.conf" --summary --json "$T/split.pcap"
pycheck "split Call-ID in JSON" "$T/out" '
assert j["calls"] == 1 and j["split_call_ids"] == 1 and j["one_backend_per_call_id"] is False, j
b = {x["name"]: x for x in j["backends"]}
assert b["c1"]["calls"] == 1 and sum(x["calls"] for x in j["backends"]) == 2, j
'

printf 'hash_key = "short";\n' >"$T/bad.conf"
expect_rc "bad config exits 1" 1 scan --config "$T/bad.conf" "$T/calls.pcap"
check "bad config message names the file" grep -q "bad.conf" "$T/err"
expect_rc "missing config exits 1" 1 scan --config "$T/nope.conf" "$T/calls.pcap"
if [ -f "$ROOT/examples/siphon.conf" ]; then
	expect_rc "examples/siphon.conf loads" 0 scan --config "$ROOT/examples/siphon.conf" --summary "$T/calls.pcap"
fi

# ---------------------------------------------------------------------------
# --received: a capture of what siphon sent. The client datagrams are built first and
# scanned with the configuration to learn the computed backend of each; the "sent"
# capture then carries each one as the daemon would: l2dsr frames to the static MAC of the
# computed backend (b3 has none: its frames go to an ARP-learnt MAC and cannot be
# attributed), ipip frames in an outer IPv4 (protocol 4 / 41) or IPv6 header to the
# backend's address. One ACK goes to the wrong backend, one frame to an address no backend
# has; a gratuitous ARP and a non-SIP datagram are mixed in.
cat >"$T/recv.conf" <<EOF
hash_key = "$KEY";
groups = (
	{ name = "dsr"; backends = (
		{ name = "b1"; address = "10.0.1.11"; mac = "02:00:00:00:01:11"; },
		{ name = "b2"; address = "10.0.1.12"; mac = "02:00:00:00:01:12"; },
		{ name = "b3"; address = "10.0.1.13"; } ); },
	{ name = "tun"; backends = (
		{ name = "t4"; address = "10.0.2.4"; },
		{ name = "t6"; address = "2001:db8:ff::6"; } ); }
);
vips = (
	{ address = "192.0.2.10"; group = "dsr"; },
	{ address = "192.0.2.20"; group = "tun"; mode = "ipip"; },
	{ address = "2001:db8::20"; group = "tun"; mode = "ipip"; }
);
EOF
python3 - "$T" <<'EOF' || fail "cannot generate the client datagrams for --received"
import sys
out = sys.argv[1]
sys.path.insert(0, out)
from pktlib import *

C4, C6 = "198.51.100.7", "2001:db8:c::7"
ips = []
for vip, v, client, n, name in (("192.0.2.10", 4, C4, 6, "dsr"), ("192.0.2.20", 4, C4, 4, "tun4"),
                                 ("2001:db8::20", 6, C6, 4, "tun6")):
    for i in range(n):
        cid = "%s-%d@example.com" % (name, i)
        ips.append(sip_udp(v, client, vip, 5062, 5060, msg("INVITE sip:bob@example.com SIP/2.0",
                                                           cid, "1 INVITE", "z9hG4bK%s%di" % (name, i))))
        ips.append(sip_udp(v, client, vip, 5062, 5060, msg("ACK sip:bob@example.com SIP/2.0",
                                                           cid, "1 ACK", "z9hG4bK%s%da" % (name, i))))
pcap(out + "/inner.pcap", 101, ips)
EOF
expect_rc "scan --config, client datagrams of the sent capture" 0 scan --config "$T/recv.conf" "$T/inner.pcap"
cp "$T/out" "$T/inner.json"
python3 - "$T" <<'EOF' || fail "cannot generate the sent capture"
import json, struct, sys
out = sys.argv[1]
sys.path.insert(0, out)
from pktlib import *

PORT_MAC, GW_MAC, LEARNT_MAC = "02:00:00:00:00:02", "02:00:00:00:00:fe", "02:00:00:00:01:13"
PORT4, PORT6 = "10.0.0.2", "2001:db8:ff::2"
MAC = {"b1": "02:00:00:00:01:11", "b2": "02:00:00:00:01:12", "b3": None}
ADDR = {"t4": (4, "10.0.2.4"), "t6": (6, "2001:db8:ff::6")}

def mac(s):
    return bytes.fromhex(s.replace(":", ""))

def ether(dst, l3, vlan=None):
    et = 0x0800 if l3[0] >> 4 == 4 else 0x86dd
    h = mac(dst) + mac(PORT_MAC)
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", et) + l3

data = open(out + "/inner.pcap", "rb").read()
inner, off = [], 24
while off < len(data):
    n = struct.unpack_from("<I", data, off + 8)[0]
    inner.append(data[off + 16:off + 16 + n])
    off += 16 + n
computed = [json.loads(l) for l in open(out + "/inner.json")]
assert len(inner) == len(computed) == 28, (len(inner), len(computed))

arp = (b"\xff" * 6 + mac(PORT_MAC) + b"\x08\x06" +
       struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac(PORT_MAC) + ip4(PORT4) + b"\0" * 6 + ip4(PORT4))
frames, expect = [arp], [{"verdict": "not_ip"}]

def ipip(target, ip, vlan=None):
    v, addr = ADDR[target] if target in ADDR else (4, target)
    proto = 4 if ip[0] >> 4 == 4 else 41
    outer = ipv4(PORT4, addr, proto, ip) if v == 4 else ipv6(PORT6, addr, proto, ip)
    return ether(GW_MAC, outer, vlan)

for i, (ip, c) in enumerate(zip(inner, computed)):
    be, cid = c["backend"], c["call_id"]
    e = {"verdict": "ok", "backend": be, "call_id": cid, "frame_inner": i + 1}
    if be in MAC:
        frames.append(ether(MAC[be] or LEARNT_MAC, ip, 7 if i == 1 else None))
        e.update(via="l2dsr", eth_dst=MAC[be] or LEARNT_MAC,
                 sent_to=be if MAC[be] else None, agree=True if MAC[be] else None)
    else:
        to = be
        if cid == "tun4-0@example.com" and c["method"] == "ACK":
            to = "t6" if be == "t4" else "t4"      # deliberately the wrong backend
        frames.append(ipip(to, ip, 9 if cid == "tun6-1@example.com" else None))
        e.update(via="ipip", outer_dst=ADDR[to][1], outer_v=ADDR[to][0],
                 sent_to=to, agree=to == be)
    expect.append(e)
# An IP-in-IP frame to an address no backend has (a copy of the first tun INVITE), and a
# non-SIP datagram that went out as l2dsr to b1's MAC.
first_tun = next(i for i, c in enumerate(computed) if c["call_id"] == "tun4-1@example.com")
frames.append(ipip("10.0.9.9", inner[first_tun]))
expect.append({"verdict": "ok", "backend": computed[first_tun]["backend"], "call_id": "tun4-1@example.com",
               "via": "ipip", "outer_dst": "10.0.9.9", "outer_v": 4, "sent_to": None, "agree": None})
dns = ipv4("198.51.100.7", "192.0.2.10", 17,
           udp(ip4("198.51.100.7"), ip4("192.0.2.10"), 40000, 53, b"\x12\x34" + b"\0" * 10, False))
frames.append(ether(MAC["b1"], dns))
expect.append({"verdict": "not_sip", "via": "l2dsr", "sent_to": "b1"})
for n, e in enumerate(expect):
    e["frame"] = n + 1
pcap(out + "/sent.pcap", 1, frames)
json.dump(expect, open(out + "/sent-expect.json", "w"))
EOF

expect_rc "scan --received exits 0 (with a disagreement)" 0 scan --config "$T/recv.conf" --received "$T/sent.pcap"
cp "$T/out" "$T/recv.json"
pycheck "--received: the sent capture covers every case" "$T/sent-expect.json" '
ex = j
ok = [e for e in ex if e["verdict"] == "ok"]
assert {(e["outer_v"], e["call_id"][:4]) for e in ok if e["via"] == "ipip"} >= {(4, "tun4"), (4, "tun6"), (6, "tun4"), (6, "tun6")}, ex
assert any(e["via"] == "l2dsr" and e["sent_to"] for e in ok), ex
assert any(e["via"] == "l2dsr" and e["sent_to"] is None for e in ok), "no call computed to b3"
assert sum(e["agree"] is False for e in ok) == 1, ex
'
pycheck "--received: sent_to, agree, via per packet" "$T/recv.json" "
ex = json.load(open('$T/sent-expect.json'))
assert len(pk) == len(ex), (len(pk), len(ex))
for p, e in zip(pk, ex):
    assert p['frame'] == e['frame'] and p['verdict'] == e['verdict'], (p, e)
    if e['verdict'] == 'not_ip':
        assert 'sent_to' not in p and 'via' not in p, p
        continue
    assert p['sent_to'] == e['sent_to'] and p['via'] == e['via'], (p, e)
    if e['verdict'] == 'ok':
        assert p['backend'] == e['backend'] and p['call_id'] == e['call_id'], (p, e)
        assert p['agree'] is e['agree'], (p, e)
    else:
        assert 'agree' not in p and 'backend' not in p, p
    if e['via'] == 'ipip':
        assert p['outer_dst'] == e['outer_dst'], (p, e)
        assert p['outer_src'] == ('10.0.0.2' if e['outer_v'] == 4 else '2001:db8:ff::2'), p
        assert 'eth_dst' not in p, p
    elif e['verdict'] == 'ok':
        assert p['eth_dst'] == e['eth_dst'] and 'outer_dst' not in p, (p, e)
# The decapsulated datagram is the client's: same fields as scanning it directly.
inner = [json.loads(l) for l in open('$T/inner.json')]
for p, e in zip(pk, ex):
    if 'frame_inner' in e:
        q = inner[e['frame_inner'] - 1]
        for k in ('src', 'dst', 'vip', 'method', 'call_id', 'cseq', 'branch', 'group', 'backend'):
            assert p.get(k) == q.get(k), (k, p, q)
"
expect_rc "scan --received --summary" 0 scan --config "$T/recv.conf" --received --summary "$T/sent.pcap"
cp "$T/out" "$T/recv-summary.txt"
pycheck "--received --summary: counts by sent_to" "$T/recv-summary.txt" "
import re
ex = [e for e in json.load(open('$T/sent-expect.json')) if e['verdict'] == 'ok']
def num(label):
    m = re.search(r'^' + re.escape(label) + r' +(\d+)\$', text, re.M)
    assert m, (label, text)
    return int(m.group(1))
assert num('packets') == len(ex) + 2 and num('  SIP, routable') == len(ex), text
assert num('sent to a backend') == sum(e['sent_to'] is not None for e in ex), text
assert num('  not the computed one') == 1, text
assert num('unattributed') == sum(e['sent_to'] is None for e in ex), text
rows = {l.split()[0]: l.split() for l in text.splitlines() if re.match(r'^(b|t)\d ', l)}
assert set(rows) == {'b1', 'b2', 'b3', 't4', 't6'}, rows
for name, r in rows.items():
    mine = [e for e in ex if e['sent_to'] == name]
    calls = len({e['call_id'] for e in mine})
    dis = sum(e['agree'] is False for e in mine)
    assert r[-3:] == [str(calls), str(len(mine)), str(dis)], (name, r, calls, len(mine), dis)
un = [e for e in ex if e['sent_to'] is None]
m = re.search(r'^\(unattributed\) +(\d+) +(\d+)\$', text, re.M)
assert m and (int(m.group(1)), int(m.group(2))) == (len({e['call_id'] for e in un}), len(un)), text
assert re.search(r'^backend .* calls +messages +disagree\$', text, re.M), text
"
check "--received --summary: the wrong ACK splits its Call-ID" grep -qx 'every Call-ID to exactly one backend: no: 1 Call-IDs split' "$T/recv-summary.txt"
expect_rc "scan --received --summary --json" 0 scan --config "$T/recv.conf" --received --summary --json "$T/sent.pcap"
pycheck "--received --summary --json" "$T/out" "
ex = [e for e in json.load(open('$T/sent-expect.json')) if e['verdict'] == 'ok']
un = [e for e in ex if e['sent_to'] is None]
assert j['sip_ok'] == len(ex) and j['disagree'] == 1, j
assert j['sent_to_backend'] == len(ex) - len(un), j
assert j['unattributed'] == {'calls': len({e['call_id'] for e in un}), 'messages': len(un)}, j
assert j['one_backend_per_call_id'] is False and j['split_call_ids'] == 1, j
assert 'no_backend' not in j, j
for b in j['backends']:
    mine = [e for e in ex if e['sent_to'] == b['name']]
    assert (b['calls'], b['messages'], b['disagree']) == (len({e['call_id'] for e in mine}), len(mine),
                                                          sum(e['agree'] is False for e in mine)), (b, mine)
"
# Every frame sent where it was computed to go: nothing split, nothing disagrees.
python3 - "$T" <<'EOF' || fail "cannot generate the agreeing sent capture"
import struct, sys
out = sys.argv[1]
data = open(out + "/sent.pcap", "rb").read()
recs, off = [], 24
while off < len(data):
    n = struct.unpack_from("<I", data, off + 8)[0]
    recs.append(data[off:off + 16 + n])
    off += 16 + n
import json
ex = json.load(open(out + "/sent-expect.json"))
keep = [r for r, e in zip(recs, ex) if e.get("agree") is not False]
open(out + "/sent-good.pcap", "wb").write(data[:24] + b"".join(keep))
EOF
expect_rc "scan --received --summary, all agree" 0 scan --config "$T/recv.conf" --received --summary "$T/sent-good.pcap"
check "all agree: nothing split" grep -qx 'every Call-ID to exactly one backend: yes' "$T/out"
check "all agree: no disagreement" grep -Eq '^  not the computed one +0$' "$T/out"
# Without --received the same frames are what they look like: IP-in-IP is not UDP.
expect_rc "scan the sent capture without --received" 0 scan --config "$T/recv.conf" "$T/sent.pcap"
pycheck "without --received: no sent_to, IP-in-IP is not_udp" "$T/out" "
ex = json.load(open('$T/sent-expect.json'))
for p, e in zip(pk, ex):
    assert 'sent_to' not in p and 'agree' not in p and 'via' not in p, p
    if e.get('via') == 'ipip':
        assert p['verdict'] == 'not_udp' and p['ip_proto'] in (4, 41), p
"
expect_rc "scan --received --backends" 0 scan --backends "t4=10.0.2.4,t6=2001:db8:ff::6" --key "$KEY" --received --summary --json "$T/sent.pcap"
pycheck "--received --backends: IP-in-IP attributed, l2dsr not (no MACs)" "$T/out" "
ex = [e for e in json.load(open('$T/sent-expect.json')) if e['verdict'] == 'ok']
b = {x['name']: x for x in j['backends']}
for n in ('t4', 't6'):
    assert b[n]['messages'] == sum(e['sent_to'] == n for e in ex), (b, n)
assert j['unattributed']['messages'] == sum(e['sent_to'] not in ('t4', 't6') for e in ex), j
"
expect_rc "--received without dispatch exits 2" 2 scan --received "$T/sent.pcap"
expect_rc "--received on a SIP message exits 1" 1 scan --config "$T/recv.conf" --received "$T/invite.sip"
check "  ...and says it needs a capture" grep -q -- "--received needs a capture" "$T/err"

# ---------------------------------------------------------------------------
# Errors
expect_rc "missing file exits 1" 1 scan "$T/nope.pcap"
check "missing file named on stderr" grep -q "nope.pcap" "$T/err"
expect_rc "garbage file exits 1" 1 scan "$T/garbage.bin"
check "garbage: says not a capture" grep -q "neither a pcap" "$T/err"
expect_rc "empty file exits 1" 1 scan /dev/null
expect_rc "directory exits 1" 1 scan "$T"
expect_rc "truncated capture exits 1" 1 scan --summary --json "$T/cut.pcap"
pycheck "truncated capture: frames before the cut still counted" "$T/out" '
assert j["packets"] == 2 and j["sip_ok"] == 2, j
'
run_ctl "$T/out" "$T/err" scan "$T/bogus.pcap"
rc=$?
check "bogus record length: clean exit (rc $rc)" test "$rc" -le 1
expect_rc "missing file among good ones exits 1" 1 scan "$T/calls.pcap" "$T/nope.pcap"
check "  ...after scanning the good one" test "$(wc -l <"$T/out")" -eq 11

expect_rc "no arguments exits 2" 2
expect_rc "unknown command exits 2" 2 frobnicate
expect_rc "scan without input exits 2" 2 scan
expect_rc "unknown option exits 2" 2 scan --frobnicate "$T/calls.pcap"
expect_rc "option without argument exits 2" 2 scan "$T/calls.pcap" --config
expect_rc "--backends without --key exits 2" 2 scan --backends "$BE" "$T/calls.pcap"
expect_rc "--key without --backends exits 2" 2 scan --key "$KEY" "$T/calls.pcap"
expect_rc "--config with --backends exits 2" 2 scan --config "$T/siphon.conf" --backends "$BE" --key "$KEY" "$T/calls.pcap"
expect_rc "--key with --key-hex exits 2" 2 scan --backends "$BE" --key "$KEY" --key-hex "$KEYHEX" "$T/calls.pcap"
expect_rc "odd --key-hex exits 2" 2 scan --backends "$BE" --key-hex "${KEYHEX}0" "$T/calls.pcap"
expect_rc "non-hex --key-hex exits 2" 2 scan --backends "$BE" --key-hex "zz${KEYHEX}" "$T/calls.pcap"
expect_rc "short --key-hex exits 2" 2 scan --backends "$BE" --key-hex 00112233 "$T/calls.pcap"
expect_rc "short --key exits 2" 2 scan --backends "$BE" --key short "$T/calls.pcap"
check "short key explained" grep -q -- "hash key must be 16..1024 bytes, got 5" "$T/err"
for bad in "b1" "b1=" "b1=10.0.0.1*0" "b1=10.0.0.1*101" "b1=10.0.0.1*x" "b1=not-an-ip" \
	"b1=10.0.0.1:70000" "b 1=10.0.0.1" "b1=10.0.0.1,,b2=10.0.0.2" "b1=10.0.0.1,b1=10.0.0.2"; do
	expect_rc "bad --backends '$bad' exits 2" 2 scan --backends "$bad" --key "$KEY" "$T/calls.pcap"
done
check "bad --backends message names the option" grep -q -- "--backends" "$T/err"
expect_rc "help exits 0" 0 help scan
check "help describes scan" grep -q -- "--summary" "$T/out"
expect_rc "scan --help exits 0" 0 scan --help
expect_rc "--help exits 0" 0 --help
check "--help lists scan" grep -q "scan" "$T/out"
expect_rc "--version exits 0" 0 --version

# ---------------------------------------------------------------------------
# IPv4 header checksums: not verified by default (captures taken on the sending host hold
# what checksum offload left there, often 0x0000), verified with --verify-checksums.
python3 - "$T" <<'EOF' || fail "cannot generate the checksum captures"
import struct, sys
out = sys.argv[1]
sys.path.insert(0, out)
from pktlib import *
C, V = "198.51.100.7", "203.0.113.10"
def with_csum(ip, c):
    return ip[:10] + struct.pack("!H", c) + ip[12:]
m = lambda cid: msg("INVITE sip:bob@example.com SIP/2.0", cid, "1 INVITE", "z9hG4bKc")
good = sip_udp(4, C, V, 5062, 5060, m("csum-good@example.com"))
zero = with_csum(sip_udp(4, C, V, 5062, 5060, m("csum-zero@example.com")), 0)
wrong = sip_udp(4, C, V, 5062, 5060, m("csum-wrong@example.com"))
wrong = with_csum(wrong, struct.unpack("!H", wrong[10:12])[0] ^ 0x0101)
pcap(out + "/csum.pcap", 1, [eth(good), eth(zero), eth(wrong)])
pcap(out + "/csum-raw.pcap", 101, [good, zero, wrong])
EOF
for f in csum.pcap csum-raw.pcap; do
	expect_rc "scan $f (checksums not verified) exits 0" 0 scan "$T/$f"
	pycheck "$f: offloaded and wrong IPv4 checksums are not rejected by default" "$T/out" '
assert [p["verdict"] for p in pk] == ["ok", "ok", "ok"], pk
assert [p["call_id"] for p in pk] == ["csum-good@example.com", "csum-zero@example.com",
                                      "csum-wrong@example.com"], pk
'
	expect_rc "scan --verify-checksums $f exits 0" 0 scan --verify-checksums "$T/$f"
	pycheck "$f --verify-checksums: both reported as the daemon drops them" "$T/out" '
assert [p["verdict"] for p in pk] == ["ok", "bad_ipv4_checksum", "bad_ipv4_checksum"], pk
assert all(p["layer"] == "pkt" for p in pk[1:]), pk
'
done
expect_rc "scan -V --summary --json csum.pcap exits 0" 0 scan -V --summary --json "$T/csum.pcap"
pycheck "-V summary counts bad_ipv4_checksum" "$T/out" '
assert j["sip_ok"] == 1 and j["non_sip_by_reason"] == {"bad_ipv4_checksum": 2}, j
'
expect_rc "scan --verify-checksums calls.pcap exits 0" 0 scan --verify-checksums "$T/calls.pcap"
check "valid checksums: --verify-checksums changes nothing" cmp -s "$T/out" "$T/plain.json"

# ---------------------------------------------------------------------------
# Every RFC 4475 torture message as a raw message file. Whether a file that is not a
# capture is a SIP message is what the scanner says: each file gets its verdict, as in
# tests/test_sip.c's corpus table, except those whose start line the scanner cannot read,
# which are refused (exit 1) with the scanner's reason. Routed ones must show MANIFEST.tsv's
# Call-ID, method or status and CSeq number (unless the CSeq is malformed). The third
# column lists the anomalies a routed message is forwarded with.
RFC=$ROOT/tests/data/rfc4475
cat >"$T/rfc4475-expect.tsv" <<'EOF'
wsinv.dat	ok
intmeth.dat	ok
esc01.dat	ok
escnull.dat	ok
esc02.dat	ok
lwsdisp.dat	ok
longreq.dat	ok
dblreq.dat	ok
semiuri.dat	ok
transports.dat	ok
mpart01.dat	ok
unreason.dat	ok
noreason.dat	ok
badinv01.dat	ok	bad_via
clerr.dat	truncated
ncl.dat	bad_content_length
scalar02.dat	ok	bad_cseq,bad_max_forwards
scalarlg.dat	ok	bad_cseq
quotbal.dat	ok	bad_to
ltgtruri.dat	bad_request_uri
lwsruri.dat	refused
lwsstart.dat	refused
trws.dat	refused
escruri.dat	ok
baddate.dat	ok
regbadct.dat	ok
badaspec.dat	ok
baddn.dat	unterminated
badvers.dat	bad_version
mismatch01.dat	ok	cseq_mismatch
mismatch02.dat	ok	cseq_mismatch
bigcode.dat	bad_status
badbranch.dat	ok
insuf.dat	no_call_id
unkscm.dat	ok
novelsc.dat	ok
unksm2.dat	ok
bext01.dat	ok
invut.dat	ok
regaut01.dat	ok
multi01.dat	dup_call_id
mcl01.dat	dup_content_length
bcast.dat	ok
zeromf.dat	ok
cparam01.dat	ok
cparam02.dat	ok
regescrt.dat	ok
sdp01.dat	ok
inv2543.dat	ok
EOF
pycheck "RFC 4475: every file, the expectation table and MANIFEST.tsv agree" "$T/rfc4475-expect.tsv" "
import os
want = [l.split('\t')[0] for l in text.splitlines()]
man = [l.split('\t')[0] for l in open('$RFC/MANIFEST.tsv').read().splitlines()[1:] if l]
files = sorted(f for f in os.listdir('$RFC') if f.endswith('.dat'))
assert len(set(want)) == len(want), 'a file twice in the table'
assert sorted(want) == files, set(want) ^ set(files)
assert sorted(man) == files, set(man) ^ set(files)
"
while IFS=$'\t' read -r f want anom; do
	if [ "$want" = refused ]; then
		expect_rc "rfc4475 $f: refused, exit 1" 1 scan "$RFC/$f"
		check "rfc4475 $f: the scanner's reason on stderr" grep -q "nor a SIP message.*bad_start_line" "$T/err"
		continue
	fi
	expect_rc "rfc4475 $f: scanned as one message" 0 scan "$RFC/$f"
	pycheck "rfc4475 $f: verdict $want" "$T/out" "
p, = pk
assert p['frame'] == 1 and p['layer'] == 'sip' and p['verdict'] == '$want', p
row = {l.split('\t')[0]: l.split('\t') for l in open('$RFC/MANIFEST.tsv').read().splitlines()}['$f']
want_anom = [a for a in '$anom'.split(',') if a]
assert p.get('anomalies', []) == want_anom, (p, want_anom)
assert 'anomalies' not in p or p['anomalies'], p
if p['verdict'] == 'ok':
    assert p['call_id'] == row[5], (p, row[5])
    if 'bad_cseq' in want_anom:
        assert p['cseq'] is None, p
    else:
        assert p['cseq'].split(' ')[0] == row[7], (p, row[7])
    if p['kind'] == 'response':
        assert str(p['status']) == row[6], (p, row[6])
    else:
        assert p['method'] == row[6], (p, row[6])
"
done <"$T/rfc4475-expect.tsv"
# Given on standard input, the binary ones are messages too.
for f in intmeth.dat mpart01.dat; do
	expect_rc "rfc4475 $f from stdin: scanned" 0 scan - <"$RFC/$f"
	pycheck "rfc4475 $f from stdin: ok" "$T/out" '
assert pk[0]["verdict"] == "ok" and pk[0]["frame"] == 1, pk
'
done
# A file that starts like a capture but that libpcap refuses is a broken capture.
printf '\xd4\xc3\xb2\xa1\x02\x00' >"$T/short.pcap"
expect_rc "capture magic, bad header exits 1" 1 scan "$T/short.pcap"
check "  ...and says it is a capture libpcap cannot read" grep -q "a capture libpcap cannot read" "$T/err"

# ---------------------------------------------------------------------------
# Anomalies: defects in fields dispatch does not read are reported and the message is still
# dispatched, as the daemon forwards it; the summary counts them.
python3 - "$T" <<'EOF' || fail "cannot generate the anomaly capture"
import sys
out = sys.argv[1]
sys.path.insert(0, out)
from pktlib import *
C, V = "198.51.100.7", "203.0.113.10"
# An SBC's in-dialog BYE whose To tag ends in control octets, and an INVITE whose top Via
# has an unbracketed IPv6 sent-by; then a clean ACK and a message without Call-ID.
bye = msg("BYE sip:bob@example.com SIP/2.0", "anom-1@example.com", "2 BYE", "z9hG4bKn1")
bye = bye.replace(b"To: Bob <sip:bob@example.com>;tag=b2", b"To: Bob <sip:bob@example.com>;tag=b2\x01\x02")
inv = msg("INVITE sip:bob@example.com SIP/2.0", "anom-2@example.com", "1 INVITE", "z9hG4bKn2")
inv = inv.replace(b"Via: SIP/2.0/UDP client.example.com:5062;", b"Via: SIP/2.0/UDP 2001:db8::7;")
ack = msg("ACK sip:bob@example.com SIP/2.0", "anom-2@example.com", "1 ACK", "z9hG4bKn3")
nocid = msg("OPTIONS sip:bob@example.com SIP/2.0", "x", "1 OPTIONS", "z9hG4bKn4")
nocid = nocid.replace(b"Call-ID: x\r\n", b"")
pkts = [sip_udp(4, C, V, 5062, 5060, m) for m in (bye, inv, ack, nocid)]
pcap(out + "/anom.pcap", 1, [eth(p) for p in pkts])
EOF
expect_rc "scan anomalies exits 0" 0 scan --backends "$BE" --key "$KEY" "$T/anom.pcap"
pycheck "anomalies: reported, still dispatched" "$T/out" '
bye, inv, ack, nocid = pk
assert bye["verdict"] == "ok" and bye["anomalies"] == ["bad_to"], bye
assert bye["reason"] != "well-formed" and bye["backend"] in ("b1", "b2", "b3"), bye
assert bye["method"] == "BYE" and bye["cseq"] == "2 BYE", bye
assert inv["verdict"] == "ok" and inv["anomalies"] == ["bad_via"], inv
assert inv["branch"] is None and inv["backend"] in ("b1", "b2", "b3"), inv
assert ack["verdict"] == "ok" and "anomalies" not in ack and ack["reason"] == "well-formed", ack
assert ack["backend"] == inv["backend"], (ack, inv)
assert nocid["verdict"] == "no_call_id" and "backend" not in nocid, nocid
'
expect_rc "scan anomalies --summary --json exits 0" 0 scan --backends "$BE" --key "$KEY" --summary --json "$T/anom.pcap"
pycheck "anomalies: summary counts them among the routable" "$T/out" '
assert j["sip_ok"] == 3 and j["sip_anomalous"] == 2, j
assert j["anomalies"] == {"bad_to": 1, "bad_via": 1}, j
assert j["rejected"] == {"no_call_id": 1}, j
assert sum(b["messages"] for b in j["backends"]) == 3, j
'
expect_rc "scan anomalies --summary exits 0" 0 scan --summary "$T/anom.pcap"
check "text summary lists the anomalies" grep -q "bad_via .* (anomaly)" "$T/out"
check "text summary counts messages with anomalies" grep -Eq "with anomalies +2" "$T/out"
expect_rc "scan clean calls --summary --json" 0 scan --summary --json "$T/calls.pcap"
pycheck "clean capture: no anomalies" "$T/out" '
assert j["sip_anomalous"] == 0 and j["anomalies"] == {}, j
'
expect_rc "scan clean calls --summary" 0 scan --summary "$T/calls.pcap"
check "clean capture: no anomaly line in the text summary" sh -c '! grep -q "anomal" "$1"' sh "$T/out"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
