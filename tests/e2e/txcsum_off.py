#!/usr/bin/env python3
"""Turn off TX checksum offload on one interface (what `ethtool -K IF tx off` does).

Why: a UDP socket sending through a veth leaves the UDP checksum to "hardware"
(CHECKSUM_PARTIAL); the kernel never fills it in because the frame stays on the
host. siphon reads such a frame through AF_PACKET and forwards it byte for byte,
so the backend's kernel would then see a wrong checksum and drop the datagram.
A real NIC computes the checksum on the wire; turning offload off on the client
makes the veth behave like that. Uses the SIOCETHTOOL ioctl so the test does
not need the ethtool package.

usage: txcsum_off.py IFACE   (run inside the interface's namespace)
"""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17


def ethtool_value(sock, ifname, cmd, value=0):
    """Issue one ETHTOOL_{G,S}* command carrying a struct ethtool_value."""
    cbuf = ctypes.create_string_buffer(struct.pack("II", cmd, value), 8)
    # struct ifreq (40 bytes): the name, then a pointer to the command buffer.
    ifr = struct.pack("16sQ16x", ifname.encode(), ctypes.addressof(cbuf))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifr)
    return struct.unpack("II", cbuf.raw)[1]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ifname = sys.argv[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ethtool_value(s, ifname, ETHTOOL_STXCSUM, 0)
        if ethtool_value(s, ifname, ETHTOOL_GTXCSUM) != 0:
            sys.exit(f"{ifname}: TX checksum offload still on")


if __name__ == "__main__":
    main()
