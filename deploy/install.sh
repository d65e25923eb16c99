#!/bin/sh
# install.sh: install kvmmu from a build and do the steps after the copy,
# or undo all of it.
#
#   deploy/install.sh [--prefix DIR] [--build DIR]     install or upgrade
#   deploy/install.sh --uninstall [--prefix DIR]       remove what it put
#
# Install: `cmake --install` (programs in DIR/bin, units, sysusers.d and
# tmpfiles.d files under DIR/lib, written for DIR), then the kvmmu user
# and groups (systemd-sysusers), /run/kvmmu and /etc/kvmmu/domains
# (systemd-tmpfiles), the units linked where systemd looks when DIR is not
# one of its own prefixes, and a daemon-reload.  It starts nothing.
#
# Upgrade: the same command.  Running programs keep their old binaries
# until restarted: restarting kvmmu-virtd keeps every VM (it adopts their
# frontends); restarting mmu-server ends every VM, since their KVM fds
# die with it, so the script says which VMs run and leaves that to you.
#
# Uninstall: stops and disables the units, removes every file the
# install listed in DIR/share/kvmmu/installed (a copy of cmake's install
# manifest kept with the install, so no build is needed) and the links it
# made; the user, groups, /etc/kvmmu/domains and /var/lib/kvmmu (your
# domains) stay, and the script says how to remove them.  DIR defaults to
# /usr/local for both; DESTDIR works for both, as a staging root.
set -eu
cd "$(dirname "$0")/.."
prefix=/usr/local
build=build
mode=install
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
	--build) build=${2:?--build needs a directory}; shift 2 ;;
	--uninstall) mode=uninstall; shift ;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	*) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
units="mmu-server.service vmm-frontend@.service kvmmu-virtd.service"
root=${DESTDIR:-}
systemd_up() { [ -z "$root" ] && [ -d /run/systemd/system ]; }
# systemd reads units from these prefixes' lib/systemd/system by itself.
own_prefix() { [ "$1" = /usr ] || [ "$1" = /usr/local ]; }

if [ "$mode" = uninstall ]; then
	manifest=$root$prefix/share/kvmmu/installed
	if [ ! -f "$manifest" ]; then
		echo "install.sh: $manifest: no kvmmu install under $prefix" \
			"(--prefix says where)" >&2
		exit 1
	fi
	if systemd_up; then
		systemctl disable --now kvmmu-virtd.service mmu-server.service \
			2>/dev/null || true
	fi
	# The links `systemctl link` made for a prefix of our own.
	for u in $units; do
		l=$root/etc/systemd/system/$u
		if [ -L "$l" ] && grep -qx "$(readlink "$l")" "$manifest"; then
			rm -f "$l"
		fi
	done
	n=0
	# The list goes last: a failure half-way leaves it for a rerun.
	list=$(mktemp)
	trap 'rm -f "$list"' EXIT
	{
		grep -vx "$prefix/share/kvmmu/installed" "$manifest"
		echo "$prefix/share/kvmmu/installed"
	} >"$list"
	while IFS= read -r f || [ -n "$f" ]; do
		if [ -e "$root$f" ] || [ -L "$root$f" ]; then
			rm -f "$root$f"
			n=$((n + 1))
		fi
		# Directories the install made and nothing else uses.
		d=$(dirname "$f")
		while [ "$d" != / ] && rmdir "$root$d" 2>/dev/null; do
			d=$(dirname "$d")
		done
	done <"$list"
	if systemd_up; then systemctl daemon-reload; fi
	echo "install.sh: removed $n files under $root$prefix"
	echo "install.sh: kept the kvmmu user and groups, /etc/kvmmu/domains" \
		"and /var/lib/kvmmu; remove them with: userdel kvmmu;" \
		"groupdel kvmmu-admin; groupdel kvmmu;" \
		"rm -r /etc/kvmmu /var/lib/kvmmu"
	exit 0
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
	echo "install.sh: $build is not a build; run deploy/build.sh" \
		"first" >&2
	exit 1
fi
case $prefix in
/*) ;;
*) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;;
esac
if systemd_up && systemctl is-active --quiet mmu-server.service; then
	echo "install.sh: mmu-server is running: the new binaries take" \
		"effect when it restarts, and a restart of mmu-server ends" \
		"every VM (mmuctl list shows them); kvmmu-virtd can be" \
		"restarted at any time"
fi
cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$prefix/lib
# What uninstall removes: cmake's list (paths without DESTDIR) and itself.
mkdir -p "$root$prefix/share/kvmmu"
{
	cat "$build/install_manifest.txt"
	echo
	echo "$prefix/share/kvmmu/installed"
} | sed '/^$/d' | sort -u >"$root$prefix/share/kvmmu/installed"
if [ -n "$root" ]; then
	echo "install.sh: staged into $root$prefix; the steps after the" \
		"copy are for the target system (run this without DESTDIR" \
		"there)"
	exit 0
fi
systemd-sysusers "$lib/sysusers.d/kvmmu.conf"
systemd-tmpfiles --create "$lib/tmpfiles.d/kvmmu.conf"
if ! own_prefix "$prefix"; then
	for u in $units; do
		if systemd_up; then
			systemctl link "$lib/systemd/system/$u" >/dev/null
		else
			ln -sf "$lib/systemd/system/$u" "/etc/systemd/system/$u"
		fi
	done
fi
if systemd_up; then systemctl daemon-reload; fi
echo "install.sh: installed into $prefix"
echo "install.sh: next: systemctl enable --now mmu-server kvmmu-virtd;" \
	"usermod -aG kvmmu-admin YOU for mmuctl;" \
	"virsh -c kvmmu:///system list --all"
