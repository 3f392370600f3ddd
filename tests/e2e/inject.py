#!/usr/bin/env python3
"""Send malformed traffic at the VIP while the calls run.

Frames are built by hand and sent through an AF_PACKET socket, because the
kernel's own IP stack would fix the very lengths we want wrong (Linux fills in
the IPv4 total length even with IP_HDRINCL). Each kind is sent `--count` times,
interleaved, at `--rate` frames per second, so the whole run is bounded:
count * kinds / rate seconds.

Every kind names the counter siphon is expected to raise for it; the names are
the verdict counter names of include/siphon/pkt.h (pkt_verdict_name()) and
include/siphon/sip.h (sip_verdict_name()). The expectations are written as
JSON {"reason": count, ...} to --expect for counters.py.

usage: inject.py --iface eth0 --dst-mac MAC --src IP --vip IP [--port 5060]
                 [--count 20] [--rate 100] --expect FILE
"""
import argparse
import ipaddress
import json
import random
import socket
import struct
import sys
import time


def csum(data):
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(src, dst, sport, dport, payload, length=None):
    """UDP header + payload; `length` overrides the header's length field.
    The checksum is computed over the real bytes (siphon does not verify it,
    but a correct one keeps the only defect the intended one)."""
    ulen = 8 + len(payload)
    field = ulen if length is None else length
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, ulen)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!I3xB", ulen, 17)
    hdr = struct.pack("!HHHH", sport, dport, field, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, field, c) + payload


def ip(src, dst, l4, length=None):
    """IP header (v4 with a valid checksum, or v6) in front of l4; `length`
    overrides the total length (v4) or payload length (v6) field."""
    if src.version == 4:
        tot = 20 + len(l4) if length is None else length
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 0x1234, 0x4000, 64, 17, 0,
                        src.packed, dst.packed)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return h + l4
    plen = len(l4) if length is None else length
    return struct.pack("!IHBB16s16s", 6 << 28, plen, 17, 64, src.packed, dst.packed) + l4


SIP_NO_CALL_ID = (
    "INVITE sip:e2e@{vip} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP {src}:5999;branch=z9hG4bK-e2e-nocallid-{n}\r\n"
    "From: <sip:inject@{src}>;tag=inj{n}\r\n"
    "To: <sip:e2e@{vip}>\r\n"
    "CSeq: 1 INVITE\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def kinds(family, src, vip, port, rng):
    """(name, expected counter, frame-body builder) for each malformed kind."""
    sport = 5999
    hostfmt = (lambda a: f"[{a}]") if family == 6 else str
    sip_ok = lambda n: ("OPTIONS sip:e2e@{v} SIP/2.0\r\n\r\n".format(v=hostfmt(vip))).encode()

    def truncated_udp(n):  # UDP length says 100 bytes more than there are
        p = sip_ok(n)
        return ip(src, vip, udp(src, vip, sport, port, p, length=8 + len(p) + 100))

    def ip_length_long(n):  # IP length runs past the end of the frame
        l4 = udp(src, vip, sport, port, sip_ok(n))
        hl = 20 if family == 4 else 0
        return ip(src, vip, l4, length=hl + len(l4) + 200)

    def ip_length_short(n):  # v4: total length < header; v6: payload shorter than UDP header
        l4 = udp(src, vip, sport, port, sip_ok(n))
        return ip(src, vip, l4, length=12 if family == 4 else 4)

    def garbage(n):  # a valid UDP datagram whose payload is no SIP at all
        p = b"\x00\xff" + bytes(rng.randrange(256) for _ in range(rng.randrange(20, 400)))
        return ip(src, vip, udp(src, vip, sport, port, p))

    def no_call_id(n):  # well-formed INVITE, Call-ID missing
        p = SIP_NO_CALL_ID.format(vip=hostfmt(vip), src=hostfmt(src), n=n).encode()
        return ip(src, vip, udp(src, vip, sport, port, p))

    return [
        ("truncated_udp", "bad_udp_length", truncated_udp),
        ("ip_length_long", "truncated", ip_length_long),
        ("ip_length_short", "bad_ip_length" if family == 4 else "bad_udp_length", ip_length_short),
        ("garbage", "bad_start_line", garbage),
        ("no_call_id", "no_call_id", no_call_id),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface")
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=5060)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait first")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--pcap", help="write the frames to this pcap instead of sending them "
                    "(to check them offline: siphonctl scan --summary FILE)")
    a = ap.parse_args()

    src, vip = ipaddress.ip_address(a.src), ipaddress.ip_address(a.vip)
    family = vip.version
    rng = random.Random(5060)  # fixed seed: the same garbage every run
    ks = kinds(family, src, vip, a.port, rng)

    dmac = bytes.fromhex(a.dst_mac.replace(":", ""))
    if a.pcap:
        pcap = open(a.pcap, "wb")
        pcap.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        smac = bytes.fromhex("029900000001")

        def send(frame):
            t = time.time()
            pcap.write(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(frame), len(frame)))
            pcap.write(frame)
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a.iface, 0))
        smac = s.getsockname()[4]
        send = s.send
        time.sleep(a.delay)
    eth = dmac + smac + struct.pack("!H", 0x0800 if family == 4 else 0x86DD)

    sent = {}
    expect = {}
    gap = 1.0 / a.rate
    for n in range(a.count):
        for name, reason, build in ks:
            send(eth + build(n))
            sent[name] = sent.get(name, 0) + 1
            expect[reason] = expect.get(reason, 0) + 1
            if not a.pcap:
                time.sleep(gap)
    with open(a.expect, "w") as f:
        json.dump({"sent": sent, "expect": expect}, f, indent=1)
    print("inject: sent", ", ".join(f"{k}={v}" for k, v in sent.items()))


if __name__ == "__main__":
    sys.exit(main())
