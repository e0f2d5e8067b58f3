#!/bin/bash
# Cross-build the arm64 fixture kernel (Debian's linux-source-6.1 + kernel.fragment) in
# $KDX_ARM64_WORK/linux with gcc-aarch64-linux-gnu.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${KDX_ARM64_WORK:-$HOME/.cache/kdumpext-samples-arm64}
src=$work/linux
kmake() { make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- "$@"; }
mkdir -p "$work"
if [ ! -f "$src/Makefile" ]; then
    echo "unpacking /usr/src/linux-source-6.1.tar.xz"
    tar -C "$work" -xf /usr/src/linux-source-6.1.tar.xz
    mv "$work/linux-source-6.1" "$src"
fi
cd "$src"
sum=$(sha256sum "$here/kernel.fragment" | cut -d' ' -f1)
if [ -f .config ] && [ "$(cat "$work/fragment.sha256" 2>/dev/null)" = "$sum" ]; then
    echo "kernel config up to date"
else
kmake -s tinyconfig
opts=()
while read -r line; do
    line=${line%%#*}; line=${line// /}
    [ -n "$line" ] || continue
    if [ "${line:0:1}" = "-" ]; then opts+=(-d "${line:1}"); else opts+=(-e "$line"); fi
done < "$here/kernel.fragment"
scripts/config "${opts[@]}"
kmake -s olddefconfig
# every option of the fragment must have survived olddefconfig
while read -r line; do
    line=${line%%#*}; line=${line// /}
    [ -n "$line" ] || continue
    if [ "${line:0:1}" = "-" ]; then
        ! grep -q "^CONFIG_${line:1}=y" .config || { echo "CONFIG_${line:1} still set" >&2; exit 1; }
    else
        grep -q "^CONFIG_${line}=y" .config || { echo "CONFIG_${line} not set after olddefconfig" >&2; exit 1; }
    fi
done < "$here/kernel.fragment"
echo "$sum" > "$work/fragment.sha256"
fi
# nice: the build shares the machine with other work
nice -n 10 make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- -s -j"${KDX_JOBS:-$(nproc)}" \
    KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026" KBUILD_BUILD_USER=kdumpext KBUILD_BUILD_HOST=fixture \
    Image modules
echo "built $(kmake -s kernelrelease)"
