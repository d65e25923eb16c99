#!/usr/bin/python3
"""virtd_client.py URI SOCKET NAME: Debian's python3-libvirt against
kvmmu-virtd (the second, independent client of libvirt.virtd), then raw
packets a library never sends: an unknown program, malformed arguments,
a keepalive PING, lengths under the header and over the bound.  NAME is
a defined domain that is shut off.  Exits 1 if any check failed."""
import socket
import struct
import sys

import libvirt

REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
failed = 0


def check(what, ok):
    global failed
    if not ok:
        failed += 1
        print(f"FAIL virtd_client: {what}", file=sys.stderr)


def code_of(fn):
    try:
        fn()
    except libvirt.libvirtError as e:
        return e.get_error_code()
    return None


def main():
    uri, path, name = sys.argv[1:4]
    conn = libvirt.open(uri)
    names = [d.name() for d in conn.listAllDomains()]
    check(f"listAllDomains has {name}: {names}", name in names)
    dom = conn.lookupByName(name)
    check("XMLDesc keeps kvmmu's metadata",
          "urn:kvmmu:domain:1" in dom.XMLDesc())
    check("shut off at first", not dom.isActive() and dom.isPersistent())
    dom.create()
    dom = conn.lookupByName(name)
    check("create: active, with an id", dom.isActive() and dom.ID() > 0)
    check("state: running", dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING)
    check("create again: VIR_ERR_OPERATION_INVALID",
          code_of(dom.create) == libvirt.VIR_ERR_OPERATION_INVALID)
    dom.destroy()
    check("destroy: inactive", not dom.isActive())
    check("an unknown domain: VIR_ERR_NO_DOMAIN",
          code_of(lambda: conn.lookupByName("nosuch"))
          == libvirt.VIR_ERR_NO_DOMAIN)
    check("an unsupported call (nodeinfo): VIR_ERR_NO_SUPPORT",
          code_of(conn.getInfo) == libvirt.VIR_ERR_NO_SUPPORT)
    check("the connection still serves",
          name in [d.name() for d in conn.listAllDomains()])
    conn.close()
    raw_packets(path)
    return 1 if failed else 0


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def send(s, prog, proc, body=b"", mtype=0, serial=1):
    pkt = struct.pack(">IIIIII", prog, 1, proc, mtype, serial, 0) + body
    s.sendall(struct.pack(">I", len(pkt) + 4) + pkt)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def receive(s):
    """(prog, proc, type, status, body), or None when the peer closed."""
    head = recv_exact(s, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    pkt = recv_exact(s, n - 4)
    if pkt is None:
        return None
    prog, _, proc, mtype, _, status = struct.unpack(">IIIIII", pkt[:24])
    return prog, proc, mtype, status, pkt[24:]


def closed(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


def raw_packets(path):
    s = connect(path)
    send(s, 0x12345678, 1)
    r = receive(s)
    check("an unknown program: an error reply", r and r[3] == 1)
    send(s, REMOTE, 60)  # SUPPORTS_FEATURE without its argument
    r = receive(s)
    check("malformed arguments: an error reply", r and r[3] == 1)
    send(s, KEEPALIVE, 1, mtype=2, serial=0)
    r = receive(s)
    check("keepalive PING: a PONG", r and r[0] == KEEPALIVE and r[1] == 2)
    send(s, REMOTE, 66)  # AUTH_LIST: the connection still serves
    r = receive(s)
    check("AUTH_LIST after all that: [AUTH_NONE]",
          r and r[3] == 0 and r[4] == struct.pack(">II", 1, 0))
    s.close()
    s = connect(path)
    s.sendall(struct.pack(">I", 64 << 20) + b"\0" * 24)
    check("a length over the bound closes the connection", closed(s))
    s.close()
    s = connect(path)
    s.sendall(struct.pack(">I", 8) + b"\0" * 4)
    check("a length under the header closes the connection", closed(s))
    s.close()


if __name__ == "__main__":
    sys.exit(main())
