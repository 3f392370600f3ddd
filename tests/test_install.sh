#!/usr/bin/env bash
# test_install.sh - `meson install` into a scratch DESTDIR, checked as a fresh server would
# use it (docs/deploy.md).
#
#   tests/test_install.sh MESON BUILD_DIR SOURCE_ROOT
#
# Installs BUILD_DIR (already built: --no-rebuild) into a temporary DESTDIR, then checks:
# every file meson says it installs landed, in the directories the build options name
# (siphon in sbindir, siphonctl in bindir, the unit in systemdunitdir, /etc/default/siphon
# in sysconfdir, man pages, examples and docs in datadir/doc/siphon); the installed
# siphon passes --check-config on every installed example and fails on a broken one; the
# man pages render without a warning (man --warnings, groff -ww) and name every option of
# the binaries' own --help; the unit's commands, EnvironmentFile and documentation point
# at installed files; the defaults file sets what ExecStart uses; and, when it exists,
# systemd-analyze verify finds nothing to say about the unit (with its paths moved into
# DESTDIR); the installed daemon takes the unit's ExecReload (and refuses a broken file
# through it); its --pdump refuses --no-huge clearly and, where hugepages are free,
# serves dpdk-dumpcap. Nothing outside the temporary folder is
# touched but the daemon's own DPDK runtime folder and hugepage files, removed at exit.
set -u

MESON=${1:?usage: test_install.sh MESON BUILD_DIR SOURCE_ROOT}
BUILD=${2:?usage: test_install.sh MESON BUILD_DIR SOURCE_ROOT}
# Absolute: with a relative rx_pcap path, dpdk-dumpcap failed to attach to the vdev.
SRC=$(cd "${3:?usage: test_install.sh MESON BUILD_DIR SOURCE_ROOT}" && pwd) || exit 1
TMP=$(mktemp -d /tmp/test_install.XXXXXX)
DEST=$TMP/dest
fails=0
checks=0

PREFIX_EAL=sph_inst_$$
HUGEDIR=
PID=
daemon_stop() { # SIGTERM, then SIGKILL after 10 s; $rc: the daemon's exit status
	rc=
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	rc=$?
	PID=
}
cleanup() {
	daemon_stop
	# Hugepage files stay after a primary exits; ours carry our --file-prefix.
	[ -z "$HUGEDIR" ] || rm -f "$HUGEDIR/${PREFIX_EAL}map_"*
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX_EAL" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX_EAL"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); checks=$((checks + 1)); }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	local what=$1; shift
	if "$@"; then ok; else fail "$what"; fi
}

if ! "$MESON" install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
	cat "$TMP/install.log" >&2
	echo "FAIL: meson install --destdir failed" >&2
	exit 1
fi

# The build's own idea of its directories and of what it installs.
"$MESON" introspect "$BUILD" --buildoptions >"$TMP/options.json" || exit 1
"$MESON" introspect "$BUILD" --installed >"$TMP/installed.json" || exit 1
opt() {
	python3 -c 'import json, sys
v = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}[sys.argv[2]]
print(v)' "$TMP/options.json" "$1"
}
# A directory option as an absolute path (meson joins relative ones to the prefix).
dir() {
	local d
	d=$(opt "$1")
	case $d in /*) echo "$d" ;; *) echo "$(opt prefix)/$d" ;; esac
}
PREFIX=$(opt prefix)
BINDIR=$(dir bindir)
SBINDIR=$(dir sbindir)
SYSCONFDIR=$(dir sysconfdir)
MANDIR=$(dir mandir)
DOCDIR=$(dir datadir)/doc/siphon
UNITDIR=$(opt systemdunitdir)
if [ -z "$UNITDIR" ]; then
	UNITDIR=$(pkg-config --define-variable=rootprefix="$PREFIX" \
		--variable=systemdsystemunitdir systemd 2>/dev/null) || UNITDIR=
	[ -n "$UNITDIR" ] || UNITDIR=$PREFIX/lib/systemd/system
fi

# Every file meson installs is in DESTDIR; none is left out of the list below.
python3 -c 'import json, sys
for dst in json.load(open(sys.argv[1])).values():
    print(dst)' "$TMP/installed.json" | sort >"$TMP/listed"
(cd "$DEST" && find . -type f | sed 's/^\.//' | sort) >"$TMP/found"
check "meson introspect --installed lists files that are not in DESTDIR: $(comm -23 "$TMP/listed" "$TMP/found" | tr '\n' ' ')" \
	test -z "$(comm -23 "$TMP/listed" "$TMP/found")"
check "DESTDIR holds files meson does not list: $(comm -13 "$TMP/listed" "$TMP/found" | tr '\n' ' ')" \
	test -z "$(comm -13 "$TMP/listed" "$TMP/found")"

# What a server needs, where the options say.
EXAMPLES="l2dsr.conf ipip.conf siphon.conf demo.conf edge.conf"
want="$SBINDIR/siphon $BINDIR/siphonctl $SYSCONFDIR/default/siphon
	$MANDIR/man8/siphon.8 $MANDIR/man8/siphonctl.8 $DOCDIR/deploy.md $DOCDIR/dataplane.md
	$DOCDIR/config.md $DOCDIR/control.md"
for e in $EXAMPLES; do want="$want $DOCDIR/examples/$e"; done
[ "$UNITDIR" = no ] || want="$want $UNITDIR/siphon.service"
for f in $want; do
	check "$f is not installed" test -f "$DEST$f"
done
for f in "$SBINDIR/siphon" "$BINDIR/siphonctl"; do
	check "$f is not executable" test -x "$DEST$f"
done
# A published hash key must never be a running configuration: nothing in sysconfdir/siphon.
check "a configuration was installed into $SYSCONFDIR/siphon" test ! -e "$DEST$SYSCONFDIR/siphon"

# The installed binaries run, and the installed examples load.
SIPHON=$DEST$SBINDIR/siphon
CTL=$DEST$BINDIR/siphonctl
for e in $EXAMPLES; do
	"$SIPHON" --check-config "$DEST$DOCDIR/examples/$e" >/dev/null 2>"$TMP/err"
	rc=$?
	check "installed siphon --check-config refuses the installed $e" test "$rc" -eq 0
	check "installed siphon --check-config $e: no 'configuration ok' ($(cat "$TMP/err"))" \
		grep -q 'configuration ok' "$TMP/err"
done
# The check can fail: a backend of the l2dsr example moved off-link, without a MAC.
sed 's/address = "198.51.100.13"/address = "192.0.2.13"/' "$DEST$DOCDIR/examples/l2dsr.conf" \
	>"$TMP/broken.conf"
check "the broken copy of l2dsr.conf differs from it" \
	test "$(cmp -s "$TMP/broken.conf" "$DEST$DOCDIR/examples/l2dsr.conf"; echo $?)" = 1
"$SIPHON" --check-config "$TMP/broken.conf" >/dev/null 2>"$TMP/err"
rc=$?
check "installed siphon --check-config accepts an l2dsr backend off every prefix" \
	test "$rc" -eq 1
check "the refusal names file and line ($(cat "$TMP/err"))" grep -q 'broken.conf:[0-9]' "$TMP/err"
VERSION=$("$MESON" introspect "$BUILD" --projectinfo |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
check "installed siphonctl --version is not $VERSION" test "$("$CTL" --version)" = "siphonctl $VERSION"

# Man pages: render clean, and say every option the binaries know.
for page in siphon siphonctl; do
	src=$DEST$MANDIR/man8/$page.8
	MANWIDTH=80 man --warnings -l "$src" >"$TMP/$page.txt" 2>"$TMP/err"
	rc=$?
	check "man --warnings -l $page.8 failed or warned: $(cat "$TMP/err")" \
		test "$rc" -eq 0 -a ! -s "$TMP/err"
	groff -ww -z -man "$src" 2>"$TMP/err"
	check "groff -ww -z -man $page.8 warned: $(cat "$TMP/err")" test ! -s "$TMP/err"
	check "$page.8 renders without a NAME section" grep -q '^NAME' "$TMP/$page.txt"
	check "$page.8's title line is not of siphon $VERSION" grep -q "^\.TH .* \"siphon $VERSION\"" "$src"
done
# Each --option of siphon's usage has its own entry in siphon(8) (a line of its own,
# as .TP renders it); each command and option of siphonctl's usages is described in
# siphonctl(8) past its synopsis. A new option without its page fails here.
"$SIPHON" -- --help >"$TMP/help" 2>&1
"$CTL" --help >>"$TMP/help.ctl" 2>&1
sed -n '/^DESCRIPTION/,$p' "$TMP/siphonctl.txt" >"$TMP/siphonctl.body"
for c in $(sed -n 's/^  \([a-z-]*\) .*/\1/p' "$TMP/help.ctl"); do
	"$CTL" help "$c" >>"$TMP/help.ctl" 2>&1
	check "siphonctl(8) does not describe the command $c" grep -qw -- "$c" "$TMP/siphonctl.body"
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$TMP/help" | sort -u); do
	check "siphon(8) has no entry for $o" grep -Eq -- "^ +$o( |\$)" "$TMP/siphon.txt"
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$TMP/help.ctl" | sort -u); do
	check "siphonctl(8) does not describe $o" grep -Eq -- "$o( |\$|[,.;)])" "$TMP/siphonctl.body"
done

# The unit (unless -Dsystemdunitdir=no): every command it runs, the EnvironmentFile and
# the documentation are installed files; the defaults file sets what ExecStart reads.
check_unit() {
	UNIT=$DEST$UNITDIR/siphon.service
	for key in ExecStartPre ExecStart ExecReload; do
		check "the unit has no $key" grep -q "^$key=" "$UNIT"
	done
	# First word of each command (no prefix characters are used), and the daemon that
	# ExecStartPre's shell runs.
	cmds=$(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$UNIT")
	cmds="$cmds $(sed -n "s/^ExecStartPre=.* -c 'exec \([^ ]*\) .*/\1/p" "$UNIT")"
	for c in $cmds; do
		case $c in
		/bin/sh) check "/bin/sh is missing" test -x /bin/sh ;;
		"$SBINDIR/siphon" | "$BINDIR/siphonctl") check "the unit runs $c, not installed" test -x "$DEST$c" ;;
		*) fail "the unit runs $c, which is none of the installed binaries" ;;
		esac
	done
	check "ExecStartPre does not run --check-config" grep -q '^ExecStartPre=.*siphon --check-config' "$UNIT"
	# ExecStartPre's shell line as systemd runs it ($$ is a $), on the installed daemon:
	# a good file passes and prints nothing (the configuration it would print holds the
	# hash key, which must not reach the journal); the broken one stops the start.
	pre=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'\$/\1/p" "$UNIT" | sed 's/\$\$/$/g')
	pre=${pre//"$SBINDIR/siphon"/"$DEST$SBINDIR/siphon"}
	out=$(SIPHON_CONFIG=$DEST$DOCDIR/examples/l2dsr.conf /bin/sh -c "$pre" 2>"$TMP/err")
	rc=$?
	check "ExecStartPre refuses the installed l2dsr.conf: $(cat "$TMP/err")" test "$rc" -eq 0
	check "ExecStartPre prints the configuration (and its hash key) to the journal" test -z "$out"
	SIPHON_CONFIG=$TMP/broken.conf /bin/sh -c "$pre" 2>/dev/null
	rc=$?
	check "ExecStartPre lets a broken configuration start" test "$rc" -ne 0
	check "ExecReload does not reload over the control socket" grep -q '^ExecReload=.*siphonctl.* reload$' "$UNIT"
	envfile=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$UNIT")
	check "EnvironmentFile=$envfile is not the installed defaults file" \
		test "$envfile" = "$SYSCONFDIR/default/siphon" -a -f "$DEST$envfile"
	for doc in $(sed -n 's/^Documentation=//p' "$UNIT"); do
		case $doc in
		file://*) check "Documentation=$doc is not installed" test -f "$DEST${doc#file://}" ;;
		man:*) p=${doc#man:}; check "Documentation=$doc is not installed" test -f "$DEST$MANDIR/man8/${p%(8)}.8" ;;
		*) fail "Documentation=$doc: neither file:// nor man:" ;;
		esac
	done
	for key in RuntimeDirectory=siphon LimitNOFILE= Restart=on-failure; do
		check "the unit has no $key" grep -q "^$key" "$UNIT"
	done
	for f in "$UNIT" "$DEST$SYSCONFDIR/default/siphon"; do
		check "$f keeps a placeholder: $(grep -o '@[A-Z]*@' "$f" | head -1)" \
			test -z "$(grep -o '@[A-Z]*@' "$f")"
	done
	# The defaults file is what systemd and a shell both read: plain VAR=value lines,
	# naming the configuration where sysconfdir says.
	env -i sh -c ". '$DEST$SYSCONFDIR/default/siphon'; test -n \"\$SIPHON_EAL\" -a -n \"\$SIPHON_CONFIG\" \
		-a \"\${SIPHON_OPTS+set}\" = set -a \"\$SIPHON_CONFIG\" = '$SYSCONFDIR/siphon/siphon.conf'" 2>"$TMP/err"
	rc=$?
	check "the defaults file does not set SIPHON_EAL, SIPHON_OPTS, and SIPHON_CONFIG to $SYSCONFDIR/siphon/siphon.conf ($(cat "$TMP/err"))" \
		test "$rc" -eq 0
	for v in SIPHON_EAL SIPHON_CONFIG SIPHON_OPTS; do
		check "ExecStart does not use \$$v" grep -q "^ExecStart=.*\\\${\{0,1\}$v" "$UNIT"
	done

	# systemd's own check, with the installed paths moved into DESTDIR so the commands
	# exist; man: links are checked against the installed pages (MANPATH). It exits 0 on
	# what it ignores, so any word about the unit is a failure.
	if command -v systemd-analyze >/dev/null; then
		mkdir -p "$TMP/unit"
		sed -e "s#$SBINDIR/siphon#$DEST$SBINDIR/siphon#g" -e "s#$BINDIR/siphonctl#$DEST$BINDIR/siphonctl#g" \
			-e "s#^EnvironmentFile=#EnvironmentFile=$DEST#" "$UNIT" >"$TMP/unit/siphon.service"
		MANPATH=$DEST$MANDIR systemd-analyze verify "$TMP/unit/siphon.service" >"$TMP/verify" 2>&1
		rc=$?
		check "systemd-analyze verify exited $rc: $(cat "$TMP/verify")" test $rc -eq 0
		check "systemd-analyze verify: $(cat "$TMP/verify")" test ! -s "$TMP/verify"
	else
		echo "test_install: no systemd-analyze; the unit is checked without it"
	fi
}
if [ "$UNITDIR" = no ]; then
	echo "test_install: -Dsystemdunitdir=no, no unit to check"
else
	check_unit
fi

# The installed daemon: the unit's reload, and --pdump (docs/deploy.md, packet
# capture). It replays a bundled capture endlessly on net_pcap (no NIC, nothing on the
# wire) with a private --file-prefix. Without hugepages no secondary process can
# attach: the daemon must say so and forward all the same. With root, a hugetlbfs mount of 256 MiB free and
# dpdk-dumpcap, dpdk-dumpcap must attach and capture both directions: the frames
# received (to the VIP) and those sent (each to its backend's MAC, as siphonctl scan
# --received computes it).
daemon_start() { # daemon_start EAL_MEMORY_OPTIONS...: the installed siphon, until it forwards
	"$SIPHON" "$@" --no-pci -l 0,1 --file-prefix "$PREFIX_EAL" --log-level=error \
		--vdev "net_pcap0,rx_pcap=$SRC/bench/pcaps/mixed-calls.pcap,tx_pcap=/dev/null,infinite_rx=1" \
		-- --config "$TMP/pdump.conf" --promisc --pdump --stats-interval 0 >"$TMP/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 600); do # a bound for a loaded machine, not a measure
		grep -q '^siphon: health checks' "$TMP/daemon.log" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the installed siphon did not start: $(cat "$TMP/daemon.log")"
	return 1
}
cat >"$TMP/pdump.conf" <<EOF
hash_key_hex = "5369706830e2bc94c1d0a7c3f3b1e0d8a6e9f4c2b7d1a3e5f7091b2d3c4e5f60";
ports = ( { name = "net0"; device = "net_pcap0"; addresses = [ "203.0.113.2/24", "2001:db8::2/64" ]; } );
groups = ( { name = "core"; backends = (
	{ name = "b1"; address = "203.0.113.21"; mac = "02:00:00:00:00:21"; },
	{ name = "b2"; address = "203.0.113.22"; mac = "02:00:00:00:00:22"; },
	{ name = "b3"; address = "203.0.113.23"; mac = "02:00:00:00:00:23"; } ); } );
vips = ( { address = "203.0.113.10"; group = "core"; }, { address = "2001:db8::10"; group = "core"; } );
control = { socket = "$TMP/ctl.sock"; };
health = { enabled = false; };
EOF
if daemon_start --no-huge -m 256; then
	check "--pdump --no-huge: no 'no hugepages' refusal: $(cat "$TMP/daemon.log")" \
		grep -q 'pdump: no hugepages (--no-huge)' "$TMP/daemon.log"
	# systemctl reload as the unit runs it (its ExecReload line, the installed siphonctl,
	# SIPHON_SOCKET as the defaults file may set it): the file unchanged is applied,
	# a broken one refused with the daemon still running.
	if [ "$UNITDIR" != no ]; then
		reload=$(sed -n 's/^ExecReload=//p' "$UNIT")
		reload=${reload//"$BINDIR/siphonctl"/"$DEST$BINDIR/siphonctl"}
		SIPHON_SOCKET=$TMP/ctl.sock $reload >"$TMP/reload" 2>&1
		rc=$?
		check "ExecReload of an unchanged file exited $rc: $(cat "$TMP/reload")" test "$rc" -eq 0
		cp "$TMP/pdump.conf" "$TMP/pdump.good"
		sed -i 's/mac = "02:00:00:00:00:22"; }/mac = "02:00:00:00:00:22"; weight = 0; }/' "$TMP/pdump.conf"
		SIPHON_SOCKET=$TMP/ctl.sock $reload >"$TMP/reload" 2>&1
		rc=$?
		check "ExecReload of a broken file exited $rc, want 1: $(cat "$TMP/reload")" test "$rc" -eq 1
		check "ExecReload's refusal does not say why: $(cat "$TMP/reload")" \
			grep -q 'weight must be 1..100' "$TMP/reload"
		cp "$TMP/pdump.good" "$TMP/pdump.conf"
	fi
	sleep 0.5
	check "--pdump --no-huge: the daemon did not go on forwarding" kill -0 "$PID"
	daemon_stop
	check "--pdump --no-huge: the daemon exited $rc on SIGTERM" test "$rc" -eq 0
	check "--pdump --no-huge: nothing forwarded: $(cat "$TMP/daemon.log")" \
		grep -Eq '\| fwd [1-9][0-9]* \|' "$TMP/daemon.log"
fi
HUGEDIR=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
free_mb=$(awk '/^HugePages_Free:/ { f = $2 } /^Hugepagesize:/ { s = $2 } END { print int(f * s / 1024) }' /proc/meminfo)
if [ "$(id -u)" -ne 0 ] || [ -z "$HUGEDIR" ] || [ "$free_mb" -lt 256 ] || ! command -v dpdk-dumpcap >/dev/null; then
	echo "test_install: dpdk-dumpcap not tried: needs root, a hugetlbfs mount with 256 MiB free" \
		"(have ${free_mb} MiB${HUGEDIR:+ at $HUGEDIR}) and dpdk-dumpcap"
	HUGEDIR=
elif daemon_start --huge-dir "$HUGEDIR" -m 128; then
	check "--pdump with hugepages: not on: $(cat "$TMP/daemon.log")" grep -q 'pdump on' "$TMP/daemon.log"
	timeout 60 dpdk-dumpcap --file-prefix="$PREFIX_EAL" -i net_pcap0 -p -q -c 64 \
		-w "$TMP/cap.pcapng" >"$TMP/dumpcap.log" 2>&1
	rc=$?
	check "dpdk-dumpcap failed: $(cat "$TMP/dumpcap.log")" test "$rc" -eq 0
	daemon_stop
	check "--pdump: the daemon exited $rc on SIGTERM after a capture" test "$rc" -eq 0
	"$CTL" scan --config "$TMP/pdump.conf" --received "$TMP/cap.pcapng" >"$TMP/scan" 2>"$TMP/err"
	rc=$?
	check "siphonctl scan cannot read dpdk-dumpcap's capture: $(cat "$TMP/err")" test "$rc" -eq 0
	n=$(wc -l <"$TMP/scan")
	check "dpdk-dumpcap captured $n frames, want at least 64" test "$n" -ge 64
	check "the capture holds no frame received (to the VIP's MAC)" grep -q '"agree":null' "$TMP/scan"
	check "the capture holds no frame sent to a backend" grep -q '"agree":true' "$TMP/scan"
	check "the capture holds frames sent to the wrong backend" test "$(grep -c '"agree":false' "$TMP/scan")" -eq 0
	check "the capture holds frames that are not routable SIP" test "$(grep -vc '"verdict":"ok"' "$TMP/scan")" -eq 0
fi

echo "test_install: $checks checks, $fails failed (DESTDIR layout: prefix $PREFIX, unit in $UNITDIR)"
[ "$fails" -eq 0 ]
