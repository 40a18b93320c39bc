#!/usr/bin/env bash
# Install every Debian package fos needs to build, test and benchmark.
set -euo pipefail
pkgs=(
  build-essential pkg-config meson ninja-build clang llvm bpftool libbpf-dev
  libconfig-dev libjson-c-dev libreadline-dev libsystemd-dev check
  libnl-3-dev libnl-route-3-dev
  iproute2 iputils-ping netcat-openbsd iperf3 curl tmux expect python3
  nftables iptables ethtool valgrind clang-format
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
