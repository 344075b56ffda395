#!/usr/bin/env bash
# Builds the Debian packages (binary only, unsigned) with dpkg-buildpackage from a clean copy
# of the source tree, checks them with lintian (failing on errors), and copies the .deb files
# to OUTDIR (default: build/debs). Behind `make package`.
# SPDX-License-Identifier: MIT
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/build/debs}" && cd "${1:-$src/build/debs}" && pwd)
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
cmake_version=$(sed -n 's/^project(coinpipe VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
if [ "${version%%-*}" != "$cmake_version" ]; then
    echo "build-debs: debian/changelog is at $version but CMakeLists.txt at $cmake_version: add a changelog entry (dch -v $cmake_version)" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
tree="$work/coinpipe-$version"
mkdir -p "$tree"
# the tracked and new (not ignored) files, as they are in the work tree; no build directories
if git -C "$src" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    (cd "$src" && git ls-files -co --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && printf '%s\0' "$f"; done) \
        | (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$tree"
else
    tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./obj-\* -cf - . | tar -xf - -C "$tree"
fi
echo "build-debs: building coinpipe $version in $tree" >&2
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=${COINPIPE_DEB_JOBS:-$(nproc)} ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc > "$work/build.log" 2>&1) || { tail -60 "$work/build.log" >&2; exit 1; }
rm -f "$out"/coinpipe*.deb
cp "$work"/*.deb "$out/"
if command -v lintian > /dev/null && [ -z "${NO_LINTIAN:-}" ]; then
    lintian --fail-on error --no-tag-display-limit "$work"/*.changes | tee "$out/lintian.txt" >&2 \
        || { echo "build-debs: lintian reports errors" >&2; exit 1; }
fi
ls -l "$out"/*.deb >&2
