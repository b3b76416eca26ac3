#!/usr/bin/env bash
# Fetches what the nested-KVM test needs to run an L1 Linux with its own
# /dev/kvm under QEMU TCG (`-cpu EPYC,+svm`): Debian's 6.12 cloud kernel and
# its kvm, kvm-amd and irqbypass modules (decompressed), and a static busybox
# for L1's /init. Debian packages, downloaded with apt (no install), unpacked
# with dpkg-deb into the ktstr cache. Idempotent: a complete cache is kept.
#
# Cache: ${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr}/nested/
set -euo pipefail

KERNEL_PKG="linux-image-6.12.117+deb12-cloud-amd64-unsigned"
KREL="6.12.117+deb12-cloud-amd64"
BUSYBOX_PKG="busybox-static"

cache="${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ktstr}"
dest="$cache/nested"

say() { echo "fetch-nested: $*"; }
die() { echo "fetch-nested: error: $*" >&2; exit 1; }

if [[ -f "$dest/complete" ]] && [[ "$(cat "$dest/complete")" == "$KREL" ]]; then
  say "L1 kernel $KREL, kvm modules and busybox present: $dest"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (Debian is needed to fetch the L1 kernel)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
command -v xz >/dev/null || die "xz not found; install xz-utils"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "downloading $KERNEL_PKG and $BUSYBOX_PKG (~70 MB)"
download() { (cd "$work" && apt-get download -q "$KERNEL_PKG" "$BUSYBOX_PKG" >/dev/null 2>&1); }
if ! download; then
  say "package lists may be stale; running apt-get update"
  apt-get update -qq || die "apt-get update failed; check the Debian mirror"
  download || die "apt-get download of $KERNEL_PKG failed; check that bookworm-backports or a mirror carrying it is configured"
fi

mkdir -p "$work/x"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/x"
done

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp/modules"
cp "$work/x/boot/vmlinuz-$KREL" "$dest.tmp/vmlinuz"
cp "$work/x/bin/busybox" "$dest.tmp/busybox"
mods="$work/x/lib/modules/$KREL/kernel"
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel; do
  src=""
  for ext in .ko.xz .ko; do
    [[ -f "$mods/$m$ext" ]] && src="$mods/$m$ext"
  done
  [[ -n "$src" ]] || die "module $m not found in $KERNEL_PKG"
  name="$(basename "$m").ko"
  case "$src" in
    *.xz) xz -dc "$src" >"$dest.tmp/modules/$name" ;;
    *) cp "$src" "$dest.tmp/modules/$name" ;;
  esac
done
echo "$KREL" >"$dest.tmp/complete"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
say "ready: $dest (vmlinuz, busybox, modules/)"
