#!/usr/bin/env python3
"""Userspace IP-in-IP decapsulator for a backend namespace.

Stands in for a kernel ipip / ip6tnl device on kernels built without them
(CONFIG_NET_IPIP, CONFIG_IPV6_TUNNEL). It receives every datagram of IP
protocol 4 (IPv4-in-IPv4) or 41 (IPv6-in-IPv6) addressed to this namespace
through a raw socket, and writes the inner packet, untouched, into a TUN
device. The kernel then receives the inner packet on that device exactly as
it would from a tunnel device: the VIP on lo accepts it and the UAS answers
the client directly. Holding a raw socket for the protocol also stops the
kernel from answering "protocol unreachable".

usage: decap.py --family 4|6 --tun DEV [--seconds N] [--count-file FILE]
The TUN device must exist (ip tuntap add dev DEV mode tun) and be up.
Exits after --seconds (bounded), writing how many packets it passed on.
"""
import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", type=int, choices=(4, 6), required=True)
    ap.add_argument("--tun", required=True)
    ap.add_argument("--seconds", type=float, default=170.0)
    ap.add_argument("--count-file")
    a = ap.parse_args()

    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH22x", a.tun.encode(), IFF_TUN | IFF_NO_PI))
    if a.family == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)  # IPPROTO_IPIP
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 41)  # IPPROTO_IPV6
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    passed = bad = 0
    deadline = time.monotonic() + a.seconds
    while not stop and time.monotonic() < deadline:
        try:
            r, _, _ = select.select([s], [], [], 0.2)
        except InterruptedError:
            continue
        if not r:
            continue
        pkt = s.recv(65535)
        if a.family == 4:
            # An IPv4 raw socket hands over the outer header too: skip it.
            pkt = pkt[(pkt[0] & 0x0F) * 4:]
        # (An IPv6 raw socket hands over only what follows the outer header.)
        want = 4 if a.family == 4 else 6
        if not pkt or pkt[0] >> 4 != want:
            bad += 1
            continue
        os.write(tun, pkt)
        passed += 1
    if a.count_file:
        with open(a.count_file, "w") as f:
            f.write(f"passed={passed} bad={bad}\n")


if __name__ == "__main__":
    main()
