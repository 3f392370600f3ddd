#!/usr/bin/env bash
# test_hitless.sh - changes under load: random backend changes lose no packet, and once
# a change has returned no packet goes to a backend that may no longer get any.
#
#   tests/test_hitless.sh SIPHON SIPHONCTL [SOURCE_ROOT]
#
# Environment: HITLESS_CHANGES (default 1000), HITLESS_SEED (default: random, printed),
# HITLESS_KEEP (set: keep the temporary folder, for a look at a failure).
#
# The load: siphon (one worker, --no-huge, a private --file-prefix) on a net_pcap port
# that replays bench/pcaps/mixed-calls.pcap endlessly (infinite_rx=1; examples/demo.conf's
# VIPs, l2dsr, static MACs, health checks off: nothing answers). Every one of its 4,900
# frames is SIP to a VIP, so every frame received must be forwarded. The port's TX side
# writes its capture (tx_pcap) into a FIFO that a python3 checker reads as it comes:
# nothing is stored, and since net_pcap's writes block on a full pipe, the checker sets
# the pace (the worker never gets ahead of it, nothing is dropped for it).
#
# The changes: one python3 client on one connection to the control socket sends
# HITLESS_CHANGES random changes to group "core", one request at a time, each waited
# for: backend-add (a fresh name b4, b5, ... every time, never reused, each with its own
# static MAC and address, random weight and state), backend-remove, backend-weight
# 1..100, backend-state up/drain/down. It never removes the last backend of the group
# and always keeps one backend up, so no frame may ever find no backend. Every change
# must be accepted. After each reply it asks show-stats for counters.tx_packets.
#
# Why tx_packets orders frames against commands: with one worker and one TX queue the
# output capture is in the order the worker handed frames to dp_tx() (its TX buffer
# keeps the order; what the main lcore sends goes through the same call on worker 0),
# and dp_tx() counts tx_packets one by one, so frame k of the capture is the k-th one
# counted (with tx_drop = 0, checked). A change's reply is sent after snap_publish()
# returned, that is after the worker reported a quiescent state following the swap;
# rte_rcu_qsbr_quiescent() is a release store that the synchronize reads with acquire,
# so the tx_packets the main lcore reads after that, C, covers every frame handed over
# with the old snapshot. Hence:
#   - a frame numbered above C_after(change) was dispatched with the new snapshot;
#   - a frame numbered at most C_before(change) (the read that preceded the request)
#     was dispatched with an older one.
# No clock is involved: net_pcap stamps frames from its own timer base (the TSC since
# its probe), not the clock the client reads, so comparing times would need a tolerance;
# ordering by the counter needs none.
#
# What is checked:
#  1. No loss: the checker matches every output frame, from its IP header on (l2dsr
#     rewrites only the Ethernet addresses), to the replayed capture in order; anything
#     else must be ARP or ICMPv6 from the main lcore (the start-up announcements). Lost
#     frames (gaps), foreign frames, and frames out of order are counted and must be 0.
#     At exit (SIGINT) the daemon's final counters must agree: rx = frames matched, tx =
#     frames in the capture, 0 refused, no drop of any reason.
#  2. No frame to a backend that may not have it: each backend (one MAC each, names
#     never reused) may get frames only in the intervals (C_before(change after which
#     it may take frames), C_after(change after which it may not)]. It may while up;
#     never once removed, while down, or drained without ever having been up (it has
#     no call to keep). While drained after being up, it may too when the daemon keeps
#     dialogs on their backend across changes (dialog affinity, docs/dialogs.md: then
#     show-stats has the counter dispatch_old), otherwise not (Maglev alone: a drained
#     backend owns no table slot). A frame outside the intervals is a violation,
#     reported by what the backend was: "after its removal" is the issue's
#     requirement. A frame to a MAC of no backend is one too.
#  3. The running configuration matches the client's model at the end (names, weights,
#     states), and each backend still there counted exactly the frames the capture
#     holds for it (counters follow backends; new names start at 0).
# Not checked: how long a frame waits between dispatch and write. A frame dispatched
# with the old snapshot is numbered at most C_after, so it passes even if the worker's
# TX buffer held it past the grace period (see dp_worker_main: the buffer is flushed
# every DP_DRAIN_US, independently of the quiescent state report).
#
# Known to catch (tried on patched copies): a worker that keeps a snapshot for a few
# bursts after the swap, snap_publish() without its grace period, a burst dropped after
# a swap, and counter slots reused for a new backend while the dialog affinity table
# still sends the old owner's dialogs to that slot.
#
# The daemon, the checker and the client are bounded by timeouts and killed at exit;
# the temporary folder and EAL's runtime folder for the prefix are removed.
set -u

SIPHON=${1:?usage: test_hitless.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
CTL=${2:?usage: test_hitless.sh SIPHON SIPHONCTL [SOURCE_ROOT]}
ROOT=${3:-$(cd "$(dirname "$0")/.." && pwd)}
PCAP=$ROOT/bench/pcaps/mixed-calls.pcap
CHANGES=${HITLESS_CHANGES:-1000}
SEED=${HITLESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
TMP=$(mktemp -d /tmp/test_hitless.XXXXXX)
SOCK=$TMP/ctl.sock
CONF=$TMP/siphon.conf
FIFO=$TMP/out.fifo
PREFIX=sph_hitless_$$
PID=
CPID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	# The checker: if the daemon never opened the FIFO, it still waits in open().
	if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then
		kill -TERM "$CPID" 2>/dev/null
		wait "$CPID" 2>/dev/null
	fi
	if [ -n "${HITLESS_KEEP:-}" ]; then echo "test_hitless: kept $TMP" >&2; else rm -rf "$TMP"; fi
	rm -rf "/var/run/dpdk/$PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$PREFIX" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "FAIL: $*" >&2
	[ -f "$TMP/siphon.log" ] && sed 's/^/  siphon.log: /' "$TMP/siphon.log" | tail -30 >&2
	[ -f "$TMP/checker.log" ] && sed 's/^/  checker: /' "$TMP/checker.log" >&2
	exit 1
}

[ -f "$PCAP" ] || die "no capture $PCAP"
command -v python3 >/dev/null || die "python3 is needed"
START=$(date +%s.%N)
echo "test_hitless: $CHANGES changes, seed $SEED (HITLESS_SEED=$SEED to repeat)"

cp "$ROOT/examples/demo.conf" "$CONF"
cat >>"$CONF" <<EOF

control = { socket = "$SOCK"; group = "$(id -gn)"; };
EOF
grep -q 'health = { enabled = false; };' "$CONF" || die "examples/demo.conf no longer turns health checks off"

# The capture must be what the accounting assumes: every frame SIP, dispatched.
"$CTL" scan --config "$CONF" --summary --json "$PCAP" >"$TMP/scan.json" || die "siphonctl scan failed"
python3 - "$TMP/scan.json" <<'PY' || die "mixed-calls.pcap: not every frame is forwardable SIP"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["packets"] == j["sip_ok"] and j["non_sip"] == 0 and j["no_backend"]["messages"] == 0, j
PY

mkfifo "$FIFO" || die "mkfifo"

# ---- the checker: reads the output capture from the FIFO as the daemon writes it ----
cat >"$TMP/checker.py" <<'PY'
import array, fcntl, json, pickle, struct, sys

inp, fifo, out = sys.argv[1], sys.argv[2], sys.argv[3]

def frames(data):
    """(caplen, offset) of each record of a whole pcap file in memory."""
    magic = struct.unpack_from("<I", data)[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    off = 24
    while off + 16 <= len(data):
        cl = struct.unpack_from("<I", data, off + 8)[0]
        yield data[off + 16:off + 16 + cl]
        off += 16 + cl

# What l2dsr leaves alike: everything after the two MAC addresses.
expect = [f[12:] for f in frames(open(inp, "rb").read())]
N = len(expect)

f = open(fifo, "rb", buffering=0)
try:
    fcntl.fcntl(f.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ: fewer wake-ups
except OSError:
    pass
buf = b""
def need(n):
    global buf
    while len(buf) < n:
        chunk = f.read(1 << 20)
        if not chunk:
            return False
        buf += chunk
    return True

res = {"frames": 0, "matched": 0, "control": 0, "lost": 0, "foreign": 0,
       "bad_src": 0, "first_problems": [], "pcap_magic": None}
by_mac = {}  # dst MAC -> array of frame numbers (1-based, in capture order)
if need(24):
    res["pcap_magic"] = hex(struct.unpack_from("<I", buf)[0])
    buf = buf[24:]
    j = 0  # the next replayed frame expected
    k = 0
    src = None
    pos = 0
    while True:
        if len(buf) - pos < 16:
            buf = buf[pos:]; pos = 0
            if not need(16):
                break
        cl = struct.unpack_from("<I", buf, pos + 8)[0]
        if len(buf) - pos < 16 + cl:
            buf = buf[pos:]; pos = 0
            if not need(16 + cl):
                res["first_problems"].append("capture ends inside a record")
                break
        fr = buf[pos + 16:pos + 16 + cl]
        pos += 16 + cl
        k += 1
        if fr[12:] == expect[j]:
            j = (j + 1) % N
            res["matched"] += 1
            d = fr[:6]
            a = by_mac.get(d)
            if a is None:
                a = by_mac[d] = array.array("Q")
            a.append(k)
            if src is None:
                src = fr[6:12]
            elif fr[6:12] != src:
                res["bad_src"] += 1
            continue
        et = fr[12:14]
        if et == b"\x08\x06" or (et == b"\x86\xdd" and len(fr) > 20 and fr[20] == 58):
            res["control"] += 1  # ARP / ICMPv6 the main lcore sent (announcements)
            continue
        # Not the next one: a loss if it is one of the following ones, else foreign.
        for gap in range(1, N):
            if fr[12:] == expect[(j + gap) % N]:
                break
        else:
            gap = None
        if len(res["first_problems"]) < 10:
            res["first_problems"].append("frame %d: %s" % (k, "expected replayed frame %d, got %d (%d lost)" % (j, (j + gap) % N, gap) if gap else "neither replayed nor ARP/ND"))
        if gap:
            res["lost"] += gap
            res["matched"] += 1
            j = (j + gap + 1) % N
            a = by_mac.setdefault(fr[:6], array.array("Q"))
            a.append(k)
        else:
            res["foreign"] += 1
    res["frames"] = k
res["by_mac"] = {m.hex(":"): len(a) for m, a in by_mac.items()}
json.dump(res, open(out + ".json", "w"))
pickle.dump({m.hex(":"): a.tobytes() for m, a in by_mac.items()}, open(out + ".idx", "wb"))
PY
timeout 170 python3 "$TMP/checker.py" "$PCAP" "$FIFO" "$TMP/checker" >"$TMP/checker.log" 2>&1 &
CPID=$!

# ---- the daemon ----
# Lcores 0 (main) and 1 (the worker). timeout: a hard bound whatever happens.
timeout -s KILL 170 "$SIPHON" --no-huge -m 512 --no-pci --no-shconf --file-prefix="$PREFIX" \
	--no-telemetry --log-level=lib.eal:error -l 0,1 \
	--vdev "net_pcap0,rx_pcap=$PCAP,tx_pcap=$FIFO,infinite_rx=1" \
	-- --config "$CONF" --promisc >"$TMP/siphon.log" 2>&1 &
PID=$!
for _ in $(seq 200); do
	[ -S "$SOCK" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || die "the daemon did not create $SOCK"

# ---- the client: random changes, one at a time, tx_packets after each ----
timeout 150 python3 - "$SOCK" "$CHANGES" "$SEED" "$TMP/events.json" <<'PY' || die "the change client failed"
import json, random, socket, sys, time

path, changes, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(seed)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
f = s.makefile("rb")

def ask(req):
    s.sendall(json.dumps(req).encode() + b"\n")
    line = f.readline()
    if not line.endswith(b"\n"):
        raise SystemExit("no reply to %r" % (req,))
    return json.loads(line)

def tx():
    r = ask({"cmd": "show-stats"})
    assert r["ok"], r
    c = r["counters"]
    # A consistent view while the worker forwards (stats.h): never more frames sent to
    # backends than received, and the per-worker figures add up to the total.
    if c["forwarded"] > c["rx_packets"] or sum(r["rx_by_worker"]) != c["rx_packets"]:
        raise SystemExit("show stats inconsistent under load: forwarded %d, rx_packets %d, "
                         "rx_by_worker %r" % (c["forwarded"], c["rx_packets"], r["rx_by_worker"]))
    return c["tx_packets"]

# Wait (bounded) until traffic flows through the worker.
t0 = time.time()
while tx() < 10000:
    if time.time() - t0 > 20:
        raise SystemExit("no traffic after 20 s")
    time.sleep(0.05)

r = ask({"cmd": "show-backends", "group": "core"})
model = {b["name"]: {"weight": b["weight"], "state": b["state"], "mac": b["mac"],
                     "address": b["address"]} for b in r["backends"]}
initial = {n: dict(b) for n, b in model.items()}
next_id = 4
MAX_GROUP = 12
events = []
counts = {"backend-add": 0, "backend-remove": 0, "backend-weight": 0, "backend-state": 0}
before = tx()
t_changes = time.time()
for i in range(changes):
    if time.time() - t_changes > 120:
        raise SystemExit("only %d of %d changes in 120 s: the machine is too busy" % (i, changes))
    names = sorted(model)
    ups = [n for n in names if model[n]["state"] == "up"]
    kinds = ["backend-weight", "backend-state"]
    if len(names) < MAX_GROUP:
        kinds += ["backend-add"] * (3 if len(names) <= 3 else 1)
    # Never remove the last backend, nor the last one up.
    removable = [n for n in names if len(names) > 1 and (model[n]["state"] != "up" or len(ups) > 1)]
    if removable:
        kinds += ["backend-remove"] * (2 if len(names) >= MAX_GROUP - 2 else 1)
    kind = rnd.choice(kinds)
    if kind == "backend-add":
        name = "b%d" % next_id
        mac = "02:00:01:%02x:%02x:%02x" % ((next_id >> 16) & 255, (next_id >> 8) & 255, next_id & 255)
        addr = "198.18.%d.%d" % (next_id >> 8, next_id & 255)
        next_id += 1
        state = rnd.choice(["up", "up", "drain", "down"])
        weight = rnd.randint(1, 100)
        req = {"cmd": kind, "group": "core", "name": name, "address": addr, "mac": mac,
               "weight": weight, "state": state}
        model[name] = {"weight": weight, "state": state, "mac": mac, "address": addr}
        ev = {"kind": "add", "name": name, "mac": mac, "to": state}
    elif kind == "backend-remove":
        name = rnd.choice(removable)
        req = {"cmd": kind, "name": name}
        ev = {"kind": "remove", "name": name, "from": model[name]["state"]}
        del model[name]
    elif kind == "backend-weight":
        name = rnd.choice(names)
        weight = rnd.randint(1, 100)
        req = {"cmd": kind, "name": name, "weight": weight}
        model[name]["weight"] = weight
        ev = {"kind": "weight", "name": name}
    else:
        name = rnd.choice(names)
        # Keep one backend up: the only one up stays up (its request is still sent).
        states = ["up"] if ups == [name] else ["up", "drain", "down"]
        state = rnd.choice(states)
        req = {"cmd": kind, "name": name, "state": state}
        ev = {"kind": "state", "name": name, "from": model[name]["state"], "to": state}
        model[name]["state"] = state
    r = ask(req)
    if not r.get("ok"):
        raise SystemExit("change %d %r refused: %s" % (i, req, r.get("error")))
    after = tx()
    ev.update(before=before, after=after, generation=r["generation"])
    events.append(ev)
    counts[kind] += 1
    before = after
t_changes = time.time() - t_changes

r = ask({"cmd": "show-backends", "group": "core"})
final = {b["name"]: {"weight": b["weight"], "state": b["state"], "mac": b["mac"],
                     "packets": b["counters"]["packets"]} for b in r["backends"]}
stats = ask({"cmd": "show-stats"})
json.dump({"initial": initial, "model": model, "final": final, "events": events,
           "counts": counts, "seconds": t_changes, "stats": stats}, open(out, "w"))
PY

# ---- stop: workers flush, the port closes the capture, the checker sees its end ----
kill -INT "$PID"
for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && die "the daemon did not stop on SIGINT"
wait "$PID" || die "the daemon exited with status $?"
PID=
for _ in $(seq 300); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CPID" 2>/dev/null && die "the checker did not finish"
wait "$CPID" || die "the checker failed"
CPID=

# ---- verdict ----
python3 - "$TMP/events.json" "$TMP/checker" "$TMP/siphon.log" "$START" <<'PY' || die "see above"
import array, bisect, json, pickle, re, sys, time

ev_path, chk, log_path, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
E = json.load(open(ev_path))
C = json.load(open(chk + ".json"))
idx = {m: array.array("Q", b) for m, b in pickle.load(open(chk + ".idx", "rb")).items()}
log = open(log_path).read()
fails = []
def check(cond, what):
    if not cond:
        fails.append(what)

# 1. no loss: the capture against the replay, then the daemon's own final counters.
check(C["pcap_magic"] is not None, "the checker read no capture header")
check(C["lost"] == 0, "%d frames lost" % C["lost"])
check(C["foreign"] == 0, "%d frames neither replayed nor ARP/ND" % C["foreign"])
check(C["bad_src"] == 0, "%d frames with another source MAC" % C["bad_src"])
m = re.search(r"^siphon: rx (\d+) pkts \d+ B \| fwd (\d+) \| tx (\d+) pkts \d+ B, (\d+) refused", log, re.M)
check(m is not None, "no final statistics line in the daemon's log")
rx = tx = refused = -1
if m:
    rx, fwd, tx, refused = map(int, m.groups())
    check(refused == 0, "TX refused %d frames" % refused)
    check(tx == C["frames"], "tx %d but the capture holds %d frames" % (tx, C["frames"]))
    check(rx == C["matched"], "rx %d but %d replayed frames came out" % (rx, C["matched"]))
    check(rx > 0 and rx + C["control"] == tx, "rx %d + control %d != tx %d" % (rx, C["control"], tx))
d = re.search(r"^  drops:(.*)$", log, re.M)
check(d is not None and d.group(1).strip() == "", "drops at exit: %s" % (d.group(1) if d else "?"))
c = E["stats"]["counters"]
for k in ("tx_drop", "no_backend", "no_neighbor", "other_mac", "not_vip", "multi_segment",
          "encap_no_room", "encap_too_big", "learn_ring_full", "nd_drop"):
    check(c.get(k, 0) == 0, "show-stats %s = %s" % (k, c.get(k)))

# 2. frames only to backends that may have them, by capture number against tx_packets.
# With dialog affinity (docs/dialogs.md; its counters, e.g. dispatch_old, in show-stats)
# a drained backend that was up keeps the dialogs it had: frames to it are then allowed.
dialogs = "dispatch_old" in c
def takes(state, ever_up):
    return state == "up" or (dialogs and state == "drain" and ever_up)
allowed = {}  # name -> [[lo, hi]]: frame numbers n with lo < n <= hi (hi None: no end)
marks = {}    # name -> [(before, after, what it became)]: why a frame was not allowed
mac_of, ever, state_of, added_at, removed_at = {}, {}, {}, {}, {}
for n, b in E["initial"].items():
    mac_of[n], ever[n], state_of[n] = b["mac"], b["state"] == "up", b["state"]
    allowed[n] = [[0, None]] if takes(b["state"], ever[n]) else []
    marks[n] = [(0, 0, b["state"] + ("" if ever[n] else " (never up)"))]
for e in E["events"]:
    n = e["name"]
    if e["kind"] == "add":
        mac_of[n], ever[n], state_of[n], added_at[n] = e["mac"], e["to"] == "up", e["to"], e["before"]
        allowed[n] = [[e["before"], None]] if takes(e["to"], ever[n]) else []
        marks[n] = [(e["before"], e["after"], e["to"] + ("" if ever[n] else " (never up)"))]
    elif e["kind"] == "state":
        was = takes(state_of[n], ever[n])
        ever[n] = ever[n] or e["to"] == "up"
        now = takes(e["to"], ever[n])
        state_of[n] = e["to"]
        if now and not was:
            allowed[n].append([e["before"], None])
        elif was and not now:
            allowed[n][-1][1] = e["after"]
        marks[n].append((e["before"], e["after"], e["to"] + ("" if ever[n] else " (never up)")))
    elif e["kind"] == "remove":
        if takes(state_of[n], ever[n]):
            allowed[n][-1][1] = e["after"]
        removed_at[n] = e["after"]
        marks[n].append((e["before"], e["after"], "removed"))
check(len(set(mac_of.values())) == len(mac_of), "MACs are not unique per name")
name_of = {v: k for k, v in mac_of.items()}
viol, examples = {}, []
for mac, a in idx.items():
    n = name_of.get(mac)
    if n is None:
        viol["to an unknown MAC"] = viol.get("to an unknown MAC", 0) + len(a)
        examples.append("%d frames to unknown MAC %s" % (len(a), mac))
        continue
    ok = sum(bisect.bisect_right(a, hi if hi is not None else 1 << 62) - bisect.bisect_right(a, lo)
             for lo, hi in allowed[n])
    bad = [x for x in a if not any(lo < x and (hi is None or x <= hi) for lo, hi in allowed[n])] \
        if ok != len(a) else []
    for x in bad:
        if n in added_at and x <= added_at[n]:
            why = "before its addition"
        else:
            k = max(bisect.bisect_left([m[0] for m in marks[n]], x) - 1, 0)
            if k > 0 and x <= marks[n][k][1]:
                why = "during a change of it"  # dispatched with the old or the new state
            else:
                why = "after its removal" if marks[n][k][2] == "removed" else "while " + marks[n][k][2]
        viol[why] = viol.get(why, 0) + 1
    if bad:
        examples.append("%s (%s): %d of %d frames outside %s (states %s); first %s" % (
            n, mac, len(bad), len(a), allowed[n], marks[n][:6], bad[:5]))
for k, v in viol.items():
    check(v == 0, "%d frames %s" % (v, k))

# 3. the end state: the model, and per-backend counters equal to the capture's counts.
fin, mod = E["final"], E["model"]
check(sorted(fin) == sorted(mod), "backends %s, expected %s" % (sorted(fin), sorted(mod)))
for n in set(fin) & set(mod):
    check((fin[n]["weight"], fin[n]["state"], fin[n]["mac"]) == (mod[n]["weight"], mod[n]["state"], mod[n]["mac"]),
          "%s is %s, expected %s" % (n, fin[n], mod[n]))
finals = {}
for line in log.split("\n"):
    mm = re.match(r"^  (b\d+)\s+\S+\s+(\d+)\s", line)
    if mm:
        finals[mm.group(1)] = int(mm.group(2))
check(sorted(finals) == sorted(mod), "final table lists %s" % sorted(finals))
for n, p in finals.items():
    got = len(idx.get(mac_of.get(n, ""), ()))
    check(p == got, "%s counted %d packets, the capture holds %d for it" % (n, p, got))

ev = E["events"]
print("test_hitless: %d changes applied (%s) in %.1f s; generation %s" % (
    len(ev), ", ".join("%s %d" % (k[8:], v) for k, v in E["counts"].items()), E["seconds"],
    ev[-1]["generation"] if ev else "?"))
print("test_hitless: %d frames received, %d in the capture (%d replayed, %d ARP/ND), "
      "lost %d, foreign %d, TX refused %d" % (rx, C["frames"], C["matched"], C["control"],
                                              C["lost"], C["foreign"], refused))
print("test_hitless: %d backends used, %d removed; frames where they may not go: %d%s%s" % (
    len(mac_of), len(removed_at), sum(viol.values()),
    "".join(" (%d %s)" % (v, k) for k, v in viol.items()),
    "; dialog affinity: drained backends keep their dialogs" if dialogs else ""))
print("test_hitless: %.1f s in all" % (time.time() - start))
for x in C["first_problems"] + examples[:10]:
    print("  " + x, file=sys.stderr)
for x in fails:
    print("FAIL: " + x, file=sys.stderr)
sys.exit(1 if fails else 0)
PY
echo "test_hitless: ok"
