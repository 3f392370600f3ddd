#!/usr/bin/env python3
"""Judge health.sh's run from the UAS traces and the Call-IDs' home backends.

  health_traces.py --calls N --home HOME.json --uac-failed F NAME=MSGLOG ...

HOME.json maps every Call-ID "e2e-<n>@siphon" to the backend siphon's dispatch
gives it with all three backends up (its "home"). NAME is b1, b2, b3 or b2r
(b2's UAS after its restart; it counts as b2). A call is "whole at X" when X's
UAS received its INVITE, ACK and BYE and no other UAS received any of it.

Checks (exit 1 when one fails):
  - every call whose home is not b2 is whole at its home: b2 going down and
    coming back moved no other key, and those calls saw no failure;
  - some calls of b2's keys were whole at b1 or b3 (new calls avoided b2 while
    it was down) and some whole at b2r (it took new calls after its restart);
  - the UAC's failed calls are no more than the calls of b2's keys that are
    not whole anywhere (calls in flight on b2 when it died, or moved back when
    it returned): failures hit b2's keys only.
Prints the counts by category.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from traces import OURS, received  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--uac-failed", type=int, required=True)
    ap.add_argument("backends", nargs="+")
    a = ap.parse_args()
    home = json.load(open(a.home))
    seen = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for spec in a.backends:
        name, _, path = spec.partition("=")
        if not os.path.exists(path):
            continue
        for first, cid in received(path):
            if cid is None or not OURS.match(cid):
                continue
            seen[cid][name][first.split(" ", 1)[0]] += 1

    def whole(cid):
        at = seen.get(cid, {})
        if len(at) != 1:
            return None
        (name, m), = at.items()
        return name if all(m[x] > 0 for x in ("INVITE", "ACK", "BYE")) else None

    problems = []
    cat = collections.Counter()
    for n in range(1, a.calls + 1):
        cid = f"e2e-{n}@siphon"
        h = home.get(cid)
        w = whole(cid)
        if h is None:
            problems.append(f"no home for {cid}")
            continue
        if h != "b2":
            cat[f"{h}-keys whole at {w}"] += 1
            if w != h:
                problems.append(f"{cid} (home {h}) not whole at {h}: {dict((k, dict(v)) for k, v in seen.get(cid, {}).items())}")
        else:
            cat[f"b2-keys whole at {w}" if w else "b2-keys broken"] += 1
    moved = cat["b2-keys whole at b1"] + cat["b2-keys whole at b3"]
    if moved == 0:
        problems.append("no call of b2's keys went to b1/b3 while b2 was down")
    if cat["b2-keys whole at b2r"] == 0:
        problems.append("b2 took no new call after its restart")
    if a.uac_failed > cat["b2-keys broken"]:
        problems.append(f"UAC failed {a.uac_failed} calls, more than the {cat['b2-keys broken']} "
                        "broken calls of b2's keys: a failure hit another backend's calls")
    print("health traces: " + ", ".join(f"{k}={v}" for k, v in sorted(cat.items())))
    for p in problems[:10]:
        print("health traces:", p)
    if len(problems) > 10:
        print(f"health traces: ... {len(problems) - 10} more")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
