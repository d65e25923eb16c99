#!/usr/bin/python3
"""virtd_regress.py PHASE URI ...: Debian's python3-libvirt against
kvmmu-virtd for issue 23's findings, one phase per call (the shell test,
test_virtd_regress.sh, sets the stage between them):

  meta URI PERSISTENT TRANSIENT   (3) metadata on every kind of domain,
                                  every flag: libvirt's errors, no crash
  flags URI URI_RO NAME XML LOG   (6) unknown flags refused, known ones
                                  honoured or refused, never ignored
  race URI NAME N                 (5) create then at once suspend, N times

Each check prints what it checks; the exit status is 1 if any failed."""
import os
import sys

import libvirt

failed = 0
passed = 0

# libvirt's error codes, spelled out so the test reads as the table it is.
INVALID_ARG = libvirt.VIR_ERR_INVALID_ARG  # 8
OPERATION_INVALID = libvirt.VIR_ERR_OPERATION_INVALID  # 55
OPERATION_DENIED = libvirt.VIR_ERR_OPERATION_DENIED  # 29
ARGUMENT_UNSUPPORTED = libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED  # 74
NO_DOMAIN_METADATA = libvirt.VIR_ERR_NO_DOMAIN_METADATA  # 80
OK = None

NAMES = {None: "ok", INVALID_ARG: "VIR_ERR_INVALID_ARG",
         OPERATION_INVALID: "VIR_ERR_OPERATION_INVALID",
         OPERATION_DENIED: "VIR_ERR_OPERATION_DENIED",
         ARGUMENT_UNSUPPORTED: "VIR_ERR_ARGUMENT_UNSUPPORTED",
         NO_DOMAIN_METADATA: "VIR_ERR_NO_DOMAIN_METADATA"}

URI_E = "http://e/a"


def check(what, ok, detail=""):
    global failed, passed
    if ok:
        passed += 1
        print(f"ok   virtd_regress: {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL virtd_regress: {what} {detail}", file=sys.stderr,
              flush=True)


def call(fn):
    """(error code or None, message)."""
    try:
        fn()
    except libvirt.libvirtError as e:
        return e.get_error_code(), e.get_error_message()
    return None, ""


def expect(what, fn, want):
    code, msg = call(fn)
    check(f"{what}: {NAMES.get(want, want)}", code == want,
          f"(got {NAMES.get(code, code)}: {msg})")


def alive(conn, what):
    """The daemon still answers: it did not crash on what came before."""
    try:
        conn.getURI()
        conn.listAllDomains()
        ok = True
    except libvirt.libvirtError:
        ok = False
    check(f"the daemon still serves after {what}", ok)


def state(dom):
    return dom.state()[0]


# --- finding 3 -------------------------------------------------------

def meta_value(mtype):
    """(value, key, uri) of a setMetadata of this type."""
    if mtype == libvirt.VIR_DOMAIN_METADATA_ELEMENT:
        return "<f/>", "e", URI_E
    return "d", None, None


def meta_sweep(conn, dom, kind, active, persistent):
    """Every type and every flag word on one kind of domain: what libvirt's
    virDomainObjUpdateModificationImpact decides, and no crash."""
    for mtype in (libvirt.VIR_DOMAIN_METADATA_DESCRIPTION,
                  libvirt.VIR_DOMAIN_METADATA_TITLE,
                  libvirt.VIR_DOMAIN_METADATA_ELEMENT):
        value, key, uri = meta_value(mtype)
        for flags in (0, 1, 2, 3):
            live = flags & 1 or (flags == 0 and active)
            config = flags & 2 or (flags == 0 and not active)
            if (live and not active) or (config and not persistent):
                want = OPERATION_INVALID
            else:
                want = OK
            expect(f"{kind}: setMetadata(type {mtype}, flags {flags})",
                   lambda: dom.setMetadata(mtype, value, key, uri, flags),
                   want)
            if flags == 3:
                get_want = INVALID_ARG  # one XML to read, not two
            else:
                get_want = want
            code, _ = call(lambda: dom.metadata(mtype, uri, flags))
            check(f"{kind}: metadata(type {mtype}, flags {flags}): "
                  f"{NAMES.get(get_want)}", code == get_want,
                  f"(got {NAMES.get(code, code)})")
        alive(conn, f"{kind}, metadata type {mtype}")
    expect(f"{kind}: setMetadata of an unknown type (7)",
           lambda: dom.setMetadata(7, "x", None, None, 0), INVALID_ARG)
    expect(f"{kind}: metadata of an unknown type (7)",
           lambda: dom.metadata(7, None, 0), INVALID_ARG)
    expect(f"{kind}: setMetadata with an unknown flag (1<<5)",
           lambda: dom.setMetadata(0, "d", None, None, 1 << 5), INVALID_ARG)
    alive(conn, f"{kind}, every metadata call")


def phase_meta(uri, pname, tname):
    conn = libvirt.open(uri)
    per = conn.lookupByName(pname)
    tra = conn.lookupByName(tname)
    check("both domains start shut off",
          not per.isActive() and not tra.isActive())
    # The crash: --live --config on a shut-off domain.
    expect("shut off: setMetadata(element, LIVE|CONFIG) (the SIGSEGV)",
           lambda: per.setMetadata(2, "<f/>", "e", URI_E, 3),
           OPERATION_INVALID)
    alive(conn, "--live --config on a shut-off domain")
    meta_sweep(conn, per, "shut off, persistent", False, True)
    per.create()
    tra.create()
    tra.undefine()
    tra = conn.lookupByName(tname)
    check("the second is now running and transient",
          tra.isActive() and not tra.isPersistent())
    expect("running transient: setMetadata(element, LIVE|CONFIG) "
           "(the SIGSEGV)",
           lambda: tra.setMetadata(2, "<f/>", "e", URI_E, 3),
           OPERATION_INVALID)
    alive(conn, "--live --config on a transient domain")
    meta_sweep(conn, tra, "running, transient", True, False)
    meta_sweep(conn, per, "running, persistent", True, True)
    check("the transient domain still runs", state(tra) ==
          libvirt.VIR_DOMAIN_RUNNING)
    conn.close()


# --- finding 6 -------------------------------------------------------

def phase_flags(uri, uri_ro, name, xml_path, log_path):
    conn = libvirt.open(uri)
    ro = libvirt.openReadOnly(uri_ro)
    dom = conn.lookupByName(name)
    xml = open(xml_path).read()
    check(f"{name} starts shut off", not dom.isActive())

    expect("defineXMLFlags(1<<10)",
           lambda: conn.defineXMLFlags(xml, 1 << 10), INVALID_ARG)
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)  # with its UUID
    expect("defineXMLFlags(VALIDATE), a redefinition",
           lambda: conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE),
           OK)
    expect("listAllDomains(1<<20)",
           lambda: conn.listAllDomains(1 << 20), INVALID_ARG)
    expect("listAllDomains(NO_CHECKPOINT), a flag libvirt knows",
           lambda: conn.listAllDomains(
               libvirt.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT), OK)
    expect("XMLDesc(1<<10)", lambda: dom.XMLDesc(1 << 10), INVALID_ARG)
    expect("XMLDesc(INACTIVE|MIGRATABLE)",
           lambda: dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE |
                               libvirt.VIR_DOMAIN_XML_MIGRATABLE), OK)
    expect("read-only socket: XMLDesc(SECURE)",
           lambda: ro.lookupByName(name).XMLDesc(
               libvirt.VIR_DOMAIN_XML_SECURE), OPERATION_DENIED)
    expect("state(1<<3)", lambda: dom.state(1 << 3), INVALID_ARG)
    expect("hasManagedSaveImage(1)",
           lambda: dom.hasManagedSaveImage(1), INVALID_ARG)
    expect("snapshotNum(1<<11)", lambda: dom.snapshotNum(1 << 11),
           INVALID_ARG)
    expect("snapshotNum(ROOTS)",
           lambda: dom.snapshotNum(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS), OK)
    expect("messages(1<<5)", lambda: dom.messages(1 << 5), INVALID_ARG)
    expect("messages(DEPRECATION|TAINTING)", lambda: dom.messages(3), OK)
    expect("metadata(flags 1<<5)",
           lambda: dom.metadata(0, None, 1 << 5), INVALID_ARG)

    expect("createWithFlags(1<<10)",
           lambda: dom.createWithFlags(1 << 10), INVALID_ARG)
    check("... and it did not start", not dom.isActive())
    expect("createWithFlags(START_PAUSED): not half done",
           lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED),
           ARGUMENT_UNSUPPORTED)
    expect("createWithFlags(START_AUTODESTROY)",
           lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_AUTODESTROY),
           ARGUMENT_UNSUPPORTED)
    check("... and it did not start", not dom.isActive())
    expect("createWithFlags(FORCE_BOOT): no managed save to discard",
           lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_FORCE_BOOT),
           OK)
    check("running", state(dom) == libvirt.VIR_DOMAIN_RUNNING)

    expect("shutdownFlags(1<<10)",
           lambda: dom.shutdownFlags(1 << 10), INVALID_ARG)
    expect("shutdownFlags(INITCTL), a mode libvirt's QEMU driver refuses",
           lambda: dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_INITCTL),
           INVALID_ARG)
    expect("shutdownFlags(ACPI_POWER_BTN): no ACPI button, no hard stop",
           lambda: dom.shutdownFlags(
               libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN),
           ARGUMENT_UNSUPPORTED)
    expect("shutdownFlags(GUEST_AGENT): no agent, no hard stop",
           lambda: dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT),
           ARGUMENT_UNSUPPORTED)
    expect("destroyFlags(1<<10)",
           lambda: dom.destroyFlags(1 << 10), INVALID_ARG)
    check("still running after all those refusals",
          state(dom) == libvirt.VIR_DOMAIN_RUNNING)

    expect("suspend", dom.suspend, OK)
    expect("suspend a paused domain: nothing to do, as libvirt has it",
           dom.suspend, OK)
    expect("resume", dom.resume, OK)
    expect("resume a running domain", dom.resume, OPERATION_INVALID)
    check("state running (unpaused) after a resume",
          dom.state() == [libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_UNPAUSED],
          f"(got {dom.state()})")

    expect("destroyFlags(GRACEFUL): SIGTERM only",
           lambda: dom.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL), OK)
    check("shut off (destroyed)",
          dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF,
                          libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED],
          f"(got {dom.state()})")
    dom.create()
    check(f"its log {log_path} exists", os.path.exists(log_path))
    expect("destroyFlags(REMOVE_LOGS)",
           lambda: dom.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_REMOVE_LOGS),
           OK)
    check("... and its log is gone", not os.path.exists(log_path))

    expect("undefineFlags(1<<20)",
           lambda: dom.undefineFlags(1 << 20), INVALID_ARG)
    expect("undefineFlags(NVRAM|KEEP_NVRAM)",
           lambda: dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM |
                                     libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM),
           OPERATION_INVALID)
    check("still defined after the refused undefines",
          name in [d.name() for d in conn.listAllDomains()])
    alive(conn, "every flag")
    ro.close()
    conn.close()


# --- finding 5 -------------------------------------------------------

def phase_race(uri, name, n):
    conn = libvirt.open(uri)
    dom = conn.lookupByName(name)
    bad = []
    for i in range(n):
        dom.create()
        code, msg = call(dom.suspend)
        if code is not None:
            bad.append(f"round {i}: suspend: {msg}")
        elif dom.state() != [libvirt.VIR_DOMAIN_PAUSED,
                             libvirt.VIR_DOMAIN_PAUSED_USER]:
            bad.append(f"round {i}: state {dom.state()}")
        code, msg = call(dom.destroy)
        if code is not None:
            bad.append(f"round {i}: destroy: {msg}")
    check(f"create then at once suspend, {n} times: every suspend "
          f"succeeds, paused (user)", not bad, "; ".join(bad[:5]))
    conn.close()


def main():
    phase = sys.argv[1]
    # Errors are checked by code here, not printed by the library.
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    if phase == "meta":
        phase_meta(*sys.argv[2:5])
    elif phase == "flags":
        phase_flags(*sys.argv[2:7])
    elif phase == "race":
        phase_race(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(f"virtd_regress: unknown phase {phase}", file=sys.stderr)
        return 2
    print(f"virtd_regress {phase}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
