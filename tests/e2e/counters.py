#!/usr/bin/env python3
"""Check that siphon counted the malformed traffic inject.py sent, by reason.

usage: counters.py INJECT.json SIPHON.log

INJECT.json is what inject.py wrote: {"expect": {"reason": count, ...}}.
SIPHON.log is everything the daemon printed (its periodic stats lines and the
final ones it prints on SIGINT).

The daemon's output format is not fixed yet, so reading it is kept to one
function, read_counters(), which assumes only this: each counter appears as
its verdict counter name (pkt_verdict_name() / sip_verdict_name(), e.g.
"bad_udp_length", "no_call_id"), possibly with a prefix ending in "." or "_"
("pkt.truncated", "drop_no_call_id") and possibly quoted, followed by "=",
":" or white space and a decimal count: `bad_udp_length=20`,
`"sip.no_call_id": 20`, `no_call_id 20`. Counters are cumulative, so the last
value printed under each name wins; values under different prefixes with the
same reason (pkt.truncated and sip.truncated) are added up. If the daemon
prints per-interval deltas instead, change read_counters() to sum them.

A reason passes when its counter is at least what was sent: other traffic on
the segment may add to some counters, but nothing may be lost.
"""
import json
import re
import sys


def read_counters(text, reasons):
    """{reason: total} from the daemon's output; reasons never printed are absent."""
    out = {}
    for r in reasons:
        pat = re.compile(r'(?<![\w.])((?:[\w.]*[._])?' + re.escape(r) + r')"?\s*[=:\s]\s*(\d+)\b')
        last = {}
        for m in pat.finditer(text):
            last[m.group(1)] = int(m.group(2))  # last value per full name
        if last:
            out[r] = sum(last.values())
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        expect = json.load(f)["expect"]
    with open(sys.argv[2], errors="replace") as f:
        text = f.read()
    got = read_counters(text, expect)
    bad = 0
    for reason, want in sorted(expect.items()):
        have = got.get(reason)
        ok = have is not None and have >= want
        bad += not ok
        print(f"counter {reason}: sent {want}, siphon counted {'-' if have is None else have}"
              f" {'ok' if ok else 'MISSING' if have is None else 'TOO LOW'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
