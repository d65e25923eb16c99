#!/usr/bin/python3
"""virtd_attack.py MODE SOCKET ...: the hostile client of issue 23, run
as nobody against kvmmu-virtd's read-only socket by
test_virtd_attack.sh.  It speaks libvirt's RPC protocol by hand (no
library would misbehave like this) and prints one line of results.

  conns SOCKET MAX            open read-only connections (each answered
                              CONNECT_OPEN) until MAX, or 20 refusals in
                              a row; print "held N refused M"; hold them
                              until killed
  flood SOCKET SECONDS NAME   one connection pipelines DOMAIN_GET_XML_DESC
                              of NAME for SECONDS, never reading a reply;
                              print "sent N calls, closed after S s" (or
                              "open")
  loris SOCKET WAIT           send 10 bytes of a 40-byte packet, then
                              nothing; print "closed after S s" when the
                              daemon hangs up, or "open after WAIT s"
  create SOCKET NAME...       (root, the read-write socket) pipelines a
                              DOMAIN_CREATE of each NAME in one write,
                              then prints each reply's status in order
"""
import signal
import socket
import struct
import sys
import time

REMOTE = 0x20008086
PROC_OPEN = 1
PROC_GET_XML_DESC = 14


def packet(proc, body=b"", serial=1):
    pkt = struct.pack(">IIIIII", REMOTE, 1, proc, 0, serial, 0) + body
    return struct.pack(">I", len(pkt) + 4) + pkt


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


# CONNECT_OPEN: name (a null remote_string), flags 1 (VIR_CONNECT_RO).
OPEN = packet(PROC_OPEN, struct.pack(">II", 0, 1))
OPEN_RW = packet(PROC_OPEN, struct.pack(">II", 0, 0))
PROC_CREATE = 9


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def opened(path, open_packet=OPEN):
    """A connection whose CONNECT_OPEN was answered, or None (refused)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(open_packet)
        head = recv_exact(s, 4)
        if head is not None:
            (n,) = struct.unpack(">I", head)
            if recv_exact(s, n - 4) is not None:
                return s
    except OSError:
        pass
    s.close()
    return None


def conns(path, most):
    held, refused, in_row = [], 0, 0
    while len(held) < most and in_row < 20:
        s = opened(path)
        if s is None:
            refused += 1
            in_row += 1
        else:
            held.append(s)
            in_row = 0
    print(f"held {len(held)} refused {refused}", flush=True)
    signal.pause()  # hold them until the test kills us


def flood(path, seconds, name):
    s = opened(path)
    if s is None:
        print("refused")
        return
    dom = xdr_string(name) + b"\0" * 16 + struct.pack(">i", -1)
    call = packet(PROC_GET_XML_DESC, dom + struct.pack(">I", 0), serial=2)
    burst = call * 64
    s.settimeout(0.2)
    sent, t0, closed = 0, time.monotonic(), None
    while time.monotonic() - t0 < seconds:
        try:
            n = s.send(burst)
        except socket.timeout:
            continue  # the daemon stopped reading: what it should do
        except OSError:
            closed = time.monotonic() - t0
            break
        sent += n
    print(f"sent {sent // len(call)} calls, " +
          (f"closed after {closed:.1f} s" if closed is not None else "open"),
          flush=True)


def loris(path, wait):
    s = opened(path)
    if s is None:
        print("refused")
        return
    part = packet(PROC_GET_XML_DESC, b"\0" * 12)[:10]
    s.sendall(part)
    t0 = time.monotonic()
    s.settimeout(wait)
    try:
        r = s.recv(1)
    except socket.timeout:
        print(f"open after {wait} s")
        return
    except OSError:
        r = b""
    print(f"closed after {time.monotonic() - t0:.1f} s" if r == b""
          else "answered a partial packet?")


def create(path, names):
    s = opened(path, OPEN_RW)
    if s is None:
        print("refused")
        return
    s.settimeout(60)
    calls = b""
    for i, name in enumerate(names):
        dom = xdr_string(name) + b"\0" * 16 + struct.pack(">i", -1)
        calls += packet(PROC_CREATE, dom, serial=10 + i)
    s.sendall(calls)
    out = []
    for _ in names:
        head = recv_exact(s, 4)
        pkt = recv_exact(s, struct.unpack(">I", head)[0] - 4) if head else None
        if pkt is None:
            out.append("closed")
            break
        _, _, _, _, serial, status = struct.unpack(">IIIIII", pkt[:24])
        out.append(f"{serial}:{'ok' if status == 0 else 'error'}")
    print(" ".join(out), flush=True)


def main():
    mode, path = sys.argv[1:3]
    if mode == "conns":
        conns(path, int(sys.argv[3]))
    elif mode == "flood":
        flood(path, float(sys.argv[3]), sys.argv[4])
    elif mode == "loris":
        loris(path, float(sys.argv[3]))
    elif mode == "create":
        create(path, sys.argv[3:])
    else:
        sys.exit(f"virtd_attack.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
