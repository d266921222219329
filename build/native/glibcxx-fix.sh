#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so load on systems whose libstdc++ predates GLIBCXX_3.4.32 (e.g. Debian 12).
# Only one symbol of that version is used (std::ios_base_library_init); we mark the version requirement weak and
# add a tiny shim library that defines the symbol under that version. Does nothing where libstdc++ is new enough.
# usage: glibcxx-fix.sh OUTPUT_DIR   (called after every build of a project that references TorchSharp)
set -euo pipefail
out=${1:?output directory}
lib="$out/libLibTorchSharp.so"
[ -f "$lib" ] || exit 0
stdcxx=$(ldconfig -p | awk '!found && /libstdc\+\+\.so\.6 .*x86-64/ {print $NF; found = 1}')
if [ -n "$stdcxx" ] && grep -q GLIBCXX_3.4.32 "$stdcxx"; then exit 0; fi
shim=libtta-glibcxx-shim.so
if [ -f "$out/$shim" ] && readelf -d "$lib" | grep "$shim" >/dev/null; then exit 0; fi  # no grep -q: with pipefail its early exit fails readelf
here=$(cd "$(dirname "$0")" && pwd)
for tool in g++ gcc readelf patchelf; do
  command -v "$tool" >/dev/null || { echo "glibcxx-fix: '$tool' is missing; run ./build.sh once (it installs it) or: apt-get install g++ binutils patchelf" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/weaken-version" "$here/weaken-version.c"
g++ -O2 -shared -fPIC -o "$work/$shim" "$here/glibcxx-shim.cpp" -Wl,--version-script="$here/glibcxx-shim.map"
cp "$lib" "$work/lib.so"
"$work/weaken-version" "$work/lib.so" GLIBCXX_3.4.32
patchelf --add-needed "$shim" "$work/lib.so"
cp "$work/$shim" "$out/$shim.tmp" && mv -f "$out/$shim.tmp" "$out/$shim"
mv -f "$work/lib.so" "$lib"
echo "glibcxx-fix: patched $lib for $(basename "${stdcxx:-libstdc++}") without GLIBCXX_3.4.32"
