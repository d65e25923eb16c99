#!/usr/bin/python3
"""An independent gRPC client (Debian's python3-grpcio, stubs generated
from proto/ at test time) calls ListVms, GetVm, GetStats and Health on a
running mmu-server, and reads why the VM "early" ended (ListVmsReply.ended,
VmSummary.end_reason).  Usage: admin_interop.py STUB_DIR SOCKET VM_NAME."""
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import admin_pb2  # noqa: E402
import admin_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


channel = grpc.insecure_channel("unix:" + sys.argv[2])
admin = admin_pb2_grpc.AdminStub(channel)
lst = admin.ListVms(admin_pb2.ListVmsRequest(), timeout=5)
vms = lst.vms
check(len(vms) == 1 and vms[0].name == sys.argv[3], "ListVms: %s" % vms)
early = [v for v in lst.ended if v.name == "early"]
check(len(early) == 1 and early[0].state == "ended" and
      early[0].end_reason ==
      "ended by its frontend: the guest finished with status 0" and
      not lst.destroyed, "ListVms: ended %s, destroyed %s" %
      (lst.ended, lst.destroyed))
ref = admin_pb2.VmRef(name=sys.argv[3])
vm = admin.GetVm(admin_pb2.GetVmRequest(vm=ref), timeout=5)
check(vm.vm.state == "running" and len(vm.regions) == 1, "GetVm: %s" % vm)
st = admin.GetStats(admin_pb2.GetStatsRequest(vm=ref), timeout=5)
names = {s.name: s.value for s in st.vcpus[0].stats}
check(names.get("pf_taken", 0) > 0, "GetStats: KVM's pf_taken")
check(any(s.name == "vm.transactions" for s in st.server),
      "GetStats: server counters")
check(st.zap.mode == "all", "GetStats: zap control %s" % st.zap)
try:
    admin.GetVm(admin_pb2.GetVmRequest(vm=admin_pb2.VmRef(id=4242)),
                timeout=5)
    check(False, "GetVm of an unknown id must fail")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.NOT_FOUND, "NOT_FOUND: %s" % e)
health = health_pb2_grpc.HealthStub(channel)
h = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
check(h.status == health_pb2.HealthCheckResponse.SERVING, "Health")
print("admin_interop: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
