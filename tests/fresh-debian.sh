#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12: a minimal debootstrap
# chroot (only the Essential and required packages, as a new machine's
# smallest install has), a clean clone of this tree in it, then
#   bash conf/examples/demo-lab.sh      (and its 'stop')
#   bash tests/run-all.sh
# inside it, as root, on this machine's kernel. Not part of the test suite:
# it downloads Debian (about 300 MB once) and takes 15-25 minutes.
#
#   bash tests/fresh-debian.sh [DIR]        default DIR: /var/tmp/fos-fresh
#   FOS_FRESH_KEEP=1 ...                    keep the chroot's build afterwards
#   FOS_FRESH_ONLY=demo|tests ...           run one of the two commands
#
# The chroot is made once and kept as a pristine copy (DIR/pristine); every
# run starts from a fresh copy of it (DIR/root), so packages installed by an
# earlier run are never there.
cd "$(dirname "$0")/.." || exit 1
top=$PWD
. tests/steps.sh
fos_loud fresh-debian.sh
fos_need_root
dir=${1:-/var/tmp/fos-fresh}
mirror=${FOS_MIRROR:-http://deb.debian.org/debian}
root=$dir/root

umount_all() {
  set +e
  trap - ERR
  for m in run/netns sys/fs/bpf sys dev/pts dev proc ""; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  true
}
trap umount_all EXIT

if [ ! -x "$dir/pristine/bin/bash" ]; then
  command -v debootstrap >/dev/null || fos_step "apt-get install debootstrap" apt-get install -y debootstrap
  mkdir -p "$dir"
  rm -rf "$dir/pristine.tmp"
  FOS_HINT="debootstrap needs $mirror (set FOS_MIRROR to another Debian mirror)"
  fos_step "debootstrap --variant=minbase bookworm" debootstrap --variant=minbase bookworm "$dir/pristine.tmp" "$mirror"
  mv "$dir/pristine.tmp" "$dir/pristine"
fi
FOS_HINT=
umount_all
rm -rf "$root"
cp -a "$dir/pristine" "$root"
# the chroot's / a mount point of its own, as on a machine (ip netns exec
# makes / a slave mount)
mount --bind "$root" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
mkdir -p "$root/run/netns"

git clone -q "$top" "$root/root/fos"
echo "fresh-debian.sh: $(chroot "$root" dpkg-query -W -f='${Package}\n' | wc -l) packages in the chroot; fos at $(git -C "$top" rev-parse --short HEAD)"

in_root() { chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c "cd /root/fos && $1"; }

rc=0
if [ "${FOS_FRESH_ONLY:-demo}" = demo ]; then
  echo "== bash conf/examples/demo-lab.sh"
  in_root "bash conf/examples/demo-lab.sh" || rc=$?
  echo "== demo-lab.sh exit $rc"
  in_root "bash conf/examples/demo-lab.sh stop" || true
fi
if [ "$rc" = 0 ] && [ "${FOS_FRESH_ONLY:-tests}" = tests ]; then
  echo "== bash tests/run-all.sh"
  in_root "bash tests/run-all.sh" || rc=$?
  echo "== run-all.sh exit $rc"
fi
[ -n "${FOS_FRESH_KEEP:-}" ] || { umount_all; rm -rf "$root"; }
exit "$rc"
