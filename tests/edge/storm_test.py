#!/usr/bin/env python3
"""storm_test.py EDGE_RUN [--sizing N] - the edge's storm control and shared session tickets
(issue 9), over loopback, run by test_edge_storm.sh in a network namespace of its own. Python's
ssl and asyncio play the phones (edge_test.py's helpers), a UDP socket the registrar.
Covers: handshakes_per_sec hit by a burst of TLS clients that all complete (queued in the
backlog, not refused), max_conns hit and recovered, handshakes_per_sec_per_ip hit by one
source while another is served, recovered once it slows down; registers_per_sec answered
503 + Retry-After on a connection that stays; a session ticket from instance A resumed on
instance B sharing its ticket_keys file, not on C with another, and key rotation by reload.
Each check prints one line; exit 1 on any failure. --sizing N measures instead: N idle TLS
connections, the arena's allocated and the process's RSS per connection, and its CPU time
over 30 s idle (docs/edge.md#sizing)."""
import asyncio
import os
import random
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_test as et  # noqa: E402  (its helpers; it reads EDGE_RUN from argv as we do)
from edge_test import check, gen_cert, client_ctx, stats, headers, Reader  # noqa: E402

EDGE_RUN = sys.argv[1]
HOST = "127.0.0.1"
REG_UDP = et.REG_UDP


def write_conf(tmp, name, tls, tcp, udp, ec, extra):
    conf = f"{tmp}/{name}.conf"
    with open(conf, "w") as f:
        f.write(f"""hash_key = "edge-test-hash-key-0123";
groups = ( {{ name = "reg"; backends = ( {{ name = "r1"; address = "{HOST}"; port = {REG_UDP}; }} ); }} );
edge = {{
    tls = [ "{HOST}:{tls}" ];
    tcp = [ "{HOST}:{tcp}" ];
    address = "{HOST}:{udp}";
    group = "reg";
    flow_key = "edge-test-flow-key-0123456789";
    certs = [ "{ec[0]}" ];
    keys = [ "{ec[1]}" ];
{extra}
}};
""")
    return conf


def start(conf):
    proc = subprocess.Popen([EDGE_RUN, conf], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    check(line == "ready", f"edge_run {os.path.basename(conf)} starts")
    return proc


def stop(proc, what):
    proc.send_signal(signal.SIGTERM)
    try:
        check(proc.wait(timeout=10) == 0, f"{what}: edge_run stops cleanly")
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, f"{what}: edge_run stops")


def served(sock, timeout=3):
    """True when the edge answers a keep-alive ping on sock; False when it closed it."""
    try:
        sock.settimeout(timeout)
        sock.sendall(b"\r\n\r\n")
        return sock.recv(2) == b"\r\n"
    except (ConnectionError, OSError):
        return False


def tcp_from(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect((HOST, port))
    return s


def wait_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


async def tls_clients(port, n, timeout):
    """n TLS clients at once; each pings once. Returns ((reader, writer) pairs kept open,
    failures)."""
    ctx = client_ctx()

    async def one():
        r, w = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, ssl=ctx, server_hostname="edge.test"), timeout)
        w.write(b"\r\n\r\n")
        await w.drain()
        if await asyncio.wait_for(r.readexactly(2), timeout) != b"\r\n":
            raise ConnectionError("no pong")
        return r, w

    res = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    return [w for w in res if not isinstance(w, BaseException)], \
        [w for w in res if isinstance(w, BaseException)]


def phase_rate(tmp, ec):
    """handshakes_per_sec, then max_conns, each hit and recovered."""
    conf = write_conf(tmp, "rate", 5161, 5160, 5170, ec,
                      "    handshakes_per_sec = 20;\n    max_conns = 60;\n    backlog = 256;")
    proc = start(conf)
    try:
        # 50 TLS clients at once, 2.5 s of budget: every one is served, late ones wait in
        # the backlog (accepting paused), none is refused.
        async def storm():
            ws, bad = await tls_clients(5161, 50, 30)
            storm_checks_of(proc)(ws, bad)
            for _, w in ws:
                w.transport.abort()
            await asyncio.sleep(0.1)
        asyncio.run(storm())
        st = et.wait_open(proc, 0, timeout=10)
        check(st["conns_open"] == 0, f"storm over: every connection closed ({st['conns_open']})")
        c = client_ctx().wrap_socket(socket.create_connection((HOST, 5161), timeout=5),
                                     server_hostname="edge.test")
        check(served(c), "recovered: a new TLS client is served after the storm")
        c.close()
    finally:
        stop(proc, "rate")


def storm_checks_of(proc):
    def storm_checks(ws, bad):
        st = stats(proc)
        check(len(ws) == 50 and not bad,
              f"handshakes_per_sec: 50 clients at once all handshake ({len(bad)} failed: "
              f"{bad[:1]})")
        check(st["accept_paused"] >= 1,
              f"handshakes_per_sec: accepting paused, counted ({st['accept_paused']} times)")
        check(st["handshakes_ok"] == 50 and st["refused_total"] == 0 and
              st["closed_handshake"] == 0,
              f"handshakes_per_sec: queued, not refused: {st['handshakes_ok']} ok, "
              f"{st['refused_total']} refused, {st['closed_handshake']} failed")
        # max_conns = 60 with 50 open: of 15 more, 10 are served and 5 refused at once.
        more = [tcp_from(HOST, 5160) for _ in range(15)]
        ok = [served(s) for s in more]
        st = stats(proc)
        check(ok.count(True) == 10 and ok.count(False) == 5 and st["refused_total"] == 5,
              f"max_conns: 10 of 15 served, 5 refused (counted {st['refused_total']})")
        for s in more:
            s.close()
    return storm_checks


def phase_source_and_register(tmp, ec, reg):
    """handshakes_per_sec_per_ip, and registers_per_sec's 503 + Retry-After."""
    conf = write_conf(tmp, "src", 5161, 5160, 5170, ec,
                      "    handshakes_per_sec_per_ip = 3;\n    registers_per_sec = 4;\n"
                      "    retry_after_s = 7;")
    proc = start(conf)
    try:
        # 30 connections from 127.0.0.2 as fast as it can: 10 s of its budget.
        noisy = [tcp_from("127.0.0.2", 5160) for _ in range(30)]
        ok = [served(s) for s in noisy]
        other = tcp_from("127.0.0.3", 5160)
        st = stats(proc)
        check(ok.count(True) >= 3 and ok.count(False) >= 1 and
              st["refused_hs_per_ip"] == ok.count(False),
              f"handshakes_per_sec_per_ip: {ok.count(True)} served, {ok.count(False)} refused, "
              f"counted {st['refused_hs_per_ip']}")
        check(served(other), "handshakes_per_sec_per_ip: another source is served meanwhile")
        for s in noisy:
            s.close()
        other.close()

        def one_more():
            s = tcp_from("127.0.0.2", 5160)
            r = served(s)
            s.close()
            return r
        check(wait_until(one_more, 5), "handshakes_per_sec_per_ip: the source is served again "
                                       "once it slows down")

        # registers_per_sec = 4: ten REGISTERs in one write, four reach the registrar, the
        # rest answered 503 with Retry-After and a To tag; the connection stays.
        reg.drain()
        c = client_ctx().wrap_socket(socket.create_connection((HOST, 5161), timeout=5),
                                     server_hostname="edge.test")
        c.sendall("".join(et.register(f"s{i}") for i in range(10)).encode())
        rd = Reader(c)
        got = []
        try:
            while len(got) < 10:
                got.append(rd.msg(timeout=1))
        except (socket.timeout, TimeoutError):
            pass
        n503 = [m for m in got if m.startswith("SIP/2.0 503 ")]
        passed = len(reg.drain_calls())  # the edge sends unanswered ones again
        st = stats(proc)
        check(passed >= 4 and len(n503) >= 1 and passed + len(n503) == 10 and
              st["register_503"] == len(n503),
              f"registers_per_sec: {passed} reached the registrar, {len(n503)} answered 503 "
              f"(counted {st['register_503']})")
        m = n503[0] if n503 else ""
        ras = sorted({int(x) for r in n503 for x in headers(r, "Retry-After")})
        check(ras != [] and 7 <= ras[0] and ras[-1] <= 10,
              f"registers_per_sec: Retry-After within 7..10 (7 and up to half again): {ras}")
        check(len(headers(m, "Retry-After")) == 1 and "tag=" in (headers(m, "To") or [""])[0] and
              headers(m, "Via") and headers(m, "Via")[0].startswith("SIP/2.0/TLS 10.9.9.9") and
              headers(m, "CSeq") and headers(m, "Call-ID"),
              "registers_per_sec: the 503 has one Retry-After, a To tag and the request's "
              "Via, Call-ID and CSeq")
        check(served(c), "registers_per_sec: the connection stays open")

        def reg_passes():
            c.sendall(et.register("late").encode())
            try:
                r = rd.msg(timeout=0.3)
                return not r.startswith("SIP/2.0 503")
            except (socket.timeout, TimeoutError):
                return reg.drain() >= 1  # relayed: the registrar (silent here) got it
        check(wait_until(reg_passes, 5), "registers_per_sec: REGISTERs pass again after the burst")
        c.close()
    finally:
        stop(proc, "source")


def phase_tickets(tmp, ec):
    """A ticket of instance A resumes on B (same ticket_keys), not on C (another file);
    rotation by reload keeps old tickets until their key leaves the file."""
    def keyfile(name, *keys):
        path = f"{tmp}/{name}"
        with open(path, "w") as f:
            f.write("# test keys\n" + "".join(k + "\n" for k in keys))
        return path

    k1, k2, k3 = (os.urandom(80).hex() for _ in range(3))
    shared, other = keyfile("tk-shared", k1), keyfile("tk-other", k3)
    ports = {"A": 5261, "B": 5361, "C": 5461}
    procs = {}
    try:
        for name, port in ports.items():
            conf = write_conf(tmp, f"tk{name}", port, port - 1, port + 9, ec,
                              f'    ticket_keys = "{other if name == "C" else shared}";')
            procs[name] = start(conf)
        ctx = client_ctx()

        def session_of(port, ctx=ctx):
            s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=5),
                                server_hostname="edge.test")
            served(s)  # TLS 1.3 tickets come after the handshake: read something first
            sess = s.session
            s.close()
            return sess

        def resumes(port, sess, ctx=ctx):
            s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=5),
                                server_hostname="edge.test", session=sess)
            ok = s.session_reused
            served(s)
            s.close()
            return ok

        sess = session_of(ports["A"])
        check(resumes(ports["B"], sess), "ticket_keys: a session from instance A resumes on B")
        check(not resumes(ports["C"], sess),
              "ticket_keys: it does not on C, whose file holds another key")
        ctx12 = client_ctx(maxv=ssl.TLSVersion.TLSv1_2)
        check(resumes(ports["B"], session_of(ports["A"], ctx12), ctx12),
              "ticket_keys: a TLS 1.2 session from A resumes on B too")
        st = stats(procs["B"])
        check(st["handshakes_resumed"] == 2, f"ticket_keys: B counts both resumed "
                                             f"({st['handshakes_resumed']})")
        # Rotation on B: a new key first, the old one second; A's ticket still decrypts.
        keyfile("tk-shared", k2, k1)
        out = et.reload(procs["B"])
        check(out == "reload ok", "ticket_keys: rotated by reload: " + out)
        check(resumes(ports["B"], sess), "ticket_keys: after rotation an old ticket still resumes")
        keyfile("tk-shared", k2)
        check(et.reload(procs["B"]) == "reload ok", "ticket_keys: the old key dropped")
        check(not resumes(ports["B"], sess), "ticket_keys: then the old ticket no longer resumes")
        check(resumes(ports["B"], session_of(ports["B"])), "ticket_keys: a new one does")
        # Files refused, each naming what is wrong; the keys in use stay (a ticket
        # issued before still resumes).
        sess_b = session_of(ports["B"])
        for label, text, want in [
                ("a line not a key", "not-a-key\n", "line 1: a key is 160 hex digits"),
                ("a key one digit short", k1[:-1] + "\n", "line 1: a key is 160 hex digits"),
                ("a key with a non-hex digit", "g" + k1[1:] + "\n", "line 1: a key is"),
                ("two keys of one name", k1 + "\n" + k1[:32] + k2[32:] + "\n",
                 "line 2: its name"),
                ("nine keys", "".join(os.urandom(80).hex() + "\n" for _ in range(9)),
                 "line 9: more than 8 keys"),
                ("no key", "# nothing\n\n", "no key"),
                ("a missing file", None, "No such file")]:
            if text is None:
                os.unlink(shared)
            else:
                with open(shared, "w") as f:
                    f.write(text)
            out = et.reload(procs["B"])
            check(out.startswith("reload failed:") and "ticket_keys" in out and want in out,
                  f"ticket_keys: {label} refuses the reload: {out}")
        check(resumes(ports["B"], sess_b), "ticket_keys: the keys in use stay: a ticket from "
                                           "before the refusals resumes")
    finally:
        for name, p in procs.items():
            stop(p, f"tickets {name}")


def sizing(tmp, ec, n):
    """N idle TLS 1.3 connections: what each costs in the arena and in RSS, and CPU idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 1024), hard))
    conf = write_conf(tmp, "size", 5161, 5160, 5170, ec, f"    max_conns = {n + 100};\n    max_conns_per_ip = 65535;")
    proc = subprocess.Popen(["prlimit", f"--nofile={n + 1024}", EDGE_RUN, conf],
                            stdout=subprocess.PIPE, text=True)
    check(proc.stdout.readline().strip() == "ready", "edge_run starts")

    def rss():
        with open(f"/proc/{proc.pid}/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))

    def cpu():
        with open(f"/proc/{proc.pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

    try:
        time.sleep(0.5)
        st0, r0 = stats(proc), rss()
        a0, s0 = st0["mem_allocated"], st0["mem_resident"]

        async def hold():
            ws, hc0 = [], cpu()
            for i in range(0, n, 500):  # in waves: the client is one Python thread
                got, bad = await tls_clients(5161, min(500, n - i), 60)
                ws += got
                check(not bad, f"sizing: wave {i // 500}: {len(bad)} failed")
            hcpu = cpu() - hc0
            await asyncio.sleep(1)
            st = stats(proc)
            a1, r1, c0, t0 = st["mem_allocated"], rss(), cpu(), time.monotonic()

            async def keepalive(r, w):  # one CRLF ping in the 30 s, as a phone sends
                await asyncio.sleep(random.uniform(0, 29))
                w.write(b"\r\n\r\n")
                await w.drain()
                return await asyncio.wait_for(r.readexactly(2), 10) == b"\r\n"
            pongs = await asyncio.gather(*(keepalive(r, w) for r, w in ws),
                                         return_exceptions=True)
            await asyncio.sleep(max(0, 30 - (time.monotonic() - t0)))
            c1, t1 = cpu(), time.monotonic()
            st2, r2 = stats(proc), rss()
            check(pongs.count(True) == len(ws), f"sizing: {pongs.count(True)} keep-alives "
                                                f"answered of {len(ws)}")
            print(f"sizing: N={len(ws)} open={st['conns_open']} "
                  f"allocated/N={(a1 - a0) / len(ws):.0f} B rss/N={(r1 - r0) / len(ws):.0f} B "
                  f"(after 30 s idle: allocated/N={(st2['mem_allocated'] - a0) / len(ws):.0f} B "
                  f"arena resident/N={(st2['mem_resident'] - s0) / len(ws):.0f} B "
                  f"rss/N={(r2 - r0) / len(ws):.0f} B) "
                  f"cpu={100 * (c1 - c0) / (t1 - t0):.3f} % of a core "
                  f"(keep-alives every 30 s) = {1e6 * (c1 - c0) / (t1 - t0) / len(ws):.3f} "
                  f"us/s per connection; handshakes: {1e3 * hcpu / max(1, st['handshakes_ok']):.2f} "
                  f"ms of edge CPU each", flush=True)
            for _, w in ws:
                w.transport.abort()
        asyncio.run(hold())
    finally:
        stop(proc, "sizing")


def main():
    tmp = tempfile.mkdtemp(prefix="edge-storm-")
    try:
        ec = gen_cert(tmp, "ec", "edge.test", "ec")
        if len(sys.argv) == 4 and sys.argv[2] == "--sizing":
            sizing(tmp, ec, int(sys.argv[3]))
        else:
            reg = et.Registrar()
            phase_rate(tmp, ec)
            phase_source_and_register(tmp, ec, reg)
            phase_tickets(tmp, ec)
    except Exception as e:  # a failure to talk is a failed check, never a hang
        check(False, f"exception: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"edge storm: {len(et.failures)} failed", flush=True)
    return 1 if et.failures else 0


if __name__ == "__main__":
    sys.exit(main())
