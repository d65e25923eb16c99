#!/bin/bash
# test_domain_xml.sh: domains read from files (vmm-frontend --domain-xml), no
# libvirtd: the examples in deploy/domains run as documented (hello over
# the serial port; the boot-churn domain under zap-all refaults its RAM,
# under memslot it does not), paths resolve against the file's directory, a
# <rom file=.../> becomes the VGA's option ROM, a serial port of type file
# writes its file, an invalid domain is refused before any VM exists, and
# flags that describe the VM are refused next to a domain; the disk
# example runs with its image and is refused, naming it, without.
# Usage: test_domain_xml.sh BIN_DIR GUEST_DIR SOURCE_DIR
set -eu
TEST=libvirt.domain_xml
BIN=$1 GUEST=$2 SRC=$3
. "$(dirname "$0")/lib.sh"
require_kvm
setup
check "mmu-server started" srv_start
fe() { # NAME ARGS...: runs a frontend to the end; its exit status
	local name=$1 st=0
	shift
	"$BIN/vmm-frontend" --socket "$TMP/mmu.sock" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" || st=$?
	return "$st"
}
domains="$SRC/deploy/domains"

check "kvmmu-hello.xml runs" fe hello --domain-xml "$domains/kvmmu-hello.xml"
check "... and greets over the serial port" \
	grep -q "^Hello from a CPL3 guest" "$TMP/hello.out"
for mode in all memslot; do
	check "kvmmu-zap-$mode.xml runs" \
		fe "$mode" --domain-xml "$domains/kvmmu-zap-$mode.xml" --json
	check "... with zap control mode=$mode" \
		test "$(json_field "$mode" zap_mode)" = "$mode"
	check "... and the libvirt UUID" \
		grep -q "uuid 6b766d6d-7500-4a11-8000-00000000000" "$TMP/$mode.out"
done
# Zap-all makes the guest refault its RAM after each BAR move, a targeted
# zap does not; on the shadow MMU the shadow pages zapped say the same
# (the TDP MMU does not count them).  A refault is one fault per 2 MiB on
# the server's default huge backing (330 vs 56 on a kvm_pvm host), 512 on
# 4 KiB pages.
pf_all=$(json_field all pf_taken_churn) pf_memslot=$(json_field memslot pf_taken_churn)
check "zap-all refaults RAM: $pf_all faults vs memslot's $pf_memslot" \
	test "$pf_all" -gt $((3 * pf_memslot + 50))
if ! tdp_mmu; then
	check "shadow MMU: zap-all zaps shadow pages ($(json_field all shadow_zapped))" \
		test "$(json_field all shadow_zapped)" -gt 0
	check "shadow MMU: memslot zaps none" \
		test "$(json_field memslot shadow_zapped)" = 0
fi

# A copy elsewhere, with a ROM and a serial file beside it.
mkdir "$TMP/d" "$TMP/d/guest"
cp "$GUEST/bootchurn.bin" "$TMP/d/guest/"
printf '\x55\xaakvmmu-test-rom' >"$TMP/d/vga.rom"
sed -e "s|\.\./\.\./build/guest|guest|" \
	-e "s|<model type='vga'[^>]*>|&<rom file='vga.rom'/>|" \
	-e "s|<serial type='stdio'>|<serial type='file'><source path='serial.log'/>|" \
	-e "s|<console type='stdio'>|<console type='file'><source path='serial.log'/>|" \
	-e "s|512|64|g" -e "s|cycles=32|cycles=2|" \
	"$domains/kvmmu-zap-memslot.xml" >"$TMP/d/dom.xml"
check "relative paths, ROM file, serial file" fe rom --domain-xml "$TMP/d/dom.xml"
check "... the ROM is the file's" grep -q "option ROM from rom@file" "$TMP/rom.out"
check "... the guest's output went to the file" \
	grep -q "^bootchurn: 8 devices" "$TMP/d/serial.log"
check "... not to stdout" not grep -q "^bootchurn:" "$TMP/rom.out"
check "... where the report port's lines still go" \
	grep -q "^report: vcpu 0:" "$TMP/rom.out"

printf '\x12\x34' >"$TMP/d/vga.rom"
st=0
fe badrom --domain-xml "$TMP/d/dom.xml" || st=$?
check "a ROM without 0x55 0xaa is refused (exit $st)" test "$st" -eq 2
check "... naming the element" \
	grep -q "devices/video/rom@file: .*starts 0x12 0x34" "$TMP/badrom.err"
check "... before any VM existed" \
	test "$(grep -c rpc_create_vm "$TMP/mmu-server.log")" -eq 4
st=0
fe flags --domain-xml "$domains/kvmmu-hello.xml" --vcpus 2 || st=$?
check "--vcpus next to a domain is refused (exit $st)" test "$st" -eq 2
check "... saying so" grep -q "^vmm-frontend: --vcpus: the domain defines" \
	"$TMP/flags.err"

# The disk example, its image made beside a copy (as the file says).
mkdir "$TMP/e" "$TMP/e/guest"
cp "$GUEST/hello.bin" "$TMP/e/guest/"
sed -e "s|\.\./\.\./build/guest|guest|" \
	-e "s|\.\./\.\./build/kvmmu-disk.img|kvmmu-disk.img|" \
	"$domains/kvmmu-disk.xml" >"$TMP/e/disk.xml"
vms=$(grep -c rpc_create_vm "$TMP/mmu-server.log")
st=0
fe nodisk --domain-xml "$TMP/e/disk.xml" || st=$?
check "kvmmu-disk.xml without its image: refused (exit $st)" test "$st" -eq 2
check "... naming the element and the file" \
	grep -qF "devices/disk[target='vda']/source@file: $TMP/e/kvmmu-disk.img: No such file or directory" \
	"$TMP/nodisk.err"
check "... before any VM existed" \
	test "$(grep -c rpc_create_vm "$TMP/mmu-server.log")" -eq "$vms"
truncate -s 64M "$TMP/e/kvmmu-disk.img"
chmod 0666 "$TMP/e/kvmmu-disk.img" # the frontend drops to nobody
check "kvmmu-disk.xml runs" fe disk --domain-xml "$TMP/e/disk.xml"
check "... with its disk" \
	grep -qF "disk vda: raw image $TMP/e/kvmmu-disk.img" "$TMP/disk.out"
check "... and greets" grep -q "^Hello from a CPL3 guest" "$TMP/disk.out"
check "... its back end gone with it" \
	not pgrep -f "^/usr/bin/qemu-storage-daemon .*$TMP/e/"
check "mmu-server exits clean" srv_stop
report
