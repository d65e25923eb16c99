#!/bin/bash
# test_admin_interop.sh: Python's grpcio against mmu-server's admin API.
# Stubs are generated from proto/ into a temp dir (never committed).
# Usage: test_admin_interop.sh SRC_DIR BIN_DIR GUEST_DIR
set -eu
src=$1 bin=$2 guest=$3
py=/usr/bin/python3
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP test_admin_interop: /dev/kvm cannot be opened; needs KVM"
	exit 77
fi
if ! $py -c 'import grpc, grpc_tools' 2>/dev/null; then
	echo "SKIP test_admin_interop: $py lacks grpc/grpc_tools" \
		"(deploy/install-deps.sh installs python3-grpcio)"
	exit 77
fi
dir=$(mktemp -d /tmp/kvmmu-interop.XXXXXX)
srv="" fe=""
cleanup() {
	[ -n "$fe" ] && kill "$fe" 2>/dev/null || :
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" || :
	rm -rf "$dir"
}
trap cleanup EXIT
# admin.proto imports kvmmu.proto: its stubs are needed too.
$py -m grpc_tools.protoc -I"$src/proto" --python_out="$dir" \
	--grpc_python_out="$dir" "$src/proto/admin.proto" \
	"$src/proto/health.proto" "$src/proto/kvmmu.proto"
"$bin/mmu-server" -d --socket "$dir/mmu.sock" \
	--admin-socket "$dir/admin.sock" 2>"$dir/server.log" &
srv=$!
for _ in $(seq 100); do [ -S "$dir/admin.sock" ] && break; sleep 0.05; done
# A guest that ends on its own first: ListVms names it among the ended.
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/hello.bin" \
	--memory 32 --name early -q >"$dir/early.log" 2>&1
"$bin/vmm-frontend" --socket "$dir/mmu.sock" --payload "$guest/memtouch.bin" \
	--memory 32 --name interop --cmdline passes=100000000 -q \
	>"$dir/fe.log" 2>&1 &
fe=$!
sleep 0.5
$py "$src/tests/kvm/admin_interop.py" "$dir" "$dir/admin.sock" interop
