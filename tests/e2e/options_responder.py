#!/usr/bin/env python3
"""A SIP OPTIONS responder for health-check tests (standard library only).

  options_responder.py --addr ADDR --port PORT [--code 200] [--seconds N]

Binds UDP ADDR:PORT and answers every OPTIONS request with CODE (RFC 3261
section 8.2.6: Via, From, To, Call-ID and CSeq copied, a To tag added), sent to
the Via's rport/received rules simplified: to the datagram's source address
and port. Anything else is ignored. Exits after N seconds (default 600) or on
SIGTERM/SIGINT. It stands in for a backend proxy's answer to siphon's health
probes: tests/test_control.sh runs it on loopback, tests/e2e/health.sh next to
each backend's sipp UAS (which is bound to the VIP and never sees the probes).
"""
import argparse
import re
import signal
import socket
import sys
import time

REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 486: "Busy Here",
           500: "Server Internal Error", 503: "Service Unavailable"}
COPIED = re.compile(r"^(via|v|from|f|to|t|call-id|i|cseq)\s*:", re.I)


def answer(msg, code):
    head = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    if not lines or not lines[0].startswith("OPTIONS "):
        return None
    out = [f"SIP/2.0 {code} {REASONS.get(code, 'Status')}"]
    for line in lines[1:]:
        if COPIED.match(line):
            name = line.split(":", 1)[0].strip().lower()
            if name in ("to", "t") and ";tag=" not in line:
                line += ";tag=resp1"
            out.append(line)
    out += ["Server: options_responder", "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--code", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=600)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.settimeout(0.2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.monotonic() + a.seconds
    answered = 0
    try:
        while time.monotonic() < end:
            try:
                msg, peer = s.recvfrom(65536)
            except socket.timeout:
                continue
            reply = answer(msg, a.code)
            if reply is not None:
                s.sendto(reply, peer)
                answered += 1
    except KeyboardInterrupt:
        pass
    finally:
        print(f"options_responder {a.addr}:{a.port}: answered {answered} OPTIONS with {a.code}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
