#!/usr/bin/env bash
# Installs the Debian packages of a list (default tools/deps-debian.txt) that are missing.
# Idempotent and fast when everything is present (no apt-get update then).
# Usage: tools/install-deps.sh [LIST]
# A line is "package" or "package cmd=COMMAND": the second form is skipped when COMMAND is
# already on the PATH (e.g. npm, which NodeSource's nodejs package provides and Debian's npm
# package would conflict with). '#' starts a comment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/deps-debian.txt}
missing=()
while read -r p opt; do
    [ -n "$p" ] || continue
    if [ "${opt#cmd=}" != "$opt" ] && command -v "${opt#cmd=}" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done < <(sed -e 's/#.*//' "$list")
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps packages (postgresql, nginx) from starting system services: the tests and
# the bench start their own servers, on 127.0.0.1, with their own configs, and stop them by pid.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
