#!/usr/bin/env bash
# tests/test_edge_peers.sh EDGE_RUN SRC_DIR - the TLS edge between real peers (issue 8 §5):
# baresip (a real SIP phone, headless) registers over TLS through the edge (edge_run: the
# edge alone, as the daemon starts it) to a real Kamailio registrar running
# examples/backends/kamailio-registrar.cfg; the Path Kamailio stored is checked
# (kamcmd ul.dump); then a sipp UAC on the core side calls the user through Kamailio:
# lookup() -> Path -> the edge -> baresip's TLS connection; baresip answers by itself
# (answermode auto), and the call's ACK and BYE come back the same way (sipp's exit code).
# All in a network namespace of its own ("edgep-PID": its loopback and a veth pair with both
# ends inside it), removed on any exit.
# KEEP=1 keeps the logs directory (/tmp/edgep.*) for a look after a failure.
set -uo pipefail
EDGE_RUN=${1:?usage: test_edge_peers.sh EDGE_RUN SRC_DIR}
SRC=${2:?usage: test_edge_peers.sh EDGE_RUN SRC_DIR}
ns="edgep-$$"
TMP=$(mktemp -d /tmp/edgep.XXXXXX)
failed=0

cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	for _ in $(seq 20); do
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
		sleep 0.1
	done
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

check() { # status what
	if [ "$1" -eq 0 ]; then
		echo "ok    $2"
	else
		echo "FAIL  $2"
		failed=$((failed + 1))
	fi
}
nsx() { ip netns exec "$ns" "$@"; }

for t in baresip kamailio kamcmd sipp openssl; do
	command -v "$t" >/dev/null || { echo "FAIL  $t not installed"; exit 1; }
done
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
# baresip needs a network address and a default route to start; a device gives it
# both: a veth pair with both ends inside the namespace (the route leads nowhere, nothing
# leaves the namespace). The edge listens on that address.
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" addr add 10.99.0.1/24 dev d0
ip -n "$ns" link set d1 up
ip -n "$ns" link set d0 up
ip -n "$ns" route add default dev d0

# A CA and the edge's ECDSA certificate for edge.test, which baresip is given as its CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=edge-test-ca -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=edge.test \
		-keyout "$TMP/edge.key" -out "$TMP/edge.csr" 2>/dev/null &&
	openssl x509 -req -in "$TMP/edge.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
		-CAcreateserial -days 2 -extfile <(printf 'subjectAltName=DNS:edge.test,IP:10.99.0.1') \
		-out "$TMP/edge.pem" 2>/dev/null || { echo "FAIL  certificates"; exit 1; }

cat >"$TMP/edge.conf" <<CONF
hash_key = "edge-peers-hash-key-0123";
groups = ( { name = "reg"; backends = ( { name = "kam"; address = "127.0.0.1"; port = 5090; } ); } );
edge = {
    tls = [ "10.99.0.1:5061" ];
    address = "127.0.0.1:5070";
    group = "reg";
    flow_key = "edge-peers-flow-key-0123456789";
    certs = [ "$TMP/edge.pem" ];
    keys = [ "$TMP/edge.key" ];
};
CONF

# The shipped registrar configuration, its control socket moved into TMP.
mkdir -p "$TMP/kam"
sed -e "s|^#!substdef \"!CTL_SOCK!.*|#!substdef \"!CTL_SOCK!$TMP/kam/ctl!g\"|" \
	"$SRC/examples/backends/kamailio-registrar.cfg" >"$TMP/kam/kamailio.cfg"
nsx kamailio -f "$TMP/kam/kamailio.cfg" -DD -E -m 32 -M 8 -Y "$TMP/kam" -w "$TMP/kam" \
	>"$TMP/kam/log" 2>&1 &
# ip netns exec execs the command, so $! is edge_run itself (for SIGUSR1).
GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 ip netns exec "$ns" "$EDGE_RUN" "$TMP/edge.conf" \
	>"$TMP/edge.out" 2>"$TMP/edge.err" &
EDGE_PID=$!
for _ in $(seq 100); do
	grep -q '^ready$' "$TMP/edge.out" 2>/dev/null && [ -S "$TMP/kam/ctl" ] && break
	sleep 0.1
done
grep -q '^ready$' "$TMP/edge.out" && [ -S "$TMP/kam/ctl" ]
check $? "edge_run and Kamailio start" || true
[ "$failed" -eq 0 ] || { cat "$TMP/edge.err" "$TMP/kam/log"; exit 1; }

# baresip 1.0, headless: no audio device (a 48 kHz sine as the source, aubridge's player
# as the sink), TLS only, through the edge as its outbound proxy.
mkdir -p "$TMP/bs"
cat >"$TMP/bs/config" <<CONF
poll_method		epoll
net_interface		d0
sip_listen		10.99.0.1:5066
sip_cafile		$TMP/ca.pem
audio_source		ausine,440
audio_player		aubridge,edge
audio_alert		aubridge,edge
ausrc_srate		48000
auplay_srate		48000
ausrc_channels		2
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module_app		account.so
module_app		menu.so
rtp_ports		20000-20100
CONF
printf '<sip:alice@edge.test;transport=tls>;outbound="sip:10.99.0.1:5061;transport=tls";regint=600;answermode=auto;audio_codecs=PCMU;mediaenc=\n' \
	>"$TMP/bs/accounts"
: >"$TMP/bs/contacts"
nsx baresip -f "$TMP/bs" </dev/null >"$TMP/bs/log" 2>&1 &

dump=
for _ in $(seq 100); do
	dump=$(nsx kamcmd -s "unix:$TMP/kam/ctl" ul.dump 2>/dev/null)
	grep -q 'alice' <<<"$dump" && break
	sleep 0.1
done
grep -q 'AoR: alice' <<<"$dump"
check $? "baresip registered alice at Kamailio over TLS through the edge" || true
path=$(grep -o 'Path: <sip:[^>]*>' <<<"$dump" | head -1)
echo "      Kamailio stored $path"
grep -Eq '^Path: <sip:[0-9a-f]{48}@127\.0\.0\.1:5070;lr(;ob)?>$' <<<"$path"
check $? "the contact's Path is the edge's backend address with a flow token" || true
grep -q 'transport=tls' <<<"$dump"
check $? "the contact is baresip's TLS contact" || true

# The core calls alice: Kamailio's lookup() sends the INVITE along the Path to the edge.
(cd "$TMP" && timeout 25 ip netns exec "$ns" sipp -sf "$SRC/tests/edge/call_uac.xml" -s alice \
	-i 127.0.0.1 -p 5080 -mp 20300 -m 1 -l 1 -timeout 15s -timeout_error \
	-trace_err -error_file "$TMP/sipp.err" -trace_stat -stf "$TMP/sipp.csv" \
	127.0.0.1:5090 >"$TMP/sipp.out" 2>&1 </dev/null)
check $? "a sipp call via Kamailio lookup() -> Path -> edge -> baresip completes" || true
grep -q 'answering call' "$TMP/bs/log" && grep -q 'Call established' "$TMP/bs/log" &&
	grep -q 'terminated (duration' "$TMP/bs/log"
check $? "baresip answered by itself, the call was established and ended by the BYE" || true

kill -USR1 "$EDGE_PID"
for _ in $(seq 50); do
	grep -q '^end$' "$TMP/edge.out" && break
	sleep 0.1
done
stat() { awk -v k="edge_$1" '$1 == k { v = $2 } END { print v + 0 }' "$TMP/edge.out"; }
echo "      edge: to_client $(stat to_client) to_backend $(stat to_backend) flow_failed $(stat flow_failed)"
[ "$(stat flow_failed)" -eq 0 ] && [ "$(stat to_client)" -ge 4 ]
check $? "the edge relayed the dialog down the flow, no 430" || true
# Stopped as the daemon stops it: exit 0 (in the sanitizer build, also no leak).
kill -TERM "$EDGE_PID"
wait "$EDGE_PID"
check $? "edge_run stops cleanly" || true
if [ "$failed" -ne 0 ]; then
	for f in "$TMP/bs/log" "$TMP/sipp.out" "$TMP/sipp.err" "$TMP/edge.err" "$TMP/kam/log"; do
		[ -s "$f" ] && { echo "--- $f"; tail -40 "$f"; }
	done
fi
echo "edge peers: $failed failed"
[ "$failed" -eq 0 ]
