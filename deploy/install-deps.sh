#!/bin/sh
# install-deps.sh: install the Debian 12 packages kvmmu builds and tests with.
# Idempotent: packages already present are not fetched again.
set -eu

# Build and test tools (python3 and binutils' nm run the layering check,
# style.no-circles, which fails without them); the data plane (libevent,
# protobuf-c); the admin API (gRPC C core; protoc and Python's grpc for
# the interoperability test); libvirt (domain XML, metadata events; a
# private libvirtd with the QEMU driver, whose capability probe needs
# qemu-system-x86); systemd-analyze for the units (deploy.units); groff
# and man-db to check the manual pages (deploy.man); e2fsprogs and
# qemu-utils for the disk test's ext4 and qcow2 images (kvm.linux_disk).
PKGS="build-essential cmake pkg-config clang clang-format python3 binutils
libevent-dev libprotobuf-c-dev protobuf-c-compiler
libgrpc-dev protobuf-compiler python3-grpcio python3-grpc-tools
libvirt-dev libxml2-dev libvirt-clients libvirt-daemon
libvirt-daemon-driver-qemu qemu-system-x86
procps util-linux systemd
busybox-static kmod cpio xz-utils e2fsprogs qemu-utils
python3-libvirt
groff-base man-db"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
