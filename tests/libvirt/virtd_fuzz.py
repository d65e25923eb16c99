#!/usr/bin/python3
"""virtd_fuzz.py: libvirt.virtd_fuzz's client, a procedure fuzzer for
kvmmu-virtd.  Standard library only (Debian's /usr/bin/python3).

It speaks libvirt's RPC protocol itself, over both of the daemon's
sockets, to a daemon that test_virtd_fuzz.sh started with a real
mmu-server.  For a bounded time and number of calls it sends calls with
valid headers for the remote program (CONNECT_OPEN first, mostly):
procedure numbers drawn from the ones kvmmu-virtd implements (read from
rpcdefs.h, so new ones are fuzzed too) and from any others; flags drawn
from 0, each single bit, libvirt's known flags and random words;
arguments that are mostly well-formed (a real domain's name, UUID and id,
or an unknown one, random strings, domain XML and its mutations, metadata
fragments, namespaces and keys, event ids, callback ids) and sometimes
truncated, padded or random bytes; a few bad headers, keepalive PINGs,
pipelined bursts, connections closed with calls in flight.

Every reply is read and checked: a reply or error to a call that is in
flight on that connection, with its serial, program and procedure, a body
that decodes exactly as libvirt's client would decode it (remote_error
for errors), sane values (states, booleans, lookups that return what was
asked, no domain listed twice), events only for callbacks registered on
that connection, and no write procedure ever succeeding on a read-only
connection.  A call unanswered for too long is a hang.  Every few calls
the daemon's pid is checked, every few seconds a fresh connection, a
fresh `virsh list` and `mmuctl list` (no VM name or UUID twice) must
answer.  Its own maintenance connection keeps the daemon holding defined
shut-off, running persistent and running transient domains: it
re-defines, starts and makes transient again what the fuzzing destroyed
or undefined, stops surplus VMs, and suspends a VM that ran for a second
(the payloads spin: every running VM takes a CPU) until the fuzzing
resumes it.

Exit 0: no failure.  On a failure the last calls are printed, newest
last, and every packet sent is saved as a replay file (JSON lines, with
which replies each send waited for): `--replay FILE` sends the same
packets to a fresh daemon.  The seed (--seed) makes a run's choices
repeatable; what the daemon answers (timing, ids) can still differ.
Trust: test code, run as root; its input is the daemon's answers.
"""
import argparse
import base64
import collections
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import time
import zlib

TEST = "libvirt.virtd_fuzz"
REMOTE = 0x20008086
KEEPALIVE = 0x6B656570
CALL, REPLY, MESSAGE = 0, 1, 2
OK, ERROR = 0, 1
ERR_RPC = 39
MAX_PACKET = 4 << 20
EV_LIFECYCLE = 318
EV_METADATA = 379
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

# Arguments and return values of the remote program's procedures, as
# libvirt's remote_protocol.x has them (the ones kvmmu-virtd implements
# today; others named in rpcdefs.h get a guess from their name).
ARGS = {
    "CONNECT_OPEN": "open", "CONNECT_CLOSE": "void",
    "CONNECT_GET_TYPE": "void", "CONNECT_GET_VERSION": "void",
    "CONNECT_GET_LIB_VERSION": "void", "CONNECT_GET_HOSTNAME": "void",
    "CONNECT_GET_URI": "void", "CONNECT_IS_SECURE": "void",
    "CONNECT_SUPPORTS_FEATURE": "feature", "AUTH_LIST": "void",
    "NODE_GET_SECURITY_MODEL": "void",
    "CONNECT_REGISTER_CLOSE_CALLBACK": "void",
    "CONNECT_UNREGISTER_CLOSE_CALLBACK": "void",
    "CONNECT_LIST_ALL_DOMAINS": "list_all",
    "DOMAIN_LOOKUP_BY_ID": "id", "DOMAIN_LOOKUP_BY_NAME": "name",
    "DOMAIN_LOOKUP_BY_UUID": "uuid",
    "DOMAIN_GET_INFO": "dom", "DOMAIN_GET_OS_TYPE": "dom",
    "DOMAIN_IS_ACTIVE": "dom", "DOMAIN_IS_PERSISTENT": "dom",
    "DOMAIN_GET_AUTOSTART": "dom",
    "DOMAIN_GET_STATE": "dom_flags", "DOMAIN_GET_XML_DESC": "dom_flags",
    "DOMAIN_HAS_MANAGED_SAVE_IMAGE": "dom_flags",
    "DOMAIN_SNAPSHOT_NUM": "dom_flags", "DOMAIN_GET_MESSAGES": "dom_flags",
    "DOMAIN_GET_METADATA": "get_meta", "DOMAIN_SET_METADATA": "set_meta",
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY": "ev_reg",
    "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY": "ev_dereg",
    "DOMAIN_DEFINE_XML": "xml", "DOMAIN_DEFINE_XML_FLAGS": "xml_flags",
    "DOMAIN_CREATE_XML": "xml_flags",
    "DOMAIN_UNDEFINE": "dom", "DOMAIN_UNDEFINE_FLAGS": "dom_flags",
    "DOMAIN_CREATE": "dom", "DOMAIN_CREATE_WITH_FLAGS": "dom_flags",
    "DOMAIN_DESTROY": "dom", "DOMAIN_DESTROY_FLAGS": "dom_flags",
    "DOMAIN_SHUTDOWN": "dom", "DOMAIN_SHUTDOWN_FLAGS": "dom_flags",
    "DOMAIN_SUSPEND": "dom", "DOMAIN_RESUME": "dom",
}
RETS = {
    "CONNECT_OPEN": "void", "CONNECT_CLOSE": "void",
    "CONNECT_GET_TYPE": "string", "CONNECT_GET_VERSION": "hyper",
    "CONNECT_GET_LIB_VERSION": "hyper", "CONNECT_GET_HOSTNAME": "string",
    "CONNECT_GET_URI": "string", "CONNECT_IS_SECURE": "bool",
    "CONNECT_SUPPORTS_FEATURE": "bool", "AUTH_LIST": "auth_list",
    "NODE_GET_SECURITY_MODEL": "secmodel",
    "CONNECT_REGISTER_CLOSE_CALLBACK": "void",
    "CONNECT_UNREGISTER_CLOSE_CALLBACK": "void",
    "CONNECT_LIST_ALL_DOMAINS": "list_all",
    "DOMAIN_LOOKUP_BY_ID": "dom", "DOMAIN_LOOKUP_BY_NAME": "dom",
    "DOMAIN_LOOKUP_BY_UUID": "dom", "DOMAIN_GET_INFO": "info",
    "DOMAIN_GET_STATE": "state", "DOMAIN_GET_XML_DESC": "string",
    "DOMAIN_GET_OS_TYPE": "string", "DOMAIN_IS_ACTIVE": "bool",
    "DOMAIN_IS_PERSISTENT": "bool", "DOMAIN_GET_AUTOSTART": "bool",
    "DOMAIN_HAS_MANAGED_SAVE_IMAGE": "bool", "DOMAIN_SNAPSHOT_NUM": "int",
    "DOMAIN_GET_MESSAGES": "strings", "DOMAIN_GET_METADATA": "string",
    "DOMAIN_SET_METADATA": "void",
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY": "int",
    "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY": "void",
    "DOMAIN_DEFINE_XML": "dom", "DOMAIN_DEFINE_XML_FLAGS": "dom",
    "DOMAIN_CREATE_XML": "dom",
    "DOMAIN_UNDEFINE": "void", "DOMAIN_UNDEFINE_FLAGS": "void",
    "DOMAIN_CREATE": "void", "DOMAIN_CREATE_WITH_FLAGS": "dom",
    "DOMAIN_DESTROY": "void", "DOMAIN_DESTROY_FLAGS": "void",
    "DOMAIN_SHUTDOWN": "void", "DOMAIN_SHUTDOWN_FLAGS": "void",
    "DOMAIN_SUSPEND": "void", "DOMAIN_RESUME": "void",
}
# libvirt's flags for each (virCheckFlags): what a correct daemon takes.
KNOWN_FLAGS = {
    "CONNECT_OPEN": 0x3, "CONNECT_LIST_ALL_DOMAINS": 0xFFFF,
    "DOMAIN_GET_STATE": 0, "DOMAIN_GET_XML_DESC": 0xF,
    "DOMAIN_HAS_MANAGED_SAVE_IMAGE": 0, "DOMAIN_SNAPSHOT_NUM": 0x7FF,
    "DOMAIN_GET_MESSAGES": 0x7, "DOMAIN_GET_METADATA": 0x3,
    "DOMAIN_SET_METADATA": 0x3, "DOMAIN_DEFINE_XML_FLAGS": 0x1,
    "DOMAIN_CREATE_XML": 0x1F,
    "DOMAIN_UNDEFINE_FLAGS": 0x7F, "DOMAIN_CREATE_WITH_FLAGS": 0x3F,
    "DOMAIN_DESTROY_FLAGS": 0x3, "DOMAIN_SHUTDOWN_FLAGS": 0x1F,
}
# Answered only once the VM is up or gone: replies may come much later.
DEFERRED = {"DOMAIN_CREATE", "DOMAIN_CREATE_WITH_FLAGS", "DOMAIN_CREATE_XML",
            "DOMAIN_DESTROY", "DOMAIN_DESTROY_FLAGS", "DOMAIN_SHUTDOWN",
            "DOMAIN_SHUTDOWN_FLAGS"}
PREOPEN = {"CONNECT_OPEN", "CONNECT_CLOSE", "AUTH_LIST",
           "CONNECT_SUPPORTS_FEATURE"}
WRITE_RE = re.compile(r"DEFINE|CREATE|DESTROY|SHUTDOWN|SUSPEND|RESUME|"
                      r"SET_|REBOOT|RESET|MIGRATE|SAVE|RESTORE|ATTACH|"
                      r"DETACH|UPDATE|SEND_|INJECT|PIN_|ABORT|REVERT|"
                      r"DELETE|RENAME|BLOCK_|CORE_DUMP|MEMORY_PEEK")
READ_RE = re.compile(r"GET_|HAS_|IS_|LOOKUP|LIST|_NUM|SUPPORTS")
# Picked more often: where the state is.
WEIGHTS = {"DOMAIN_SET_METADATA": 4, "DOMAIN_GET_METADATA": 2,
           "DOMAIN_DEFINE_XML": 2, "DOMAIN_DEFINE_XML_FLAGS": 2,
           "CONNECT_LIST_ALL_DOMAINS": 1.5, "DOMAIN_UNDEFINE": 0.7,
           "DOMAIN_UNDEFINE_FLAGS": 0.7}


class Malformed(Exception):
    pass


class Died(Exception):
    pass


# ---------------------------------------------------------------- XDR
def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def xstr(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b + b"\0" * (-len(b) % 4)


def ostr(b):
    return u32(0) if b is None else u32(1) + xstr(b)


def xdom(name, uuid, did):
    return xstr(name) + uuid + u32(did)


def open_flags(args):
    """The flags of CONNECT_OPEN's arguments as sent (remote_string_opt
    name, u32 flags), or 1 where they do not decode (the daemon refuses
    those: read-only is then the safe assumption)."""
    try:
        r = Rd(args)
        r.ostring()
        f = r.u32()
        return f if r.o == len(args) else 1
    except Malformed:
        return 1


class Rd:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if n > len(self.b) - self.o:
            raise Malformed(f"{n} bytes at {self.o}, {len(self.b)} in all")
        p = self.b[self.o:self.o + n]
        self.o += n
        return p

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def bool(self):
        v = self.u32()
        if v > 1:
            raise Malformed(f"bool {v}")
        return v

    def opaque(self, mx):
        n = self.u32()
        if n > mx:
            raise Malformed(f"length {n} over {mx}")
        p = self.take(n)
        pad = self.take(-n % 4)
        if pad.strip(b"\0"):
            raise Malformed("non-zero padding")
        return p

    def string(self, mx=4194304):
        return self.opaque(mx)

    def ostring(self):
        return self.string() if self.bool() else None

    def dom(self):
        name = self.string(4194304)
        uuid = self.take(16)
        did = self.i32()
        return name, uuid, did

    def done(self):
        if self.o != len(self.b):
            raise Malformed(f"{len(self.b) - self.o} bytes left over")


def decode_error(b):
    r = Rd(b)
    code, dom = r.i32(), r.i32()
    msg = r.ostring()
    level = r.i32()
    d = r.dom() if r.bool() else None
    for _ in range(3):
        r.ostring()
    r.i32()
    r.i32()
    if r.bool():
        r.string()
        r.take(16)
    r.done()
    if code <= 0:
        raise Malformed(f"error code {code}")
    if level not in (0, 1, 2):
        raise Malformed(f"error level {level}")
    return code, dom, msg, d


def check_dom(d, what):
    name, uuid, did = d
    if not (1 <= len(name) <= 64) or name.strip(NAME_CHARS.encode()):
        raise Malformed(f"{what}: domain name {name[:80]!r}")
    if did < -1:
        raise Malformed(f"{what}: domain id {did}")


def decode_ret(kind, b, call):
    """Decodes an OK reply's body; raises Malformed.  Returns a value."""
    r = Rd(b)
    v = None
    if kind == "void":
        pass
    elif kind == "string":
        v = r.string()
    elif kind == "hyper":
        v = r.u64()
    elif kind in ("int", "bool"):
        v = r.i32()
        if kind == "bool" and v not in (0, 1):
            raise Malformed(f"boolean answer {v}")
    elif kind == "auth_list":
        n = r.u32()
        if n > 20:
            raise Malformed(f"{n} auth types")
        v = [r.i32() for _ in range(n)]
    elif kind == "secmodel":
        r.opaque(257)
        r.opaque(257)
    elif kind == "strings":
        n = r.u32()
        if n > 2048:
            raise Malformed(f"{n} messages")
        v = [r.string() for _ in range(n)]
    elif kind == "dom":
        v = r.dom()
        check_dom(v, "domain")
    elif kind == "list_all":
        n = r.u32()
        if n > 16384:
            raise Malformed(f"{n} domains")
        v = [r.dom() for _ in range(n)]
        ret = r.u32()
        names = [d[0] for d in v]
        uuids = [d[1] for d in v]
        for d in v:
            check_dom(d, "listed")
        if len(set(names)) != len(names) or len(set(uuids)) != len(uuids):
            raise Malformed(f"a domain listed twice: {sorted(names)}")
        if n and ret != n:
            raise Malformed(f"{n} domains returned, count says {ret}")
    elif kind == "info":
        st, maxmem, mem, ncpu, _ = r.u32(), r.u64(), r.u64(), r.u32(), \
            r.u64()
        if mem > maxmem:
            raise Malformed(f"memory {mem} KiB over maxMem {maxmem} KiB")
        if st > 255 or ncpu > 0xFFFF:
            raise Malformed(f"state {st} or vcpus {ncpu} overflow "
                            "libvirt's unsigned char/short")
        if st > 8:
            raise Malformed(f"state {st}")
        v = st
    elif kind == "state":
        st, reason = r.i32(), r.i32()
        if not 0 <= st <= 8 or reason < 0:
            raise Malformed(f"state {st} reason {reason}")
        v = st
    else:
        return None  # not known: only the header was checked
    r.done()
    return v


def pack(pkt):
    """A packet for the replay file: hex, or deflated when large."""
    if len(pkt) < 4096:
        return {"hex": pkt.hex()}
    return {"z": base64.b64encode(zlib.compress(pkt)).decode()}


def unpack(ev):
    if "z" in ev:
        return zlib.decompress(base64.b64decode(ev["z"]))
    return bytes.fromhex(ev["hex"])


# ------------------------------------------------------------ calls
class Call:
    __slots__ = ("n", "conn", "serial", "prog", "proc", "name", "desc",
                 "sent", "deadline", "deferred", "write", "ret", "flags",
                 "expect", "on_reply", "asked", "fuzz", "answered", "ro",
                 "asked_open")

    def __init__(self, **kw):
        self.on_reply = None
        self.asked = None
        self.expect = True
        self.answered = None
        for k, v in kw.items():
            setattr(self, k, v)


class Conn:
    def __init__(self, fz, cid, kind, path):
        self.fz, self.cid, self.kind = fz, cid, kind
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(fz.timeout)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.inb = bytearray()
        self.outb = bytearray()
        self.pending = {}
        self.serial = 0
        self.opened = False
        self.open_sent = False
        self.ro = kind == "ro"
        self.cbs = set()
        self.bad = 0
        self.close_ok = False
        self.close_sent = None
        self.oversize = False  # sent a packet over the daemon's bound
        self.closed = False
        self.pings = []
        self.history = collections.deque(maxlen=8)

    def fileno(self):
        return self.sock.fileno()

    def label(self):
        return f"conn {self.cid} ({self.kind}{', ro' if self.ro and self.kind != 'ro' else ''})"


class Dom:
    __slots__ = ("name", "uuid", "id", "transient")

    def __init__(self, name, uuid, did, transient=False):
        self.name, self.uuid, self.id, self.transient = name, uuid, did, transient


def uuid_str(u):
    h = u.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def short(b, n=48):
    if b is None:
        return "NULL"
    if isinstance(b, (bytes, bytearray)):
        s = repr(bytes(b[:n]))[1:]
    else:
        s = repr(b[:n])
    return s + (f"..({len(b)})" if len(b) > n else "")


# ------------------------------------------------------------ fuzzer
class Fuzzer:
    def __init__(self, a):
        self.a = a
        self.timeout = a.timeout
        self.rng = random.Random(a.seed)
        self.procs = {}  # number -> name, implemented
        for m in re.finditer(r"REMOTE_PROC_(\w+)\s*=\s*(\d+)",
                             open(a.rpcdefs).read()):
            self.procs[int(m.group(2))] = m.group(1)
        for ev in (EV_LIFECYCLE, EV_METADATA):
            self.procs.pop(ev, None)  # events: the daemon's, not calls
        self.names = {v: k for k, v in self.procs.items()}
        self.proc_list = sorted(self.procs)
        self.proc_w = [WEIGHTS.get(self.procs[p], 1.0) for p in self.proc_list]
        self.conns = []  # the fuzzed ones
        self.every = []  # and the maintenance and probe connections
        self.next_cid = 1
        self.failures = 0
        self.notes = collections.Counter()
        self.stats = collections.Counter()
        self.errs = collections.Counter()
        self.events = collections.Counter()
        self.unknown_flags = collections.Counter()
        self.ncalls = 0
        self.last = collections.deque(maxlen=a.show_last)
        self.log = open(a.log, "w") if a.log else None
        self.logn = 0
        self.answered_since = []
        self.t0 = time.monotonic()
        self.pool = {}  # uuid -> Dom, as the last maintenance saw them
        self.stale = collections.deque(maxlen=8)
        self.base = {}  # name -> (xml, uuid): the domains kept alive
        self.xml_tpl = open(a.template).read()
        self.maint = None
        self.maint_busy = False
        self.maint_next = 0
        self.trans_k = 0
        self.trans_busy = False
        self.start_busy = set()
        self.run_since = {}
        self.checks_s = 0.0
        self.rss = []
        self.probe_c = None
        self.cur = None
        self.t_fuzz = None
        self.canary = None
        if a.canary:
            self.canary = open(a.canary).read().strip().encode()

    # --------------------------------------------------- reporting
    def t(self):
        return time.monotonic() - self.t0

    def fail(self, msg, conn=None):
        self.failures += 1
        print(f"FAIL {TEST}: {msg}", file=sys.stderr)
        if conn is not None and conn.history:
            print(f"  {conn.label()}'s last calls:", file=sys.stderr)
            for h in conn.history:
                print(f"    {h}", file=sys.stderr)
        if self.failures >= 10:
            raise Died("10 failures: stopping")

    def note(self, msg):
        if self.notes[msg] == 0:
            print(f"note {TEST}: {msg}", file=sys.stderr)
        self.notes[msg] += 1

    def logline(self, **kw):
        if self.log is None:
            return
        kw["i"] = self.logn
        kw["t"] = round(self.t(), 4)
        self.logn += 1
        self.log.write(json.dumps(kw) + "\n")

    # ---------------------------------------------------- liveness
    def alive(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
            return st not in ("Z", "X")
        except OSError:
            return False

    def rss_kib(self):
        try:
            with open(f"/proc/{self.a.virtd_pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def check_alive(self, why=""):
        for pid, what in ((self.a.virtd_pid, "kvmmu-virtd"),
                          (self.a.mmu_pid, "mmu-server")):
            if pid and not self.alive(pid):
                self.died(what, pid, why)

    def died(self, what, pid, why):
        into = f"{self.t() - self.t_fuzz:.1f} s into the fuzzing" if \
            self.t_fuzz is not None else "during the set-up"
        print(f"FAIL {TEST}: {what} (pid {pid}) DIED after {self.ncalls} "
              f"fuzzed calls, {into} (seed {self.a.seed})"
              f"{': ' + why if why else ''}", file=sys.stderr)
        self.failures += 1
        raise Died(what)

    # ----------------------------------------------------- sockets
    def connect(self, kind, fuzz=True):
        path = self.a.ro_socket if kind == "ro" else self.a.socket
        try:
            c = Conn(self, self.next_cid, kind, path)
        except OSError as e:
            # A daemon that is dying closes its sockets before it is gone.
            for _ in range(40):
                self.check_alive(f"connect to {path}: {e}")
                time.sleep(0.05)
            self.fail(f"connect to {path}: {e} (the daemon runs)")
            return None
        self.next_cid += 1
        self.logline(k="open", c=c.cid, sock="ro" if kind == "ro" else "rw")
        self.every.append(c)
        if fuzz:
            self.conns.append(c)
        return c

    def drop(self, c, why=None):
        if c.closed:
            return
        c.closed = True
        try:
            c.sock.close()
        except OSError:
            pass
        if c in self.conns:
            self.conns.remove(c)
        if c in self.every:
            self.every.remove(c)
        self.logline(k="close", c=c.cid)
        if why:
            self.logline(k="note", d=why)

    def send_raw(self, c, pkt):
        c.outb += pkt
        self.flush(c)

    def flush(self, c):
        while c.outb and not c.closed:
            try:
                n = c.sock.send(c.outb)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.conn_lost(c, f"send: {e}")
                return
            del c.outb[:n]

    def send_call(self, c, proc, args, *, prog=REMOTE, vers=1, mtype=CALL,
                  status=OK, fuzz=True, desc="", flags=None, on_reply=None,
                  asked=None, expect=True):
        c.serial += 1
        serial = c.serial
        name = self.procs.get(proc, f"proc {proc}") if prog == REMOTE else \
            f"prog 0x{prog:x} proc {proc}"
        body = struct.pack(">IIIIII", prog, vers, proc, mtype, serial,
                           status) + args
        pkt = u32(len(body) + 4) + body
        # Over the daemon's bound for this socket (4 MiB; a read-only
        # socket may well take less: libvirtd's own takes 16 MiB, and
        # kvmmu-virtd's read-only socket 64 KiB): a close is no surprise.
        if len(pkt) > (MAX_PACKET if c.kind != "ro" else 64 << 10):
            c.oversize = True
        deferred = prog == REMOTE and name in DEFERRED
        now = time.monotonic()
        call = Call(n=self.ncalls if fuzz else -1, conn=c, serial=serial,
                    prog=prog, proc=proc, name=name, desc=desc, sent=now,
                    deadline=now + self.timeout * (4 if deferred else 1),
                    deferred=deferred,
                    write=bool(WRITE_RE.search(name)) and
                    not READ_RE.search(name) and prog == REMOTE,
                    ret=RETS.get(name) if prog == REMOTE and vers == 1 and
                    mtype == CALL and status == OK else "error",
                    flags=flags, fuzz=fuzz, on_reply=on_reply, asked=asked,
                    expect=expect, ro=c.ro,
                    asked_open=c.opened or c.open_sent or not fuzz)
        if name == "CONNECT_OPEN":
            c.open_sent = True
        if name == "CONNECT_CLOSE" and not args and call.ret == "void":
            c.close_sent = call
        if expect:
            c.pending[serial] = call
        line = (f"#{call.n if fuzz else '-'} {c.label()} serial {serial} "
                f"{name}{' ' + desc if desc else ''}")
        c.history.append(line)
        if fuzz:
            self.last.append(line)
        self.logline(k="send", c=c.cid, s=serial, d=line[:300],
                     w=self.answered_since, **pack(pkt))
        self.answered_since = []
        self.send_raw(c, pkt)
        return call

    def conn_lost(self, c, why):
        if c.closed:
            return
        lost = [p for p in c.pending.values() if p.expect]
        self.drop(c)
        self.check_alive(f"{c.label()}: {why}")
        if c.close_sent is not None:
            if c.close_sent.serial in c.pending and c.close_sent.fuzz:
                self.note("CONNECT_CLOSE: the daemon closed the connection "
                          "without sending the call's reply")
            return
        if c.close_ok or c.bad >= 16 or c.oversize:
            return
        if c.bad + len(lost) >= 16:
            # Closed for its malformed calls (16), the last error unsent.
            self.note("the daemon closed a connection for its 16th "
                      "malformed call without sending that call's error")
            return
        # The daemon runs and closed a connection it had no reason to.
        self.note(f"the daemon closed {c.kind} connection(s) unasked "
                  f"({why})")
        if self.a.verbose:
            print(f"  {c.label()} closed: {len(lost)} call(s) unanswered, "
                  f"{c.bad} RPC errors; last calls:", file=sys.stderr)
            for h in c.history:
                print(f"    {h}", file=sys.stderr)
        if lost and c.kind in ("maint", "probe"):
            self.fail(f"{c.label()} closed by the daemon with "
                      f"{len(lost)} calls unanswered", c)

    # ------------------------------------------------------ packets
    def pump(self, wait=0.0):
        """Reads and checks whatever arrived, for up to wait seconds."""
        socks = [c for c in self.every if not c.closed]
        if not socks:
            time.sleep(wait)
            return
        wr = [c for c in socks if c.outb]
        try:
            rd, ww, _ = select.select(socks, wr, [], wait)
        except (OSError, ValueError):
            rd, ww = socks, []
        for c in ww:
            self.flush(c)
        for c in rd:
            if c.closed:
                continue
            try:
                data = c.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                self.conn_lost(c, f"recv: {e}")
                continue
            if not data:
                self.conn_lost(c, "EOF")
                continue
            c.inb += data
            self.packets(c)

    def packets(self, c):
        while len(c.inb) >= 4 and not c.closed:
            (n,) = struct.unpack(">I", c.inb[:4])
            if n < 28 or n > MAX_PACKET + 28:
                self.fail(f"{c.label()}: a packet of length {n}", c)
                self.drop(c)
                return
            if len(c.inb) < n:
                return
            pkt = bytes(c.inb[:n])
            del c.inb[:n]
            try:
                self.packet(c, pkt)
            except Malformed as e:
                self.fail(f"{c.label()}: {e}", c)

    def packet(self, c, pkt):
        prog, vers, proc, mtype, serial, status = struct.unpack(
            ">IIIIII", pkt[4:28])
        body = pkt[28:]
        if vers != 1:
            raise Malformed(f"a packet of version {vers}")
        if self.canary and self.canary in pkt:
            self.fail(f"{c.label()}: a reply holds the canary file's "
                      "content (an external entity was read)", c)
        if prog == KEEPALIVE:
            if mtype != MESSAGE or status != OK:
                raise Malformed(f"keepalive type {mtype} status {status}")
            if proc == 1:  # the daemon pings: answer as libvirt does
                self.send_raw(c, u32(28) + struct.pack(
                    ">IIIIII", KEEPALIVE, 1, 2, MESSAGE, 0, OK))
            elif proc == 2:
                if not c.pings:
                    raise Malformed("a PONG no PING asked for")
                c.pings.pop(0)
            else:
                raise Malformed(f"keepalive procedure {proc}")
            return
        if mtype == MESSAGE:
            self.event(c, prog, proc, serial, status, body)
            return
        if mtype != REPLY:
            raise Malformed(f"packet type {mtype} (prog 0x{prog:x} proc "
                            f"{proc} serial {serial})")
        call = c.pending.pop(serial, None)
        if call is None:
            raise Malformed(f"a reply to serial {serial} (proc {proc}), "
                            "which no call in flight has")
        call.answered = time.monotonic()
        self.answered_since.append([c.cid, serial])
        if prog != call.prog or proc != call.proc:
            raise Malformed(f"reply to serial {serial}: prog 0x{prog:x} "
                            f"proc {proc}, the call was prog "
                            f"0x{call.prog:x} proc {call.proc}")
        if status == ERROR:
            code, _, msg, _ = decode_error(body)
            if code == ERR_RPC:
                c.bad += 1
            if call.fuzz:
                self.stats[call.name + " err"] += 1
                self.errs[code] += 1
            if call.on_reply:
                call.on_reply(call, None, (code, msg))
            return
        if status != OK:
            raise Malformed(f"reply status {status}")
        if call.ret == "error":
            raise Malformed(f"{call.name}: a bad header answered OK")
        if call.fuzz:
            self.stats[call.name + " ok"] += 1
        try:
            v = decode_ret(call.ret, body, call)
        except Malformed as e:
            raise Malformed(f"{call.name} serial {serial}: the reply does "
                            f"not decode: {e}")
        self.oracles(c, call, v)
        if call.on_reply:
            call.on_reply(call, v, None)

    def oracles(self, c, call, v):
        name = call.name
        if call.ro and call.write and name not in PREOPEN:
            self.fail(f"{c.label()}: {name} succeeded on a read-only "
                      "connection", c)
        if not call.asked_open and name not in PREOPEN and \
                not name.startswith("AUTH_"):
            self.fail(f"{c.label()}: {name} succeeded before "
                      "CONNECT_OPEN", c)
        if name == "CONNECT_CLOSE":
            c.close_ok = True
        if call.asked is not None and v is not None:
            kind, want = call.asked
            got = {"name": v[0], "uuid": v[1], "id": v[2]}[kind]
            if got != want:
                self.fail(f"{name} for {kind} {want!r} returned "
                          f"{v[0]!r}/{uuid_str(v[1])}/{v[2]}", c)
        if name == "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY" and v is not None:
            c.cbs.add(v)
        if name in ("DOMAIN_LOOKUP_BY_NAME", "DOMAIN_LOOKUP_BY_UUID",
                    "DOMAIN_LOOKUP_BY_ID", "DOMAIN_DEFINE_XML",
                    "DOMAIN_DEFINE_XML_FLAGS", "DOMAIN_CREATE_WITH_FLAGS") \
                and v is not None:
            self.learn(v)
        if name == "CONNECT_LIST_ALL_DOMAINS" and v:
            for d in v:
                self.learn(d)
        if call.flags and name in KNOWN_FLAGS and \
                call.flags & ~KNOWN_FLAGS[name] & 0xFFFFFFFF:
            self.unknown_flags[name] += 1

    def learn(self, d):
        name, uuid, did = d
        cur = self.pool.get(uuid)
        if cur is None:
            self.pool[uuid] = Dom(name, uuid, did)
        else:
            cur.name, cur.id = name, did

    def event(self, c, prog, proc, serial, status, body):
        if prog != REMOTE or serial != 0 or status != OK:
            raise Malformed(f"event prog 0x{prog:x} proc {proc} serial "
                            f"{serial} status {status}")
        r = Rd(body)
        cb = r.i32()
        d = r.dom()
        check_dom(d, "event")
        if proc == EV_LIFECYCLE:
            ev, detail = r.i32(), r.i32()
            if not 0 <= ev <= 8 or detail < 0:
                raise Malformed(f"lifecycle event {ev} detail {detail}")
            self.events[f"lifecycle {ev}/{detail}"] += 1
        elif proc == EV_METADATA:
            mtype = r.i32()
            r.ostring()
            self.events[f"metadata {mtype}"] += 1
        else:
            raise Malformed(f"an event of procedure {proc}")
        r.done()
        if cb not in c.cbs:
            raise Malformed(f"event {proc} for callback {cb}, which this "
                            "connection never registered")

    # ------------------------------------------------- waiting
    def wait_call(self, call, limit=None):
        """Pumps until call is answered; False on its deadline."""
        c = call.conn
        end = call.deadline if limit is None else time.monotonic() + limit
        if c.pending and any(p.deferred for p in c.pending.values()):
            end += self.timeout * 4  # a daemon may hold it behind those
        while call.serial in c.pending and not c.closed:
            now = time.monotonic()
            if now > end:
                return False
            self.pump(min(0.05, end - now))
        return True

    def check_deadlines(self):
        now = time.monotonic()
        for c in list(self.every):
            for call in list(c.pending.values()):
                extra = self.timeout * 4 if any(
                    p.deferred for p in c.pending.values()) else 0
                if now > call.deadline + extra:
                    self.check_alive(f"no reply to {call.name}")
                    del c.pending[call.serial]
                    self.fail(f"{c.label()}: no reply to {call.name} "
                              f"(serial {call.serial}) in "
                              f"{now - call.sent:.0f} s: the daemon hangs "
                              "or lost it", c)
            for t in c.pings:
                if now > t + self.timeout:
                    c.pings.remove(t)
                    self.fail(f"{c.label()}: no PONG in {self.timeout} s",
                              c)

    # -------------------------------------------------- sync calls
    def sync(self, c, proc_name, args, what=None, limit=None):
        """A call on c, waited for: (value, error) or raises Died."""
        out = {}
        call = self.send_call(c, self.names.get(proc_name, 0), args,
                              fuzz=False, desc=what or "",
                              on_reply=lambda cl, v, e: out.update(v=v, e=e))
        call.asked_open = True
        if not self.wait_call(call, limit):
            self.check_alive(f"no reply to {proc_name}")
            self.fail(f"{c.label()}: no reply to {proc_name} in time", c)
            return None, (0, b"timeout")
        if c.closed and "v" not in out and "e" not in out:
            return None, (0, b"closed")
        return out.get("v"), out.get("e")

    def open_conn(self, kind, flags=0):
        c = self.connect(kind, fuzz=False)
        if c is None:
            return None
        v, e = self.sync(c, "CONNECT_OPEN", ostr(None) + u32(flags),
                         "name=NULL flags=0x%x" % flags)
        if e:
            self.fail(f"CONNECT_OPEN on a fresh {kind} connection: {e}")
            self.drop(c)
            return None
        c.opened = True
        c.ro = c.ro or bool(flags & 1)
        return c

    def probe(self):
        """A fresh connection must be served: open, list, close."""
        t = time.monotonic()
        c = self.probe_c = self.open_conn("rw")
        if c is None:
            return
        v, e = self.sync(c, "CONNECT_LIST_ALL_DOMAINS", u32(1) + u32(0),
                         "need=1 flags=0")
        if e:
            self.fail(f"a fresh connection's LIST_ALL_DOMAINS: {e}")
        self.sync(c, "CONNECT_CLOSE", b"")
        self.drop(c)
        self.probe_c = None
        dt = time.monotonic() - t
        self.stats["probe"] += 1
        self.max_probe = max(getattr(self, "max_probe", 0), dt)

    def virsh_list(self):
        if not self.a.virsh:
            return None
        try:
            p = subprocess.run(
                [self.a.virsh, "-q", "-c", self.a.uri, "list", "--all"],
                capture_output=True, timeout=self.timeout * 2, text=True)
        except subprocess.TimeoutExpired:
            self.check_alive("virsh list timed out")
            self.fail(f"virsh list: no answer in {self.timeout * 2} s")
            return None
        if p.returncode != 0:
            self.check_alive("virsh list failed")
            self.fail(f"virsh list failed: {p.stderr.strip()[:300]}")
            return None
        self.stats["virsh"] += 1
        return p.stdout

    def mmu_list(self):
        if not self.a.mmuctl:
            return None
        try:
            p = subprocess.run([self.a.mmuctl, "--socket", self.a.admin,
                                "list"], capture_output=True,
                               timeout=self.timeout * 2, text=True)
        except subprocess.TimeoutExpired:
            self.fail("mmuctl list: no answer")
            return None
        if p.returncode != 0:
            self.check_alive("mmuctl list failed")
            self.fail(f"mmuctl list failed: {p.stderr.strip()[:300]}")
            return None
        # The VMs that run: the rows up to the first empty line (the
        # VMs that ended come after it).
        rows = []
        for ln in p.stdout.splitlines()[1:]:
            if not ln.strip():
                break
            rows.append(ln.split())
        names = [r[1] for r in rows]
        uuids = [r[-1] for r in rows]
        for what, vals in (("name", names), ("UUID", uuids)):
            dup = {x for x in vals if vals.count(x) > 1}
            if dup:
                self.fail(f"mmu-server runs a VM {what} twice: {sorted(dup)}"
                          f"\n{p.stdout}")
        self.stats["mmuctl"] += 1
        return rows

    # ------------------------------------------------- maintenance
    def xml(self, name, uuid=None, kernel="memtouch.bin", mem=16, vcpus=1,
            cmdline="passes=1000000000000 size=4096", extra=""):
        x = self.xml_tpl
        x = x.replace("@NAME@", name).replace("@KERNEL@", kernel)
        x = x.replace("@MEM@", str(mem)).replace("@VCPUS@", str(vcpus))
        x = x.replace("@CMDLINE@", cmdline).replace("@EXTRA@", extra)
        x = x.replace("@UUID@", f"<uuid>{uuid_str(uuid)}</uuid>"
                      if uuid else "")
        return x

    def setup_base(self):
        """fz-p1 runs, fz-p2 and fz-p3 are shut off, fz-t1 runs transient."""
        for i, name in enumerate(("fz-p1", "fz-p2", "fz-p3")):
            uuid = bytes.fromhex("6b766d6d7500" + "4a11" + "8000" +
                                 "00000000f1%02x" % (i + 1))
            self.base[name] = (self.xml(name, uuid), uuid)
        self.maint = self.open_conn("maint")
        if self.maint is None:
            raise Died("no maintenance connection")
        for name, (x, _) in self.base.items():
            v, e = self.sync(self.maint, "DOMAIN_DEFINE_XML", xstr(x),
                             f"define {name}")
            if e:
                self.fail(f"define {name}: {e[1]}")
                raise Died("set-up")
        p1 = self.base["fz-p1"][1]
        v, e = self.sync(self.maint, "DOMAIN_CREATE",
                         xdom("fz-p1", p1, -1), "start fz-p1",
                         limit=self.timeout * 4)
        if e:
            self.fail(f"start fz-p1: {e[1]}")
            raise Died("set-up")
        if not self.make_transient(sync=True):
            raise Died("set-up")

    def trans_name(self):
        self.trans_k = self.trans_k % 3 + 1
        name = f"fz-t{self.trans_k}"
        uuid = bytes.fromhex("6b766d6d750049118000000000000e%02x"
                             % self.trans_k)
        return name, uuid

    def make_transient(self, sync=False):
        """Defines fz-tK, starts it, undefines it once it runs."""
        name, uuid = self.trans_name()
        m = self.maint
        dom = xdom(name, uuid, -1)

        def after_create(call, v, e):
            self.trans_busy = False
            self.send_call(m, self.names["DOMAIN_UNDEFINE"], dom,
                           fuzz=False, desc=f"undefine {name}: transient")

        def after_define(call, v, e):
            if e:
                self.trans_busy = False
                return
            c2 = self.send_call(m, self.names["DOMAIN_CREATE"], dom,
                                fuzz=False, desc=f"start {name}",
                                on_reply=after_create)
            c2.asked_open = True
            out["create"] = c2

        out = {}
        self.trans_busy = True
        c1 = self.send_call(m, self.names["DOMAIN_DEFINE_XML"],
                            xstr(self.xml(name, uuid)), fuzz=False,
                            desc=f"define {name}", on_reply=after_define)
        c1.asked_open = True
        if not sync:
            return True
        if not self.wait_call(c1) or "create" not in out:
            self.fail(f"define {name} (to make it transient) failed")
            return False
        if not self.wait_call(out["create"], self.timeout * 4):
            self.fail(f"start {name}: no reply")
            return False
        t = time.monotonic()
        while self.trans_busy or m.pending:
            self.pump(0.05)
            if time.monotonic() - t > self.timeout:
                break
        return True

    def maintain(self):
        """Keeps defined, running and transient domains: one round."""
        if self.maint_busy or self.maint is None or self.maint.closed:
            if self.maint is None or self.maint.closed:
                self.maint = self.open_conn("maint")
            return
        self.maint_busy = True
        lists = {}

        def got(call, v, e):
            lists[call.desc] = v if not e else []
            if len(lists) == 3:
                self.maint_busy = False
                self.maint_act(lists["all"], lists["transient"],
                               lists["running"])

        for desc, fl in (("all", 0), ("transient", 8), ("running", 16)):
            c = self.send_call(self.maint,
                               self.names["CONNECT_LIST_ALL_DOMAINS"],
                               u32(1) + u32(fl), fuzz=False, desc=desc,
                               on_reply=got)
            c.asked_open = True

    def maint_act(self, alld, trans, running):
        m = self.maint
        if m is None or m.closed:
            return
        # Every running VM takes a CPU (the payloads spin): one that ran
        # for --run-hold seconds is suspended, active still, until the
        # fuzzing resumes it.
        t = time.monotonic()
        ru = {d[1] for d in running}
        self.run_since = {u: self.run_since.get(u, t) for u in ru}
        if self.a.run_hold >= 0:
            for d in running:
                if t - self.run_since[d[1]] > self.a.run_hold:
                    c = self.send_call(m, self.names["DOMAIN_SUSPEND"],
                                       xdom(*d), fuzz=False,
                                       desc=f"suspend {d[0]!r}: ran "
                                       f"{self.a.run_hold} s")
                    c.asked_open = True
        tu = {d[1] for d in trans}
        now = {d[1] for d in alld}
        for u, d in list(self.pool.items()):
            if u not in now:
                self.stale.append(d)
        self.pool = {d[1]: Dom(d[0], d[1], d[2], d[1] in tu) for d in alld}
        active = [d for d in self.pool.values() if d.id >= 0]
        prun = [d for d in active if not d.transient]
        poff = [d for d in self.pool.values() if d.id < 0]

        def mcall(pn, args, desc, cb=None):
            c = self.send_call(m, self.names[pn], args, fuzz=False,
                               desc=desc, on_reply=cb)
            c.asked_open = True

        # The kept domains: defined again when undefined (or redefined
        # by the fuzzing as something else).
        for name, (x, uuid) in self.base.items():
            d = self.pool.get(uuid)
            if d is None or d.transient:
                mcall("DOMAIN_DEFINE_XML", xstr(x), f"redefine {name}")
        # Too many VMs: stop the newest surplus ones (not the anchors).
        if len(active) > self.a.max_active:
            keep = {d.uuid for d in prun[:1]} | \
                {d.uuid for d in [d for d in active if d.transient][:1]}
            extra = [d for d in active if d.uuid not in keep]
            for d in extra[:len(active) - self.a.max_active]:
                mcall("DOMAIN_DESTROY", xdom(d.name, d.uuid, d.id),
                      f"destroy surplus {d.name}")
        # Too many definitions: undefine shut-off ones that are not kept.
        if len(self.pool) > self.a.max_domains:
            bu = {u for _, u in self.base.values()}
            for d in [d for d in poff if d.uuid not in bu][:2]:
                mcall("DOMAIN_UNDEFINE", xdom(d.name, d.uuid, -1),
                      f"undefine surplus {d.name}")
        # A running persistent domain.
        if not prun and not self.start_busy:
            name = "fz-p1"
            x, uuid = self.base[name]
            d = self.pool.get(uuid)
            if d is not None and d.id < 0:
                mcall("DOMAIN_DEFINE_XML", xstr(x), f"redefine {name}")
                self.start_busy.add(name)
                mcall("DOMAIN_CREATE", xdom(name, uuid, -1),
                      f"start {name}",
                      lambda c, v, e: self.start_busy.discard(name))
        # A running transient domain.
        if not any(d.transient for d in active) and not self.trans_busy \
                and len(active) < self.a.max_active + 1:
            self.make_transient()

    # ------------------------------------------------ generators
    def flags(self, name=None):
        r = self.rng.random()
        if r < 0.3:
            return 0
        if r < 0.5:
            return 1 << self.rng.randrange(32)
        if r < 0.85 and name in KNOWN_FLAGS and KNOWN_FLAGS[name]:
            mask = KNOWN_FLAGS[name]
            while True:
                f = self.rng.getrandbits(32) & mask
                if f:
                    return f
        if r < 0.95:
            return self.rng.getrandbits(32)
        return self.rng.choice([0xFFFFFFFF, 0x80000000, 0x7FFFFFFF])

    def rbytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def rname(self):
        r = self.rng.random()
        if r < 0.5:
            return "".join(self.rng.choice(NAME_CHARS)
                           for _ in range(self.rng.randint(1, 64))).encode()
        return self.rng.choice([
            "", "x" * 65, "x" * 256, "x" * 257, "a b", "../../etc/passwd",
            ".", "..", "%s%s%n%x", "fz-p1 ", "FZ-P1", "\xe9", "a\x01b",
            "nosuch", "vm1", "-", "fz-t1", "fz-n0"]).encode()

    def rstring(self):
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice([
                b"", b"a", b"e", b"kvmmu", b"%s%n%x%p", b"../x", b"\xff\xfe",
                b"a\x00b", b"<f/>", b"urn:kvmmu:domain:1", b"http://e/a",
                b"\n", b" ", b"&amp;", b"]]>", b"<", b"x" * 1000])
        if r < 0.55:
            return "".join(chr(self.rng.randrange(32, 127)) for _ in
                           range(self.rng.randrange(0, 40))).encode()
        if r < 0.8:
            return self.rbytes(self.rng.randrange(0, 64))
        if r < 0.97:
            return self.rng.choice([b"a", b"<", b"\xc3", b"x"]) * \
                self.rng.randrange(100, 5000)
        return b"y" * self.rng.choice([65536, 1 << 20, (4 << 20) - 256])

    def pick_dom(self):
        """(name, uuid, id) for a domain argument, and what it is."""
        r = self.rng.random()
        doms = list(self.pool.values())
        if doms and r < 0.75:
            d = self.rng.choice(doms)
            did = d.id if self.rng.random() < 0.7 else \
                self.rng.choice([-1, 0, d.id + 1, 0x7FFFFFFF])
            return d.name.encode() if isinstance(d.name, str) else d.name, \
                d.uuid, did
        if self.stale and r < 0.82:
            d = self.rng.choice(self.stale)
            return d.name, d.uuid, d.id
        if doms and r < 0.9:
            d = self.rng.choice(doms)
            if self.rng.random() < 0.5:
                return d.name, self.rbytes(16), -1  # found by name
            return self.rname(), d.uuid, -1  # found by UUID
        return self.rname(), self.rbytes(16), self.rng.choice([-1, 0, 1, 7])

    def dom_args(self):
        n, u, i = self.pick_dom()
        if isinstance(n, str):
            n = n.encode()
        return xdom(n, u, i), f"dom={short(n, 24)}/{uuid_str(u)[:8]}/{i}"

    def zap_xml(self):
        attrs = []
        for a, vals in (("mode", ["all", "memslot", "none", "gpa", "", "x",
                                  "ALL"]),
                        ("batch-window-us", ["0", "1", "1000", "4294967295",
                                             "4294967296", "-1", "x"]),
                        ("allones", ["mmio", "none", "all", "x", ""])):
            if self.rng.random() < 0.7:
                attrs.append(f"{a}='{self.rng.choice(vals)}'")
        return f"<zap-control {' '.join(attrs)}/>".encode()

    def meta_value(self):
        r = self.rng.random()
        if r < 0.1:
            return None
        if r < 0.2:
            return b""
        if r < 0.45:
            return self.rng.choice([
                b"<f/>", b"<a><b c='1'>t</b></a>", b"<x xmlns='urn:o'/>",
                b"<a:b xmlns:a='urn:x'/>", b"<!-- c --><f/>", b"<?pi x?><f/>",
                b"<a>", b"<a></b>", b"text", b"<a>&xx;</a>",
                b"<!DOCTYPE a [<!ENTITY e 'x'><!ENTITY f '&e;&e;&e;&e;'>]>"
                b"<a>&f;&f;&f;&f;</a>",
                b"<a>" * 300 + b"</a>" * 300,
                b"<a " + b" ".join(b"x%d='1'" % i for i in range(300)) +
                b"/>",
                self.xxe()])
        if r < 0.65:
            return self.zap_xml()
        return self.rstring()

    def xxe(self):
        if not self.a.canary:
            return b"<f/>"
        return (f"<!DOCTYPE a [<!ENTITY e SYSTEM 'file://{self.a.canary}'>]>"
                "<a>&e;</a>").encode()

    def meta_key(self):
        return self.rng.choice([
            None, b"e", b"kvmmu", b"k", b"", b"xml", b"xmlns", b"a b", b"1x",
            b"a:b", b"\xff", self.rstring()])

    def meta_uri(self):
        return self.rng.choice([
            None, b"http://e/a", b"urn:kvmmu:domain:1", b"urn:kvmmu:domain:1",
            b"urn:x", b"", b"http://www.w3.org/XML/1998/namespace",
            b"http://www.w3.org/2000/xmlns/", b"\"'<>&", self.rstring()])

    def meta_type(self):
        r = self.rng.random()
        if r < 0.9:
            return self.rng.choice([0, 1, 2, 2])
        return self.rng.choice([-1, 3, 0x7FFFFFFF, -0x80000000])

    def domain_xml(self):
        """A definition: the template mutated, or junk."""
        r = self.rng.random()
        rng = self.rng
        name = rng.choice(["fz-n0", "fz-n1", "fz-n2", "fz-n3", "fz-p1",
                           "fz-p2", "fz-p3", "fz-t1", "fz-t2"])
        uuid = None
        if name in self.base and rng.random() < 0.8:
            uuid = self.base[name][1]
        elif rng.random() < 0.3 and self.pool:
            uuid = rng.choice(list(self.pool))
        elif rng.random() < 0.3:
            uuid = self.rbytes(16)
        # Mostly payloads that end at once (hello: shut off, crash: a
        # crash): every VM that keeps running takes a CPU.
        kernel = rng.choice(["memtouch.bin"] * 3 + ["hello.bin"] * 4 + [
            "crash.bin", "nosuch.bin", "../../../../../../../dev/null", "."])
        mem = rng.choice([16, 16, 16, 4, 32, 0, 3, 5000000, -1])
        vcpus = rng.choice([1, 1, 1, 2, 0, 33, -1])
        cmdline = rng.choice(["passes=1000000000000 size=4096"] * 4 +
                             ["", "passes=x", "a" * 5000])
        extra = ""
        if rng.random() < 0.3:
            extra = rng.choice([
                "<description>d</description>", "<title>t</title>",
                "<metadata><a:b xmlns:a='urn:x'/></metadata>",
                "<devices><disk type='file'/></devices>",
                "<on_crash>restart</on_crash>", "<unknown/>",
                "<memory unit='MiB'>16</memory>"])
        if r < 0.1:
            name = self.rname().decode("latin-1")
        x = self.xml(name, uuid, kernel, mem, vcpus, cmdline, extra)
        if r < 0.7:
            return x.encode("utf-8", "replace")
        b = bytearray(x.encode("utf-8", "replace"))
        k = rng.random()
        if k < 0.3:
            del b[rng.randrange(len(b)):]
        elif k < 0.6:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
        elif k < 0.8:
            at = rng.randrange(len(b))
            b[at:at] = rng.choice([b"<a>", b"</domain>", b"&", b"<!--",
                                   b"<![CDATA[", b"\x00", self.xxe()])
        else:
            return self.rng.choice([b"", b"<domain/>", b"<domain>",
                                    b"<a/>", self.rstring(), self.xxe()])
        return bytes(b)

    def gen_args(self, name):
        """(argument bytes, description, flags, lookup expectation)."""
        kind = ARGS.get(name)
        rng = self.rng
        if kind is None:  # not known here: a guess from the name
            if name.startswith("DOMAIN_"):
                a, d = self.dom_args()
                if rng.random() < 0.5:
                    f = self.flags()
                    return a + u32(f), d + f" flags=0x{f:x}", f, None
                return a, d, None, None
            return b"", "", None, None
        if kind == "void":
            return b"", "", None, None
        if kind == "open":
            nm = rng.choice([None, b"kvmmu:///system", b"", self.rstring()])
            f = rng.choice([0, 0, 1, self.flags("CONNECT_OPEN")])
            return ostr(nm) + u32(f), f"name={short(nm)} flags=0x{f:x}", f, \
                None
        if kind == "feature":
            f = rng.choice([rng.randrange(0, 20), rng.getrandbits(32)])
            return u32(f), f"feature={f}", None, None
        if kind == "list_all":
            need = rng.choice([0, 1, 1, 1, 2, -1, 0x7FFFFFFF])
            f = self.flags(name)
            return u32(need) + u32(f), f"need={need} flags=0x{f:x}", f, None
        if kind == "id":
            ids = [d.id for d in self.pool.values() if d.id >= 0]
            i = rng.choice(ids + ids + [-1, 0, rng.getrandbits(31),
                                        -rng.getrandbits(31)])
            return u32(i), f"id={i}", None, ("id", i) if i >= 0 else None
        if kind == "name":
            n = self.pick_dom()[0] if rng.random() < 0.7 else \
                self.rstring()
            if isinstance(n, str):
                n = n.encode()
            return xstr(n), f"name={short(n)}", None, ("name", n)
        if kind == "uuid":
            u = self.pick_dom()[1]
            return u, f"uuid={uuid_str(u)}", None, ("uuid", u)
        if kind == "dom":
            a, d = self.dom_args()
            return a, d, None, None
        if kind == "dom_flags":
            a, d = self.dom_args()
            f = self.flags(name)
            return a + u32(f), d + f" flags=0x{f:x}", f, None
        if kind == "get_meta":
            a, d = self.dom_args()
            t, uri, f = self.meta_type(), self.meta_uri(), self.flags(name)
            return a + u32(t) + ostr(uri) + u32(f), \
                f"{d} type={t} uri={short(uri)} flags=0x{f:x}", f, None
        if kind == "set_meta":
            a, d = self.dom_args()
            t, val, key = self.meta_type(), self.meta_value(), self.meta_key()
            uri, f = self.meta_uri(), self.flags(name)
            return a + u32(t) + ostr(val) + ostr(key) + ostr(uri) + u32(f), \
                (f"{d} type={t} value={short(val)} key={short(key)} "
                 f"uri={short(uri)} flags=0x{f:x}"), f, None
        if kind == "ev_reg":
            ev = rng.choice([0, 0, 23, 23, rng.randrange(64), -1, 64,
                             0x7FFFFFFF])
            if rng.random() < 0.6:
                return u32(ev) + u32(0), f"event={ev} dom=NULL", None, None
            a, d = self.dom_args()
            return u32(ev) + u32(1) + a, f"event={ev} {d}", None, None
        if kind == "ev_dereg":
            c = self.cur
            cb = rng.choice(list(c.cbs)) if c.cbs and rng.random() < 0.7 \
                else rng.choice([0, -1, rng.getrandbits(31)])
            return u32(cb), f"callback={cb}", None, None
        if kind in ("xml", "xml_flags"):
            x = self.domain_xml()
            a, d = xstr(x), f"xml={short(x, 60)}"
            if kind == "xml_flags":
                f = self.flags(name)
                return a + u32(f), d + f" flags=0x{f:x}", f, None
            return a, d, None, None
        return b"", "", None, None

    def corrupt(self, args):
        rng = self.rng
        k = rng.random()
        if k < 0.25 and args:
            return args[:rng.randrange(len(args))], "truncated"
        if k < 0.5:
            return args + self.rbytes(rng.choice([1, 3, 4, 8])), "trailing"
        if k < 0.75 and args:
            b = bytearray(args)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            return bytes(b), "bit flipped"
        return self.rbytes(rng.randrange(0, 80)), "random bytes"

    # ------------------------------------------------- one call
    def pick_conn(self):
        rng = self.rng
        live = [c for c in self.conns if not c.closed]
        rw = [c for c in live if not c.ro and c.opened]
        ro = [c for c in live if c.kind == "ro"]
        if not rw:
            c = self.open_conn("rw")
            if c:
                self.conns.append(c)
            return c
        if not ro:
            c = self.open_conn("ro")
            if c:
                self.conns.append(c)
            return c
        r = rng.random()
        if r < 0.01 and len(live) < self.a.max_conns:
            # A new connection: mostly opened first, sometimes not.
            kind = rng.choice(["rw", "rw", "ro"])
            if rng.random() < 0.85:
                c = self.open_conn(kind, rng.choice([0, 0, 0, 1]))
                if c:
                    self.conns.append(c)
            else:
                c = self.connect(kind)
            return c
        if r < 0.015 and len(live) > 2:
            c = rng.choice(live)
            self.drop(c, f"closed {c.label()} with {len(c.pending)} calls "
                      "in flight")
            return None
        busy = [c for c in live if len(c.pending) < 6]
        if not busy:
            return None
        pref = [c for c in busy if not c.ro] if rng.random() < 0.7 else busy
        return rng.choice(pref or busy)

    def one(self):
        rng = self.rng
        c = self.pick_conn()
        if c is None:
            self.pump(0.01)
            return []
        self.cur = c
        r = rng.random()
        if r < 0.01:
            c.pings.append(time.monotonic())
            self.logline(k="send", c=c.cid, s=0, d="keepalive PING",
                         w=self.answered_since,
                         hex=(u32(28) + struct.pack(">IIIIII", KEEPALIVE, 1,
                                                    1, MESSAGE, 0, 0)).hex())
            self.answered_since = []
            self.send_raw(c, u32(28) + struct.pack(
                ">IIIIII", KEEPALIVE, 1, 1, MESSAGE, 0, OK))
            return []
        if r < 0.13:
            # Any other procedure: libvirt's (1..460) or any number.
            proc = rng.choice([rng.randrange(1, 460), rng.randrange(1, 460),
                               rng.getrandbits(32), 0])
        else:
            proc = rng.choices(self.proc_list, self.proc_w)[0]
        name = self.procs.get(proc, f"proc {proc}")
        args, desc, flags, asked = self.gen_args(name)
        if rng.random() < 0.08:
            args, how = self.corrupt(args)
            desc = f"[{how}] {desc}"
            asked = None
        hdr = {}
        if rng.random() < 0.02:
            k = rng.randrange(4)
            if k == 0:
                hdr["prog"] = rng.choice([rng.getrandbits(32), 0x20008087])
            elif k == 1:
                hdr["vers"] = rng.choice([0, 2, rng.getrandbits(32)])
            elif k == 2:
                hdr["mtype"] = rng.choice([REPLY, 3, 4, rng.getrandbits(32)])
            else:
                hdr["status"] = rng.choice([ERROR, 2, rng.getrandbits(32)])
            desc = f"[header {hdr}] {desc}"
            asked = None
        self.ncalls += 1
        call = self.send_call(c, proc, args, desc=desc, flags=flags,
                              asked=asked, **hdr)
        if name == "CONNECT_OPEN" and not hdr and call.ret != "error":
            # Opened from now on (if the daemon agrees); RO sticks.  The
            # flags are those of the bytes sent, which a corruption may
            # have changed (a bit flipped in them opens read-write).
            def opened(cl, v, e, c=c, f=open_flags(args)):
                if not e:
                    c.opened = True
                    c.ro = c.ro or bool(f & 1)
            call.on_reply = opened
        if name == "CONNECT_CLOSE" and not hdr:
            call.on_reply = lambda cl, v, e, c=c: \
                setattr(c, "close_ok", e is None)
        return [call]

    # ------------------------------------------------- the run
    def run(self):
        a = self.a
        # Paths in the XML sent name this directory: a replay swaps it.
        self.logline(k="meta", dir=os.path.dirname(os.path.abspath(
            a.template)), seed=a.seed)
        print(f"{TEST}: seed {a.seed} (KVMMU_VIRTD_FUZZ_SEED={a.seed} "
              f"repeats the choices); {a.seconds} s, at most {a.calls} "
              f"calls; {len(self.procs)} procedures implemented",
              flush=True)
        self.setup_base()
        self.maintain()
        t_setup = self.t_fuzz = self.t()
        self.rss.append(self.rss_kib())
        end = time.monotonic() + a.seconds
        next_probe = next_virsh = next_mmu = next_rss = time.monotonic()
        while self.ncalls < a.calls and time.monotonic() < end:
            now = time.monotonic()
            if now >= self.maint_next:
                self.maint_next = now + 0.5
                self.maintain()
            if self.ncalls % 25 == 0:
                self.check_alive()
            if now >= next_probe:
                self.probe()
                next_probe = now + max(1.5, 10 * (time.monotonic() - now))
                self.checks_s += time.monotonic() - now
            # External clients at most a tenth of the time (slow VMs).
            if now >= next_mmu:
                self.mmu_list()
                next_mmu = now + max(3, 10 * (time.monotonic() - now))
                self.checks_s += time.monotonic() - now
            if now >= next_virsh:
                t1 = time.monotonic()
                self.virsh_list()
                next_virsh = now + max(5, 10 * (time.monotonic() - t1))
                self.checks_s += time.monotonic() - t1
            if now >= next_rss:
                next_rss = now + 1
                self.rss.append(self.rss_kib())
            calls = self.one()
            # Mostly one call at a time, as a client does; sometimes a
            # burst of pipelined calls before any reply is read.
            if calls and self.rng.random() < 0.1:
                for _ in range(self.rng.randint(1, 7)):
                    calls += self.one()
            for call in calls:
                if not call.deferred and not call.conn.closed:
                    if not self.wait_call(call):
                        self.check_deadlines()
            self.pump(0)
            self.check_deadlines()
        fuzz_s = self.t() - t_setup
        self.finish()
        self.summary(t_setup, fuzz_s)

    def finish(self):
        """Every call in flight answered, then a last probe."""
        t = time.monotonic()
        while any(c.pending for c in self.conns + [self.maint] if c) or \
                self.trans_busy:
            self.pump(0.05)
            self.check_deadlines()
            if time.monotonic() - t > self.timeout * 5:
                break
        self.check_alive("at the end")
        for c in list(self.conns):
            self.drop(c)
        self.probe()
        self.rss.append(self.rss_kib())

    def summary(self, t_setup, fuzz_s):
        procs = collections.Counter()
        for k, v in self.stats.items():
            if (k.endswith(" ok") or k.endswith(" err")) and \
                    k.rsplit(" ", 1)[0] in self.names:
                procs[k.rsplit(" ", 1)[0]] += v
        ok = sum(v for k, v in self.stats.items() if k.endswith(" ok"))
        print(f"{TEST}: {self.ncalls} calls in {fuzz_s:.1f} s "
              f"({self.ncalls / max(fuzz_s, 0.1):.0f}/s; set-up "
              f"{t_setup:.1f} s), {ok} answered OK, {len(procs)} of the "
              f"{len(self.names)} implemented procedures called; errors by code {dict(self.errs)}; "
              f"events {sum(self.events.values())}; "
              f"{self.stats['probe']} fresh connections (slowest "
              f"{getattr(self, 'max_probe', 0):.2f} s), "
              f"{self.stats['virsh']} virsh lists, {self.stats['mmuctl']} "
              f"mmuctl lists (these checks: {self.checks_s:.1f} s)")
        if self.unknown_flags:
            print(f"note {TEST}: flags libvirt does not know, taken "
                  f"(answered OK): {dict(self.unknown_flags)}")
        rss = [x for x in self.rss if x]
        if rss:
            step = max(1, len(rss) // 8)
            print(f"{TEST}: kvmmu-virtd RSS {rss[0]} KiB after set-up, "
                  f"max {max(rss)} KiB, {rss[-1]} KiB at the end (in KiB "
                  f"over the run: {' '.join(map(str, rss[::step]))})")
            if self.a.rss_file:
                with open(self.a.rss_file, "w") as f:
                    f.write(f"{rss[0]} {max(rss)} {rss[-1]}\n")

    def dump(self):
        if self.last:
            print(f"{TEST}: the last {len(self.last)} fuzzed calls, newest "
                  "last:", file=sys.stderr)
            for line in self.last:
                print(f"  {line}", file=sys.stderr)
        if self.log:
            self.log.flush()


# ------------------------------------------------------------ replay
def replay(a):
    """Sends a replay file's packets to a fresh daemon, in order, each
    after the replies it waited for in the run that wrote it."""
    conns, answered = {}, set()
    socks = {}
    n = died = 0
    swap = None
    last = collections.deque(maxlen=10)

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
        except OSError:
            return False

    def pump(wait):
        live = [s for s in socks.values() if s is not None]
        if not live:
            return
        rd, _, _ = select.select(live, [], [], wait)
        for s in rd:
            cid = next(k for k, v in socks.items() if v is s)
            try:
                data = s.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                socks[cid] = None
                continue
            conns[cid] += data
            while len(conns[cid]) >= 28:
                (ln,) = struct.unpack(">I", conns[cid][:4])
                if len(conns[cid]) < ln:
                    break
                hdr = struct.unpack(">IIIIII", conns[cid][4:28])
                del conns[cid][:ln]
                if hdr[0] == KEEPALIVE and hdr[2] == 1:
                    s.sendall(u32(28) + struct.pack(">IIIIII", KEEPALIVE, 1,
                                                    2, MESSAGE, 0, 0))
                if hdr[3] == REPLY:
                    answered.add((cid, hdr[4]))

    for line in open(a.replay):
        ev = json.loads(line)
        k = ev["k"]
        if k == "meta":
            old = ev["dir"].encode()
            new = os.path.dirname(os.path.abspath(a.template)).encode()
            if len(old) == len(new) and old != new:
                swap = (old, new)  # same length: no XDR length changes
        elif k == "open":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(a.ro_socket if ev["sock"] == "ro" else a.socket)
            socks[ev["c"]], conns[ev["c"]] = s, bytearray()
        elif k == "close":
            if socks.get(ev["c"]):
                socks[ev["c"]].close()
            socks[ev["c"]] = None
        elif k == "send":
            t = time.monotonic()
            for cid, serial in ev.get("w", []):
                while (cid, serial) not in answered and socks.get(cid) and \
                        time.monotonic() - t < a.timeout:
                    pump(0.05)
            if socks.get(ev["c"]) is None:
                continue
            pkt = unpack(ev)
            if swap:
                pkt = pkt.replace(*swap)
            try:
                socks[ev["c"]].sendall(pkt)
            except OSError:
                pass
            n += 1
            last.append(ev["d"])
            pump(0)
            if not alive(a.virtd_pid):
                print(f"FAIL {TEST}: replay: kvmmu-virtd died after send "
                      f"{n}; the last ones sent:", file=sys.stderr)
                for d in last:
                    print(f"  {d}", file=sys.stderr)
                died = 1
                break
    t = time.monotonic()
    while time.monotonic() - t < 2 and not died:
        pump(0.1)
        if not alive(a.virtd_pid):
            print(f"FAIL {TEST}: replay: kvmmu-virtd died after the last "
                  "send; the last ones sent:", file=sys.stderr)
            for d in last:
                print(f"  {d}", file=sys.stderr)
            died = 1
    print(f"{TEST}: replayed {n} packets from {a.replay}; kvmmu-virtd "
          f"{'DIED' if died else 'still runs'}")
    return 1 if died else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True)
    p.add_argument("--ro-socket", required=True)
    p.add_argument("--uri", default="")
    p.add_argument("--rpcdefs", required=True)
    p.add_argument("--template", required=True,
                   help="domain XML with @NAME@ @UUID@ @KERNEL@ ...")
    p.add_argument("--virtd-pid", type=int, required=True)
    p.add_argument("--mmu-pid", type=int, default=0)
    p.add_argument("--admin", default="")
    p.add_argument("--mmuctl", default="")
    p.add_argument("--virsh", default="")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--seconds", type=float, default=25)
    p.add_argument("--calls", type=int, default=200000)
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--max-active", type=int, default=2)
    p.add_argument("--max-domains", type=int, default=10)
    p.add_argument("--max-conns", type=int, default=6)
    p.add_argument("--run-hold", type=float, default=1.0,
                   help="suspend VMs that ran this long (-1: never)")
    p.add_argument("--show-last", type=int, default=25)
    p.add_argument("--log", default="", help="every packet sent (replay)")
    p.add_argument("--rss-file", default="")
    p.add_argument("--canary", default="")
    p.add_argument("--replay", default="")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    if a.replay:
        return replay(a)
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "big")
    fz = Fuzzer(a)
    try:
        fz.run()
    except Died as e:
        if str(e) not in ("kvmmu-virtd", "mmu-server"):
            print(f"FAIL {TEST}: stopped: {e}", file=sys.stderr)
        fz.failures = max(fz.failures, 1)
    if fz.failures:
        fz.dump()
    if fz.notes:
        for k, v in fz.notes.items():
            print(f"note {TEST}: {v}x {k}", file=sys.stderr)
    print(f"{TEST}: fuzzer: {fz.ncalls} calls, {fz.failures} failure(s), "
          f"seed {a.seed}", flush=True)
    return 1 if fz.failures else 0


if __name__ == "__main__":
    sys.exit(main())
