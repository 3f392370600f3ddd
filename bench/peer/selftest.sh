#!/usr/bin/env bash
# bench/peer/selftest.sh - the meson test of scripts/bench-peer's counting: peer_send straight
# into peer_sink on 127.0.0.1 (free ports, no Kamailio), plus hand-made datagrams that must
# show up as exactly one duplicate set, one stray, one reordered message and one split call.
# If these counts were wrong, bench-peer's losses and reordering would be too.
#   selftest.sh PEER_SEND PEER_SINK PCAP_DIR
set -euo pipefail
send=$1 sink=$2 pcaps=$3
tmp=$(mktemp -d)
spid=''
trap 'if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT

# A request sip_parse accepts, numbered by hand: X-Peer-Seq CALL.MSG, far above the replays'.
msg() { # port call msg
	printf 'OPTIONS sip:probe@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK%s\r\nFrom: <sip:t@example.net>;tag=1\r\nTo: <sip:probe@example.net>\r\nCall-ID: selftest-%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nX-Peer-Seq: %s.%s\r\nContent-Length: 0\r\n\r\n' \
		"$3" "$2" "$2" "$3" >"$tmp/msg"
	cat "$tmp/msg" >"/dev/udp/127.0.0.1/$1" # one write, one datagram (printf writes per line)
}

mixed=$("$send" --pcap "$pcaps/mixed-calls.pcap" --count --passes 2)
compact=$("$send" --pcap "$pcaps/compact-headers.pcap" --count)
expect=$((mixed + compact + 3))
"$sink" --port 0 --port 0 --port 0 --expect "$expect" --idle-ms 5000 --max-seconds 30 \
	--ready "$tmp/ready" >"$tmp/out" &
spid=$!
for _ in $(seq 200); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
read -r p1 p2 _ <"$tmp/ready"

# Passes 0-1 of mixed-calls (calls 0..1399, messages 0..9799) to backend 1; pass 20 of
# compact-headers (calls 4000.., messages 28000..) to backend 2, twice: 1400 duplicates.
"$send" --pcap "$pcaps/mixed-calls.pcap" --port "$p1" --passes 2 --rate 0 >/dev/null
"$send" --pcap "$pcaps/compact-headers.pcap" --port "$p2" --first-pass 20 --rate 0 >/dev/null
"$send" --pcap "$pcaps/compact-headers.pcap" --port "$p2" --first-pass 20 --rate 0 >/dev/null
printf 'not SIP at all' >"$tmp/msg"
cat "$tmp/msg" >"/dev/udp/127.0.0.1/$p1"
msg "$p1" 5000 40001
msg "$p2" 5000 40002 # the same call on another backend: split
msg "$p1" 5000 40000 # after 40001 on the same backend: reordered, the last expected
wait "$spid"
spid=''

out=$(cat "$tmp/out")
echo "$out"
want="received=$((expect + compact + 1)) unique=$expect lost=0 dup=$compact bad=1 reordered=1"
want+=" reordered_calls=1 split_calls=1 calls=$((1400 + 200 + 1))"
want+=" backend1=$((mixed + 3)) backend2=$((compact * 2 + 1)) backend3=0 late=OPTIONS<OPTIONS:1"
if [ "$out" != "$want" ]; then
	echo "selftest: expected: $want" >&2
	exit 1
fi
