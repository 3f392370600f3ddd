#!/usr/bin/env python3
"""Read sipp's logs for run.sh.

  traces.py uac-stats UAC.csv
      Prints "successful=N failed=M" from the last row of the UAC's -trace_stat
      file (cumulative counters).

  traces.py dispatch --calls N (--tolerance T | --only NAME) [--strays]
                     NAME=MSGLOG[,ERRLOG] ...
      Checks the dispatch from what each backend's UAS received, as logged by
      sipp -trace_msg (siphon's own counters are not consulted):
        - every received message carries a Call-ID the UAC generated
          ("e2e-<n>@siphon") and every one of the N Call-IDs arrived;
        - each Call-ID arrived at exactly one backend, with its INVITE, ACK
          and BYE all there (retransmissions allowed, counted);
        - shares: each backend holds N/k calls +- T (relative), or with
          --only NAME all calls are on NAME;
        - with --strays, no backend's sipp error log shows a discarded
          message (no Call-ID, not SIP): malformed traffic stayed in siphon.
      Prints a summary; exits 1 when a check fails.
"""
import argparse
import collections
import csv
import os
import re
import sys

SEP = re.compile(r"^-{20,} \d{4}-\d\d-\d\d .*$", re.M)
CALL_ID = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
OURS = re.compile(r"^e2e-(\d+)@siphon$")


def received(path):
    """Yield (first line, Call-ID or None) of every message the UAS received."""
    with open(path, errors="replace") as f:
        text = f.read()
    for block in SEP.split(text):
        head, _, msg = block.lstrip("\n").partition("\n")
        if "message received" not in head:
            continue
        msg = msg.lstrip("\r\n")
        first = msg.split("\n", 1)[0].strip()
        m = CALL_ID.search(msg.split("\n\n", 1)[0].split("\r\n\r\n", 1)[0])
        yield first, (m.group(1) if m else None)


def uac_stats(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        print("successful=? failed=? (no statistics rows)")
        return 1
    col = {name: i for i, name in enumerate(rows[0])}
    last = rows[-1]
    print(f"successful={last[col['SuccessfulCall(C)']]} failed={last[col['FailedCall(C)']]}")
    return 0


def dispatch(a):
    problems = []
    where = collections.defaultdict(set)  # Call-ID -> backends
    methods = collections.defaultdict(collections.Counter)  # Call-ID -> method -> count
    per_backend = {}
    foreign = collections.Counter()
    names = []
    for spec in a.backends:
        name, _, files = spec.partition("=")
        msglog, _, errlog = files.partition(",")
        names.append(name)
        n = 0
        for first, cid in received(msglog):
            n += 1
            if cid is None or not OURS.match(cid):
                foreign[name] += 1
                continue
            where[cid].add(name)
            methods[cid][first.split(" ", 1)[0]] += 1
        per_backend[name] = n
        if a.strays and errlog and os.path.exists(errlog):  # sipp writes it on the first error
            with open(errlog, errors="replace") as f:
                strays = f.read().count("discarded")
            if strays:
                problems.append(f"{name}: sipp discarded {strays} messages (no Call-ID / not SIP)")

    if foreign:
        problems.append(f"messages without a UAC Call-ID: {dict(foreign)}")
    missing = a.calls - len(where)
    if missing:
        problems.append(f"{missing} of {a.calls} Call-IDs never reached a backend")
    extra = [c for c in where if int(OURS.match(c).group(1)) > a.calls]
    if extra:
        problems.append(f"{len(extra)} unknown Call-IDs, e.g. {extra[0]}")

    split = {c: sorted(b) for c, b in where.items() if len(b) > 1}
    if split:
        c = sorted(split)[0]
        problems.append(f"{len(split)} calls reached several backends, e.g. {c} at {split[c]}")
    incomplete = collections.Counter()
    retrans = 0
    for cid, m in methods.items():
        for meth in ("INVITE", "ACK", "BYE"):
            if m[meth] == 0:
                incomplete[meth] += 1
            retrans += max(0, m[meth] - 1)
    if incomplete:
        problems.append(f"calls missing a request at their backend: {dict(incomplete)}")

    calls = collections.Counter()
    for cid, b in where.items():
        if len(b) == 1:
            calls[next(iter(b))] += 1
    total = sum(calls.values())
    shares = ", ".join(f"{n}={calls[n]} ({100.0 * calls[n] / max(total, 1):.1f}%)" for n in names)
    print(f"dispatch: {len(where)} Call-IDs; calls per backend: {shares}; "
          f"messages received: {per_backend}; request retransmissions: {retrans}")
    if a.only:
        if calls[a.only] != total:
            problems.append(f"calls outside {a.only}: {dict(calls)}")
    else:
        fair = total / len(names)
        lo, hi = fair * (1 - a.tolerance), fair * (1 + a.tolerance)
        for n in names:
            if not lo <= calls[n] <= hi:
                problems.append(f"{n} holds {calls[n]} calls, outside {lo:.0f}..{hi:.0f} "
                                f"(equal share {fair:.0f} +- {a.tolerance:.0%})")
    for p in problems:
        print("dispatch:", p)
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("uac-stats")
    s.add_argument("csv")
    d = sub.add_parser("dispatch")
    d.add_argument("--calls", type=int, required=True)
    d.add_argument("--tolerance", type=float, default=0.10)
    d.add_argument("--only")
    d.add_argument("--strays", action="store_true")
    d.add_argument("backends", nargs="+", metavar="NAME=MSGLOG[,ERRLOG]")
    a = ap.parse_args()
    return uac_stats(a.csv) if a.cmd == "uac-stats" else dispatch(a)


if __name__ == "__main__":
    sys.exit(main())
