#!/usr/bin/env bash
# Install every Debian package fos needs to build, test and benchmark.
#   bash tests/install-deps.sh          install what is missing
#   bash tests/install-deps.sh --list   print the package list (tests/check-provenance.py)
cd "$(dirname "$0")/.." || exit 1
. tests/steps.sh
fos_loud install-deps.sh
pkgs=(
  build-essential pkg-config meson ninja-build clang llvm bpftool libbpf-dev
  libconfig-dev libjson-c-dev libreadline-dev libsystemd-dev check
  libnl-3-dev libnl-route-3-dev
  linux-libc-dev iproute2 procps systemd iputils-ping netcat-openbsd iperf3 curl tmux expect python3
  nftables iptables ethtool valgrind clang-format tcpdump traceroute coturn
)
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "install-deps.sh: this is not a Debian system (no apt-get or dpkg-query): fos is built and tested on Debian 12" >&2
  exit 1
fi
if [ -r /etc/os-release ] && ! grep -qE '^VERSION_CODENAME=bookworm' /etc/os-release; then
  echo "install-deps.sh: note: this is not Debian 12 (bookworm); the package list is Debian 12's" >&2
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  fos_need_root
  export DEBIAN_FRONTEND=noninteractive
  FOS_HINT="apt-get needs this machine's Debian 12 package sources (/etc/apt/sources.list*) to be reachable; fix them and run again"
  fos_step "apt-get update" apt-get update
  FOS_HINT="apt-get could not install every package (its output is above); 'apt-get install ${missing[*]}' shows it again"
  fos_step "apt-get install ${missing[*]}" apt-get install -y --no-install-recommends "${missing[@]}"
  echo "installed ${#missing[@]} packages"
fi
