#!/usr/bin/env bash
# Installs the Debian packages of bench/deps-debian.txt that are missing (bench-only deps).
# SPDX-License-Identifier: MIT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r p opt; do
    [ -n "$p" ] || continue
    if [ "${opt#cmd=}" != "$opt" ] && command -v "${opt#cmd=}" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done < <(sed -e 's/#.*//' "$here/deps-debian.txt")
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bench/install-deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian's nginx package from starting the system service: the harness
# runs its own nginx with its own config and prefix.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
